import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configKeys, coerce, type ConfigKey } from './keys.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length > 0 ? `${message}:\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
  }
}

export interface ConfigSources {
  /** Path of a YAML file; undefined for embedded defaults only. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** `key=value` pairs from `--set` and the named flags, highest precedence. */
  overrides?: string[];
}

export interface LoadedConfig {
  config: Config;
  /** Where each explicitly set key came from, for messages and `config check`. */
  origins: Map<string, string>;
  dataDir: string;
  databaseFile: string;
  keyDir: string;
}

const keys = configKeys(configSchema);

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (error as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${reason}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `config file ${file} is not valid YAML`,
      doc.errors.map((e) => e.message.split('\n')[0] ?? e.message),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file ${file} must hold a mapping of settings at the top level`);
  }
  return value as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = value;
}

function recordOrigins(value: unknown, path: string[], origin: string, origins: Map<string, string>): void {
  // Sections are recorded too: an unknown section is reported by its own name.
  if (path.length > 0) origins.set(path.join('.'), origin);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) recordOrigins(v, [...path, k], origin, origins);
  }
}

function describeIssue(issue: z.core.$ZodIssue, origins: Map<string, string>): string {
  const dotted = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const base = dotted ? `${dotted}.` : '';
    return issue.keys
      .map((k) => {
        const full = `${base}${k}`;
        const origin = origins.get(full);
        return `${full}${origin ? ` (from ${origin})` : ''}: unknown setting`;
      })
      .join('; ');
  }
  const origin = origins.get(dotted);
  return `${dotted || '(top level)'}${origin ? ` (from ${origin})` : ''}: ${issue.message}`;
}

function keyFor(dotted: string): ConfigKey | undefined {
  return keys.find((k) => k.dotted === dotted);
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const origins = new Map<string, string>();
  const raw: Record<string, unknown> = {};
  if (sources.file) {
    const fromFile = readYaml(sources.file);
    recordOrigins(fromFile, [], `config file ${sources.file}`, origins);
    Object.assign(raw, fromFile);
  }
  const env = sources.env ?? {};
  for (const key of keys) {
    const text = env[key.env];
    if (text === undefined) continue;
    setPath(raw, key.path, coerce(key.kind, text));
    origins.set(key.dotted, `environment ${key.env}`);
  }
  const unknownOverrides: string[] = [];
  for (const pair of sources.overrides ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      unknownOverrides.push(`--set ${pair}: expected key=value`);
      continue;
    }
    const dotted = pair.slice(0, eq).trim();
    const key = keyFor(dotted);
    if (!key) {
      unknownOverrides.push(`${dotted} (from --set): unknown setting; known: ${keys.map((k) => k.dotted).join(', ')}`);
      continue;
    }
    setPath(raw, key.path, coerce(key.kind, pair.slice(eq + 1)));
    origins.set(dotted, `flag --set ${dotted}`);
  }
  if (unknownOverrides.length > 0) throw new ConfigError('invalid configuration', unknownOverrides);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      'invalid configuration',
      parsed.error.issues.map((issue) => describeIssue(issue, origins)),
    );
  }
  const config = parsed.data;
  const dataDir = resolve(config.dataDir);
  const within = (p: string) => (isAbsolute(p) ? p : resolve(dataDir, p));
  return { config, origins, dataDir, databaseFile: within(config.database.file), keyDir: within(config.secrets.keyDir) };
}

export { keys as configKeyList };
