import { z } from 'zod';

/**
 * What the lifecycle benchmark and its fleet process say to each other: the fleet's settings on
 * the command line, then JSON lines on its stdout (the BMCs and artefacts when up, what the
 * machines did on SIGUSR2).
 */

export const fleetSpecSchema = z
  .object({
    mockup: z.string(),
    count: z.number().int().min(1).max(20_000),
    /** The daemon's base URL: where every simulated machine fetches its script and talks to the ramdisk API. */
    daemonUrl: z.string().url(),
    /** Multiplies every ramdisk wait (the daemon's retryAfterSeconds, backoff). */
    waitScale: z.number().positive(),
    /** Keep-alive sockets the simulated machines share per origin (daemon, artefact server). */
    maxSockets: z.number().int().min(1),
  })
  .strict();
export type FleetSpec = z.infer<typeof fleetSpecSchema>;

const artifactSchema = z.object({ url: z.string(), sha256: z.string() });

export const fleetReadySchema = z.object({
  kind: z.literal('ready'),
  startupMs: z.number(),
  username: z.string(),
  password: z.string(),
  /** BMC i serves the machine with MAC simMac(i). */
  urls: z.array(z.string()),
  kernel: artifactSchema,
  initrd: artifactSchema,
  openFilesLimit: z.string(),
});
export type FleetReady = z.infer<typeof fleetReadySchema>;

export const fleetStateSchema = z.object({
  kind: z.literal('state'),
  machines: z.number(),
  /** Every finished boot flow, by outcome kind. */
  outcomes: z.record(z.string(), z.number()),
  /** Machines whose latest boot kexec'd the expected kernel and initrd and had its `booted` accepted. */
  kexecVerified: z.number(),
  /** The latest outcome of the other machines that booted, by kind (failed: by reason). */
  otherOutcomes: z.record(z.string(), z.number()),
  /** Machines that have not finished a boot. */
  notBooted: z.number(),
  /** Machines that booted more than once (the flow needs one boot per machine). */
  bootedMoreThanOnce: z.number(),
  boots: z.number(),
  /** Boot flows still running. */
  busy: z.number(),
  poweredOn: z.number(),
  bmcRequests: z.number(),
  bmcByStatus: z.record(z.string(), z.number()),
  artifactHits: z.object({ kernel: z.number(), initrd: z.number() }),
  /** The first machines whose finished boot did not end in a verified kexec, each with why. */
  problems: z.array(z.string()),
});
export type FleetState = z.infer<typeof fleetStateSchema>;
