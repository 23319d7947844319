import type { BmcFaultsPatch, BmcOverrides } from './types.js';

/**
 * Vendor-flavoured presets assembled from the rows of shared/redfish-quirks.md. They are
 * approximations for tests, not models of any firmware release; combine or override freely.
 */
export const PROFILES = {
  /** sushy-tools with the fake driver: no sessions, 501 PowerCycle, Once→Continuous, name→UUID 307, Connection: close. */
  'sushy-tools': {
    sessionService: 'absent',
    faults: { powerCycleNotImplemented: true, onceReadsAsContinuous: true, redirectSystemName: true, closeConnections: true, patchStatus: 204 },
  },
  /** iDRAC 9/10: -gzip ETags, ExtendedInfo as an object, Boot only via the Settings object, tasks whose URL 404s first, session limit. */
  idrac: {
    sessionLimit: 8,
    faults: {
      etagStyle: 'gzip',
      errorBodyStyle: 'extended-info-object',
      bootOnSettingsObject: 'onReset',
      tasks: { on: ['patch'], runningPolls: 2, notFoundPolls: 1 },
      busyWhileTransitioning: true,
      powerOnDelayMs: 200,
      powerOffDelayMs: 200,
    },
  },
  /** iLO 5/6: lower-case links with trailing slashes, no PowerCycle/ForceOn, reset cooldown, 406 on identity. */
  ilo: {
    faults: {
      lowercaseLinks: true,
      resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'Nmi', 'PushPowerButton'],
      resetCooldownMs: 1000,
      rejectIdentityEncoding: true,
    },
  },
  /** Supermicro: Mode falls back unless sent with Target+Enabled. */
  supermicro: { faults: { bootModeResetUnlessFull: true } },
  /** AMI MegaRAC: If-Match required, reset types only behind ActionInfo. */
  ami: { faults: { requireIfMatch: true, etagInBody: true, resetTypesViaActionInfo: true } },
  /** Lenovo XCC (newer): the right ETag is still refused. */
  xcc: { faults: { rejectAllIfMatch: true } },
  /** OpenBMC after a reboot: transient 503s and reset keep-alive connections. */
  openbmc: { faults: { resetTypesViaActionInfo: true, serverErrorProbability: 0.05, retryAfterSeconds: 1, staleKeepAliveProbability: 0.1 } },
} as const satisfies Record<string, BmcOverrides & { faults: BmcFaultsPatch }>;

export type ProfileName = keyof typeof PROFILES;

export function profile(name: ProfileName): BmcOverrides {
  const preset: BmcOverrides & { faults: BmcFaultsPatch } = PROFILES[name];
  return { ...preset, faults: { ...preset.faults } };
}
