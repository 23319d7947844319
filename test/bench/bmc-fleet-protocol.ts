import { z } from 'zod';
import { faultsSchema } from '../bmc/faults.js';

/**
 * What the fleet benchmark and its emulator process say to each other: the emulator's
 * settings on the command line, then JSON lines on its stdout (the BMCs when up, a summary
 * of their state on SIGUSR2).
 */

export const emulatorSpecSchema = z
  .object({
    mockup: z.string(),
    count: z.number().int().min(1).max(20_000),
    https: z.boolean(),
    seed: z.number().int().min(0),
    faults: faultsSchema,
    /** Each BMC's power-on lag, spread evenly over [min, max] by index (quirk 9: 1–20 s in the field). */
    powerOnDelayMs: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
  })
  .strict();
export type EmulatorSpec = z.infer<typeof emulatorSpecSchema>;

export const emulatorReadySchema = z.object({
  kind: z.literal('ready'),
  startupMs: z.number(),
  username: z.string(),
  password: z.string(),
  caPem: z.string().nullable(),
  urls: z.array(z.string()),
});
export type EmulatorReady = z.infer<typeof emulatorReadySchema>;

export const fleetStateSchema = z.object({
  kind: z.literal('state'),
  bmcs: z.number(),
  poweredOn: z.number(),
  /** Exactly one boot, from Pxe, Once, UEFI: what one bootFromNetwork must leave behind. */
  bootedPxeOnce: z.number(),
  /** A boot override still active after the boot (Once not consumed). */
  overrideLeft: z.number(),
  liveSessions: z.number(),
  sessionsCreated: z.number(),
  sessionsDeleted: z.number(),
  requests: z.number(),
  byStatus: z.record(z.string(), z.number()),
  injectedErrors: z.number(),
  /** Highest number of requests one BMC answered at once: above 1, the gate let two operations in. */
  maxInFlightPerBmc: z.number(),
  /** Highest number of requests in flight across all BMCs at once. */
  maxInFlightTotal: z.number(),
  /** The first BMCs that are not as they should be, each with why. */
  problems: z.array(z.string()),
});
export type FleetState = z.infer<typeof fleetStateSchema>;

/** Each BMC's own power-on lag: an even spread keeps the fleet from powering on in lockstep. */
export function powerOnDelayFor(index: number, count: number, [min, max]: readonly [number, number]): number {
  return count <= 1 ? min : Math.round(min + ((max - min) * index) / (count - 1));
}
