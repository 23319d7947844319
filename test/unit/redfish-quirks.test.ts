// One test (or more) per row of shared/redfish-quirks.md: the client against the BMC test
// double with that behaviour switched on.
import { describe, expect, it } from 'vitest';
import { RedfishError } from '../../daemon/redfish/errors.js';
import { dmtfMockup, sushyToolsTree } from '../bmc/index.js';
import { connectTo, withClient, withEmulator } from '../helpers/redfish.js';

const rackmount = dmtfMockup('public-rackmount1');

async function failure(promise: Promise<unknown>): Promise<RedfishError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RedfishError);
  return error as RedfishError;
}

describe('quirk 1: PATCH needs If-Match', () => {
  it('sends the ETag from the GET, so a BMC that demands it (428/412) accepts the override', async () => {
    await withEmulator({ mockup: rackmount, faults: { requireIfMatch: true } }, async (_e, bmc) => {
      await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      const patches = bmc.requestLog.filter((r) => r.method === 'PATCH');
      expect(patches.every((r) => r.ifMatch !== null)).toBe(true);
      expect(bmc.stats.byStatus.get(428) ?? 0).toBe(0);
      expect(bmc.system().boot).toMatchObject({ target: 'Pxe', enabled: 'Once' });
    });
  });

  it('takes the ETag from @odata.etag when the header is missing', async () => {
    await withEmulator({ mockup: rackmount, faults: { requireIfMatch: true, etagInBody: true } }, async (_e, bmc) => {
      await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(bmc.system().boot.target).toBe('Pxe');
    });
  });
});

describe('quirk 2: ETag forms', () => {
  it.each([
    ['weak W/"…" tags, which strict BMCs refuse back', { etagStyle: 'weak' as const, rejectWeakIfMatch: true }],
    ['iDRAC "-gzip" tags', { etagStyle: 'gzip' as const }],
    ['a correct ETag refused anyway (newer XCC)', { rejectAllIfMatch: true }],
  ])('copes with %s', async (_name, faults) => {
    await withEmulator({ mockup: rackmount, faults: { requireIfMatch: !('rejectAllIfMatch' in faults), ...faults } }, async (_e, bmc) => {
      await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(bmc.system().boot).toMatchObject({ target: 'Pxe' });
      // Asked for identity, so iDRAC does not append -gzip in the first place.
      expect(bmc.requestLog.every((r) => r.acceptEncoding === 'identity')).toBe(true);
    });
  });
});

describe('quirk 3: BootSourceOverrideMode', () => {
  it('sends Target, Enabled and Mode together, so a Supermicro-like BMC keeps the mode', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootModeResetUnlessFull: true } }, async (_e, bmc) => {
      bmc.system().setBoot({ mode: 'Legacy' });
      await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(bmc.system().boot).toMatchObject({ target: 'Pxe', enabled: 'Once', mode: 'UEFI' });
    });
  });

  it('retries without Mode where writing it is refused', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootModeWriteRejected: true } }, async (_e, bmc) => {
      const result = await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(result.via).toBe('system');
      expect(bmc.stats.bootPatches.map((p) => p.status)).toEqual([400, expect.any(Number) as unknown]);
      expect(bmc.system().boot.target).toBe('Pxe');
    });
  });
});

describe('quirk 4: an override that does not stick', () => {
  it('fails loudly when the read-back disagrees with what the BMC accepted', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootOverrideIgnored: true } }, async (_e, bmc) => {
      bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
      const error = await failure(withClient(bmc, (client) => client.setOneTimePxe('UEFI')));
      expect(error.kind).toBe('verify');
      expect(error.message).toMatch(/accepted the boot override but it did not stick: read back target \w+/);
    });
  });
});

describe('quirk 5: Boot only writable on the Settings object', () => {
  it('writes the override to @Redfish.Settings and verifies it there; it applies at the next boot', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootOnSettingsObject: 'onReset' } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      const result = await withClient(bmc, async (client) => {
        const pxe = await client.setOneTimePxe('UEFI');
        await client.powerOn();
        return pxe;
      });
      expect(result.via).toBe('settings');
      expect(bmc.system().bootHistory.at(-1)).toMatchObject({ target: 'Pxe' });
    });
  });
});

