import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { namespaceSchema, nameSchema } from '../core/schemas/common.js';
import { ApiClient } from './client.js';
import type { Output } from './output.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  readStdin: () => Promise<string>;
}

export const globalOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  values: Values;
  positionals: string[];
  io: CliIo;
  out: Output;
  /** Client for the daemon's REST API: --url/--token, then BESKAR7_URL/BESKAR7_TOKEN, then the CLI config file. */
  client(): ApiClient;
}

export interface Command {
  path: string;
  summary: string;
  usage: string;
  options: ParseArgsOptionsConfig;
  run(ctx: CommandContext): Promise<number>;
}

const cliConfigSchema = z.object({ url: z.string().url().optional(), token: z.string().min(1).optional() }).strict();

function cliConfigFile(env: NodeJS.ProcessEnv): string {
  if (env.BESKAR7_CLI_CONFIG) return env.BESKAR7_CLI_CONFIG;
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'beskar7', 'cli.yaml');
}

function readCliConfig(env: NodeJS.ProcessEnv): z.infer<typeof cliConfigSchema> {
  const file = cliConfigFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read CLI config ${file}: ${(error as Error).message}`);
  }
  const parsed = cliConfigSchema.safeParse(parseYaml(text) ?? {});
  if (!parsed.success) throw new UsageError(`CLI config ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'} ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function parseCommand(command: Command, argv: string[], io: CliIo): CommandContext {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...globalOptions, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: ${command.usage}`);
  }
  const { values, positionals } = parsed;
  const out: Output = { json: values.json === true, write: io.stdout };
  return {
    values,
    positionals,
    io,
    out,
    client: () => {
      const file = readCliConfig(io.env);
      const url = (values.url as string | undefined) ?? io.env.BESKAR7_URL ?? file.url ?? 'http://127.0.0.1:8082';
      const token = (values.token as string | undefined) ?? io.env.BESKAR7_TOKEN ?? file.token;
      return new ApiClient(url, token);
    },
  };
}

/** `ns/name`, or `name` with -n/--namespace (default "default"). */
export function resourceRef(ctx: CommandContext, what: string): { namespace: string; name: string } {
  const ref = ctx.positionals[0];
  if (!ref) throw new UsageError(`name the ${what}: NAME or NAMESPACE/NAME`);
  if (ctx.positionals.length > 1) throw new UsageError(`unexpected argument ${ctx.positionals[1]}`);
  const slash = ref.indexOf('/');
  const namespace = slash >= 0 ? ref.slice(0, slash) : ((ctx.values.namespace as string | undefined) ?? 'default');
  const name = slash >= 0 ? ref.slice(slash + 1) : ref;
  // Checked here because they become URL path segments: "../tokens/x" must not reach another endpoint.
  const checked = z.object({ namespace: namespaceSchema, name: nameSchema }).safeParse({ namespace, name });
  if (!checked.success) throw new UsageError(`"${ref}" is not a ${what} reference: ${checked.error.issues.map((i) => `${String(i.path[0])} ${i.message}`).join('; ')}`);
  return checked.data;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
}

export function keyValues(pairs: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes key=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
