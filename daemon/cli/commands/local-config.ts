import type { ParseArgsConfig } from 'node:util';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { CommandContext } from '../command.js';
import { stringList } from '../command.js';

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