describe('quirk 6: Once and Continuous', () => {
  it('accepts Once read back as Continuous (sushy-tools) and says so, so it is cleared after the boot', async () => {
    await withEmulator({ mockup: rackmount, faults: { onceReadsAsContinuous: true } }, async (_e, bmc) => {
      const result = await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(result.enabled).toBe('Continuous');
      await withClient(bmc, (client) => client.clearBootOverride());
      expect(bmc.system().boot.enabled).toBe('Disabled');
    });
  });

  it('uses Continuous where Once is not allowed', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootEnabledValues: ['Disabled', 'Continuous'] } }, async (_e, bmc) => {
      const result = await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(result.enabled).toBe('Continuous');
    });
  });
});

describe('quirk 7: boot target names', () => {
  it('uses Pxe when offered among others', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootTargets: ['None', 'Hdd', 'UefiHttp', 'Pxe', 'UsbCd'] } }, async (_e, bmc) => {
      await withClient(bmc, (client) => client.setOneTimePxe('UEFI'));
      expect(bmc.system().boot.target).toBe('Pxe');
    });
  });

  it('says so when the BMC offers no Pxe target', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootTargets: ['None', 'Hdd', 'UefiHttp'] } }, async (_e, bmc) => {
      const error = await failure(withClient(bmc, (client) => client.setOneTimePxe('UEFI')));
      expect(error.kind).toBe('unsupported');
      expect(error.message).toContain('does not offer Pxe');
    });
  });
});

describe('quirk 8: reset types differ', () => {
  it('powers on with ForceOn where On is missing (iLO-like lists)', async () => {
    await withEmulator({ mockup: rackmount, faults: { resetTypes: ['ForceOn', 'ForceOff', 'ForceRestart'] } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, (client) => client.powerOn());
      expect(bmc.stats.resets.map((r) => r.resetType)).toEqual(['ForceOn']);
      expect(bmc.system().powerState).toBe('On');
    });
  });

  it('reads the list from @Redfish.ActionInfo (AMI, OpenBMC)', async () => {
    await withEmulator({ mockup: rackmount, faults: { resetTypesViaActionInfo: true, resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart'] } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, (client) => client.powerOn());
      expect(bmc.system().powerState).toBe('On');
      expect(bmc.requestCount('GET', /ActionInfo/i)).toBeGreaterThan(0);
    });
  });

  it('restarts by power-cycling off and on when PowerCycle answers 501 and ForceRestart is absent', async () => {
    await withEmulator({ mockup: rackmount, faults: { resetTypes: ['On', 'ForceOff', 'PowerCycle'], powerCycleNotImplemented: true } }, async (_e, bmc) => {
      bmc.system().setPowerState('On');
      await withClient(bmc, (client) => client.restart());
      expect(bmc.stats.resets.map((r) => `${r.resetType}:${r.status}`)).toEqual(['PowerCycle:501', 'ForceOff:200', 'On:200'].map((s) => expect.stringMatching(new RegExp(`^${s.split(':')[0]}:(${s.split(':')[1]}|204)$`)) as unknown));
      expect(bmc.system().powerState).toBe('On');
    });
  });
});

describe('graceful shutdown', () => {
  it('forces the power off when the BMC refuses the graceful shutdown', async () => {
    await withEmulator({ mockup: rackmount }, async (_e, bmc) => {
      bmc.system().setPowerState('On');
      bmc.failNext({ kind: 'status', status: 400, body: 'redfish' }, { method: 'POST', path: /Reset/ });
      await withClient(bmc, (client) => client.powerOff({ graceful: true }));
      expect(bmc.system().powerState).toBe('Off');
      expect(bmc.stats.resets.map((r) => r.resetType)).toContain('ForceOff');
    });
  });
});

