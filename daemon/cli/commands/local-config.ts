import type { ParseArgsConfig } from 'node:util';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { CommandContext } from '../command.js';
import { stringList, UsageError } from '../command.js';
import { existsSync } from 'node:fs';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags of the commands that read the daemon's own configuration (daemon, config check, keys, --offline). */
export const configOptions = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  set: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

/**
 * For commands that work on an existing installation's files (keys rotate, --offline): a
 * wrong --config or --data-dir must not silently create a fresh, empty installation.
 */
export function requireExistingDataDir(loaded: LoadedConfig): void {
  if (!existsSync(loaded.dataDir)) {
    throw new UsageError(`data directory ${loaded.dataDir} does not exist; point --config or --data-dir (or BESKAR7_DATA_DIR) at the daemon's data`);
  }
}

export function loadFromFlags(ctx: CommandContext): LoadedConfig {
  const { values, io } = ctx;
  const overrides = stringList(values.set);
  const named: [string, string][] = [
    ['data-dir', 'dataDir'],
    ['host', 'http.host'],
    ['port', 'http.port'],
    ['log-level', 'log.level'],
  ];
  for (const [flag, key] of named) {
    const value = values[flag];
    if (typeof value === 'string') overrides.push(`${key}=${value}`);
  }
  return loadConfig({ file: (values.config as string | undefined) ?? io.env.BESKAR7_CONFIG, env: io.env, overrides });
}
