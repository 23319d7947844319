/**
 * Standalone BMC emulator for manual use and for peers in other languages:
 *
 *   node --import tsx test/bmc/cli.ts --mockup <dir> --count N [--https] [--port-base P]
 *        [--seed S] [--username U] [--password P] [--session-service enabled|links-only|absent|auto]
 *        [--profile sushy-tools|idrac|ilo|supermicro|ami|xcc|openbmc] [--faults '<json>']
 *        [--ca-out <file>] [--json] [--verbose]
 *
 * Prints one `bmc[i] <url>` line per BMC (or one JSON document with --json), then serves until
 * SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startBmcEmulator } from './emulator.js';
import { faultsSchema } from './faults.js';
import { PROFILES, profile } from './profiles.js';
import type { ProfileName } from './profiles.js';
import type { BmcEmulatorOptions, SessionServiceMode } from './types.js';
import { stopOnSignals } from './signals.js';

const usage = 'usage: cli.ts --mockup <dir> [--count N] [--https] [--port-base P] [--seed S] [--profile NAME] [--faults JSON] [--ca-out FILE] [--json] [--verbose]';

const { values } = parseArgs({
  options: {
    mockup: { type: 'string' },
    count: { type: 'string', default: '1' },
    https: { type: 'boolean', default: false },
    'port-base': { type: 'string' },
    seed: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    'session-service': { type: 'string' },
    profile: { type: 'string' },
    faults: { type: 'string' },
    'ca-out': { type: 'string' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (!values.mockup) fail('--mockup is required');

const integer = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
  if (text === undefined) return undefined;
  const parsed = z.coerce.number().int().min(min).max(max).safeParse(text);
  if (!parsed.success) fail(`--${name} must be an integer in ${min}-${max}, got ${text}`);
  return parsed.data;
};

const sessionModes: readonly SessionServiceMode[] = ['enabled', 'links-only', 'absent', 'auto'];
const sessionService = values['session-service'];
if (sessionService !== undefined && !sessionModes.includes(sessionService as SessionServiceMode)) fail(`--session-service must be one of ${sessionModes.join(', ')}`);
const profileName = values.profile;
if (profileName !== undefined && !Object.hasOwn(PROFILES, profileName)) fail(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);

let faults: BmcEmulatorOptions['faults'];
if (values.faults !== undefined) {
  let raw: unknown;
  try {
    raw = JSON.parse(values.faults);
  } catch {
    fail('--faults is not valid JSON');
  }
  const parsed = faultsSchema.safeParse(raw);
  if (!parsed.success) fail(`--faults: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  faults = parsed.data;
}

const preset = profileName ? profile(profileName as ProfileName) : {};
const count = integer('count', values.count, 1, 20_000) ?? 1;
const portBase = integer('port-base', values['port-base'], 1, 65535);
const seed = integer('seed', values.seed, 0, 2 ** 32 - 1);
const options: BmcEmulatorOptions = {
  ...preset,
  mockup: values.mockup,
  count,
  https: values.https,
  faults: { ...preset.faults, ...faults },
  ...(portBase === undefined ? {} : { portBase }),
  ...(seed === undefined ? {} : { seed }),
  ...(values.username === undefined ? {} : { username: values.username }),
  ...(values.password === undefined ? {} : { password: values.password }),
  ...(sessionService === undefined ? {} : { sessionService: sessionService as SessionServiceMode }),
  ...(values.verbose ? { onRequest: (e) => process.stderr.write(`bmc[${e.bmc}] ${e.method} ${e.path} → ${e.status} ${e.durationMs}ms\n`) } : {}),
};

const emulator = await startBmcEmulator(options);
if (emulator.caPem && values['ca-out']) writeFileSync(values['ca-out'], emulator.caPem);
const first = emulator.bmcs[0];
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({
      startupMs: emulator.startupMs,
      username: first?.username,
      password: first?.password,
      caFile: emulator.caPem && values['ca-out'] ? values['ca-out'] : null,
      bmcs: emulator.bmcs.map((b) => ({ url: b.url, systems: b.systems.map((s) => s.path) })),
    })}\n`,
  );
} else {
  for (const bmc of emulator.bmcs) process.stdout.write(`bmc[${bmc.index}] ${bmc.url}\n`);
  process.stderr.write(`${emulator.bmcs.length} BMC(s) up in ${emulator.startupMs} ms; credentials ${first?.username ?? ''}/${first?.password ?? ''}; Ctrl-C to stop\n`);
}

stopOnSignals(emulator);