describe('quirk 9: power state lags and "not now" answers', () => {
  it('waits through PoweringOn until On', async () => {
    await withEmulator({ mockup: rackmount, faults: { powerOnDelayMs: 150 } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, (client) => client.powerOn());
      expect(bmc.system().powerState).toBe('On');
    });
  });

  it('retries a reset refused as InvalidOperationForSystemState (iLO, too soon after the previous one)', async () => {
    await withEmulator({ mockup: rackmount, faults: { resetCooldownMs: 60 } }, async (_e, bmc) => {
      bmc.system().setPowerState('On');
      await withClient(bmc, async (client) => {
        await client.powerOff();
        await client.powerOn();
      });
      expect(bmc.stats.resets.some((r) => r.status === 400)).toBe(true);
      expect(bmc.system().powerState).toBe('On');
    });
  });

  it('retries a reset answered 500 while the BMC is busy transitioning (iDRAC)', async () => {
    await withEmulator({ mockup: rackmount, faults: { busyWhileTransitioning: true, powerOffDelayMs: 80 } }, async (_e, bmc) => {
      bmc.system().setPowerState('On');
      await withClient(bmc, (client) => client.powerOff());
      expect(bmc.system().powerState).toBe('Off');
    });
  });
});

describe('quirks 10 and 11: sessions', () => {
  it('logs in through Links.Sessions when the BMC has no SessionService, and always logs out', async () => {
    await withEmulator({ mockup: rackmount, sessionService: 'links-only' }, async (_e, bmc) => {
      await withClient(bmc, async (client) => {
        expect(client.usesSession).toBe(true);
        expect(bmc.liveSessions()).toHaveLength(1);
        await client.systemInfo();
      });
      expect(bmc.liveSessions()).toHaveLength(0);
      expect(bmc.stats.sessionsDeleted).toBe(1);
    });
  });

  it('falls back to Basic auth without any SessionService (sushy-tools)', async () => {
    await withEmulator({ mockup: rackmount, sessionService: 'absent' }, async (_e, bmc) => {
      await withClient(bmc, async (client) => {
        expect(client.usesSession).toBe(false);
        await client.powerState();
      });
      expect(bmc.requestLog.filter((r) => r.path !== '/redfish/v1/' && r.path !== '/redfish/v1').every((r) => r.auth === 'basic' || r.method === 'POST')).toBe(true);
    });
  });

  it('logs out even when the operation fails', async () => {
    await withEmulator({ mockup: rackmount, faults: { bootOverrideIgnored: true } }, async (_e, bmc) => {
      bmc.system().setBoot({ target: 'Hdd', enabled: 'Disabled' });
      await failure(withClient(bmc, (client) => client.setOneTimePxe('UEFI')));
      expect(bmc.liveSessions()).toHaveLength(0);
    });
  });

  it('logs in again once when the session expired mid-conversation', async () => {
    await withEmulator({ mockup: rackmount }, async (_e, bmc) => {
      await withClient(bmc, async (client) => {
        await client.powerState();
        bmc.expireSessions();
        expect(await client.powerState()).toBe(bmc.system().powerState);
      });
      expect(bmc.stats.sessionsCreated).toBe(2);
      expect(bmc.liveSessions()).toHaveLength(0);
    });
  });

  it('reports a BMC out of sessions (503) clearly after retrying', async () => {
    await withEmulator({ mockup: rackmount, sessionLimit: 1 }, async (_e, bmc) => {
      const first = await connectTo(bmc);
      try {
        const error = await failure(connectTo(bmc));
        expect(error.status).toBe(503);
        expect(error.message).toContain('with 503');
      } finally {
        await first.close();
      }
      expect(bmc.liveSessions()).toHaveLength(0);
    });
  });
});

