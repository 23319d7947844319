import { z } from 'zod';
import { baseMessage } from './errors.js';
import type { RedfishMessage } from './http.js';
import type { EmulatedSystem } from './system.js';
import type { Json } from './tree.js';
import type { BmcFaults, BootOverride } from './types.js';

const bootSchema = z
  .object({
    BootSourceOverrideTarget: z.string(),
    BootSourceOverrideEnabled: z.string(),
    BootSourceOverrideMode: z.string(),
    UefiTargetBootSourceOverride: z.string().nullable(),
    HttpBootUri: z.string().nullable(),
    BootNext: z.string().nullable(),
    BootOrder: z.array(z.string()),
  })
  .partial()
  .strict();

export type BootPatch = z.infer<typeof bootSchema>;

export type BootPlan =
  | { ok: true; override: Partial<BootOverride>; extra: Map<string, Json> }
  | { ok: false; status: number; messages: RedfishMessage[] };

const prop = (key: string): string => `#/Boot/${key}`;

/** Schema problems as the Redfish messages a BMC would send: unknown keys and wrong types, each named. */
function schemaMessages(input: unknown, error: z.ZodError): RedfishMessage[] {
  const record = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => baseMessage('PropertyUnknown', [`Boot/${key}`], [prop(key)]));
    const key = String(issue.path[0] ?? '');
    if (key === '') return [baseMessage('PropertyValueTypeError', [JSON.stringify(input), 'Boot'], ['#/Boot'])];
    return [baseMessage('PropertyValueTypeError', [JSON.stringify(record[key]), key], [prop(key)])];
  });
}

function notInList(value: string, key: string, allowed: readonly string[] | null): RedfishMessage[] {
  return allowed === null || allowed.includes(value) ? [] : [baseMessage('PropertyValueNotInList', [value, key], [prop(key)])];
}

/**
 * Decides what a `Boot` PATCH does on this BMC: validated against the AllowableValues the resource
 * advertises, then bent by the boot quirks (3, 6). Nothing is applied here.
 */
export function planBootPatch(input: unknown, system: EmulatedSystem, faults: BmcFaults): BootPlan {
  const parsed = bootSchema.safeParse(input);
  if (!parsed.success) return { ok: false, status: 400, messages: schemaMessages(input, parsed.error) };
  const patch = parsed.data;
  if (patch.BootSourceOverrideMode !== undefined && faults.bootModeWriteRejected) {
    return { ok: false, status: 400, messages: [baseMessage('PropertyNotWritable', ['BootSourceOverrideMode'], [prop('BootSourceOverrideMode')])] };
  }
  const problems = [
    ...(patch.BootSourceOverrideTarget === undefined ? [] : notInList(patch.BootSourceOverrideTarget, 'BootSourceOverrideTarget', system.targets())),
    ...(patch.BootSourceOverrideEnabled === undefined ? [] : notInList(patch.BootSourceOverrideEnabled, 'BootSourceOverrideEnabled', system.enabledValues())),
    ...(patch.BootSourceOverrideMode === undefined ? [] : notInList(patch.BootSourceOverrideMode, 'BootSourceOverrideMode', system.modes())),
  ];
  if (problems.length > 0) return { ok: false, status: 400, messages: problems };

  const override: Partial<BootOverride> = {};
  if (patch.BootSourceOverrideTarget !== undefined) override.target = patch.BootSourceOverrideTarget;
  if (patch.BootSourceOverrideEnabled !== undefined) {
    override.enabled = faults.onceReadsAsContinuous && patch.BootSourceOverrideEnabled === 'Once' ? 'Continuous' : patch.BootSourceOverrideEnabled;
  }
  if (faults.bootModeResetUnlessFull) {
    const full = patch.BootSourceOverrideTarget !== undefined && patch.BootSourceOverrideEnabled !== undefined && patch.BootSourceOverrideMode !== undefined;
    override.mode = full ? (patch.BootSourceOverrideMode ?? null) : 'Legacy';
  } else if (patch.BootSourceOverrideMode !== undefined) {
    override.mode = patch.BootSourceOverrideMode;
  }
  const extra = new Map<string, Json>();
  for (const key of ['UefiTargetBootSourceOverride', 'HttpBootUri', 'BootNext', 'BootOrder'] as const) {
    const value = patch[key];
    if (value !== undefined) extra.set(key, value);
  }
  return { ok: true, override, extra };
}