describe('quirk 12: transient 503 and dropped connections', () => {
  it('retries idempotent requests with backoff, honouring Retry-After', async () => {
    await withEmulator({ mockup: rackmount, seed: 7, faults: { serverErrorProbability: 0.3, serverErrorStatus: 503, retryAfterSeconds: 0, dropProbability: 0.1, serverErrorMethods: ['GET', 'PATCH'] } }, async (_e, bmc) => {
      const info = await withClient(bmc, async (client) => {
        await client.setOneTimePxe('UEFI');
        return client.systemInfo();
      });
      expect(info.uuid).not.toBeNull();
      expect(bmc.stats.injectedErrors + bmc.stats.droppedConnections).toBeGreaterThan(0);
      expect(bmc.system().boot.target).toBe('Pxe');
    });
  });

  it('retries a login answered 503 (OpenBMC after a reboot): no session was made', async () => {
    await withEmulator({ mockup: rackmount }, async (_e, bmc) => {
      bmc.failNext({ kind: 'status', status: 503, retryAfterSeconds: 0 }, { method: 'POST', path: /Sessions/, times: 2 });
      await withClient(bmc, (client) => client.powerState());
      expect(bmc.stats.sessionsCreated).toBe(1);
      expect(bmc.liveSessions()).toHaveLength(0);
    });
  });

  it('does not repeat a restart whose answer was lost: the BMC may have done it', async () => {
    await withEmulator({ mockup: rackmount, faults: { resetTypes: ['On', 'ForceOff', 'ForceRestart'] } }, async (_e, bmc) => {
      bmc.system().setPowerState('On');
      bmc.failNext({ kind: 'drop', afterHandling: true }, { method: 'POST', path: /Reset/ });
      await failure(withClient(bmc, (client) => client.restart()));
      expect(bmc.stats.resets.filter((r) => r.resetType === 'ForceRestart')).toHaveLength(1);
    });
  });
});

describe('quirk 13: keep-alive and Accept-Encoding', () => {
  it('retries without Accept-Encoding: identity after a 406', async () => {
    await withEmulator({ mockup: rackmount, faults: { rejectIdentityEncoding: true } }, async (_e, bmc) => {
      const info = await withClient(bmc, (client) => client.systemInfo());
      expect(info.manufacturer).not.toBeNull();
    });
  });

  it('survives keep-alive connections the BMC closed', async () => {
    await withEmulator({ mockup: rackmount, seed: 3, faults: { staleKeepAliveProbability: 0.5, closeConnections: false } }, async (_e, bmc) => {
      await withClient(bmc, async (client) => {
        for (let i = 0; i < 10; i++) await client.powerState();
      });
    });
  });
});

describe('quirk 14: malformed error bodies', () => {
  it.each(['extended-info-object', 'empty', 'html', 'text-as-json'] as const)('surfaces status and the best message from a %s body', async (style) => {
    await withEmulator({ mockup: rackmount, faults: { errorBodyStyle: style, bootTargets: ['None', 'Pxe'] } }, async (_e, bmc) => {
      bmc.failNext({ kind: 'status', status: 400, body: style === 'html' ? 'html' : style === 'empty' ? 'empty' : 'redfish' }, { method: 'PATCH', times: 10 });
      const error = await failure(withClient(bmc, (client) => client.setOneTimePxe('Legacy')));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/answered PATCH \S+ with 400: \S/);
      expect(error.message).not.toMatch(/<html|SyntaxError|Unexpected token/i);
    });
  });
});

describe('quirk 15: link case and trailing slashes', () => {
  it('works with lower-case links ending in a slash (iLO)', async () => {
    await withEmulator({ mockup: rackmount, faults: { lowercaseLinks: true } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, async (client) => {
        await client.systemInfo();
        await client.setOneTimePxe('UEFI');
        await client.powerOn();
      });
      expect(bmc.system().bootHistory.at(-1)?.target).toBe('Pxe');
    });
  });
});

describe('quirk 16: several systems, varying ids', () => {
  it('never guesses among several systems and names them', async () => {
    await withEmulator({ mockup: dmtfMockup('public-bladed') }, async (_e, bmc) => {
      const error = await failure(connectTo(bmc));
      expect(error.message).toMatch(/has 4 systems \(.+\); set redfishConnection\.systemId to one of them/);
      expect(bmc.liveSessions()).toHaveLength(0);
      const id = bmc.systems[2]?.id ?? '';
      const info = await withClient(bmc, (client) => client.systemInfo(), { systemId: id });
      expect(info.systemPath).toContain(id);
    });
  });

  it('follows the redirect from a system name to its UUID (sushy-tools)', async () => {
    await withEmulator({ mockup: sushyToolsTree(), faults: { redirectSystemName: true } }, async (_e, bmc) => {
      const target = bmc.systems[0];
      const info = await withClient(bmc, (client) => client.systemInfo(), { systemId: target?.name ?? '' });
      expect(info.systemPath).toContain(target?.id ?? 'missing');
    });
  });

  it('names the ids that exist when the configured one does not', async () => {
    await withEmulator({ mockup: rackmount }, async (_e, bmc) => {
      const error = await failure(connectTo(bmc, { systemId: 'System.Embedded.9' }));
      expect(error.message).toContain(`has no system "System.Embedded.9"; it has: ${bmc.system().id}`);
    });
  });
});

describe('quirk 17: 202 and task monitors', () => {
  it('follows the task of a reset and a PATCH, even when its URL 404s at first (iDRAC10)', async () => {
    await withEmulator({ mockup: rackmount, faults: { tasks: { on: ['reset', 'patch'], runningPolls: 2, notFoundPolls: 2, retryAfterSeconds: 0 } } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, async (client) => {
        await client.setOneTimePxe('UEFI');
        await client.powerOn();
      });
      expect(bmc.system().powerState).toBe('On');
      expect(bmc.system().bootHistory.at(-1)?.target).toBe('Pxe');
    });
  });

  it('follows a DMTF task monitor (202 while running, 204 without a body when done)', async () => {
    await withEmulator({ mockup: rackmount, faults: { tasks: { on: ['reset', 'patch'], runningPolls: 2, retryAfterSeconds: 0, location: 'monitor' } } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      await withClient(bmc, async (client) => {
        await client.setOneTimePxe('UEFI');
        await client.powerOn();
      });
      expect(bmc.system().powerState).toBe('On');
      expect(bmc.system().bootHistory.at(-1)?.target).toBe('Pxe');
    });
  });

  it('reports a task that ended in Exception', async () => {
    await withEmulator({ mockup: rackmount, faults: { tasks: { on: ['reset'], runningPolls: 1, fail: true, retryAfterSeconds: 0 } } }, async (_e, bmc) => {
      bmc.system().setPowerState('Off');
      const error = await failure(withClient(bmc, (client) => client.powerOn()));
      expect(error.message).toMatch(/task for power on ended Exception/);
    });
  });
});

describe('quirk 18: no BIOS-level changes', () => {
  it('keeps the one-time PXE on Boot properties and never touches BIOS attributes', async () => {
    await withEmulator({ mockup: rackmount }, async (_e, bmc) => {
      await withClient(bmc, async (client) => {
        await client.setOneTimePxe('UEFI');
        await client.restart();
        await client.clearBootOverride();
      });
      expect(bmc.requestLog.filter((r) => r.method !== 'GET' && /bios/i.test(r.path))).toEqual([]);
    });
  });
});

describe('quirk 19: TLS', () => {
  it('verifies the BMC certificate against the host CA bundle', async () => {
    await withEmulator({ mockup: rackmount, https: true }, async (emulator, bmc) => {
      const info = await withClient(bmc, (client) => client.systemInfo(), { caBundle: emulator.caPem });
      expect(info.uuid).not.toBeNull();
    });
  });

  it('refuses an unverified certificate, saying how to fix it, and connects with insecureSkipVerify only when asked', async () => {
    await withEmulator({ mockup: rackmount, https: true }, async (_e, bmc) => {
      const error = await failure(connectTo(bmc));
      expect(error.kind).toBe('transport');
      expect(error.message).toContain('TLS verification failed: give the BMC CA in caBundle, or set insecureSkipVerify');
      await withClient(bmc, (client) => client.powerState(), { insecureSkipVerify: true });
    });
  });
});

describe('credentials', () => {
  it('never appear in an error', async () => {
    await withEmulator({ mockup: rackmount, password: 'Sekr1t-BMC-pw' }, async (_e, bmc) => {
      const wrong = await failure(connectTo(bmc, { password: 'Wr0ng-BMC-pw' }));
      expect(wrong.status).toBe(401);
      expect(`${wrong.message} ${wrong.stack ?? ''}`).not.toMatch(/Sekr1t|Wr0ng|YWRtaW4/);
    });
  });
});
