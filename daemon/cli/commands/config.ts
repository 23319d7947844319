import { stringify } from 'yaml';
import { configKeyList } from '../../config/load.js';
import type { Command } from '../command.js';
import { configOptions, loadFromFlags } from './local-config.js';

export const configCheckCommand: Command = {
  path: 'config check',
  summary: 'validate the configuration and print the effective settings with their sources',
  usage: 'beskar7 config check [--config FILE] [--data-dir DIR] [--host ADDR] [--port N] [--log-level L] [--set key=value ...] [--json]',
  options: configOptions,
  async run(ctx) {
    const loaded = loadFromFlags(ctx);
    if (ctx.out.json) {
      ctx.out.write(`${JSON.stringify({ valid: true, config: loaded.config, sources: Object.fromEntries([...loaded.origins].filter(([key]) => configKeyList.some((k) => k.dotted === key))) }, null, 2)}\n`);
      return 0;
    }
    ctx.out.write(`configuration is valid\n\n${stringify(loaded.config)}\n`);
    const leaves = new Set(configKeyList.map((k) => k.dotted));
    const set = [...loaded.origins.entries()].filter(([key]) => leaves.has(key));
    ctx.out.write(set.length === 0 ? 'every setting is the embedded default\n' : `set explicitly:\n${set.map(([k, o]) => `  ${k}  ← ${o}`).join('\n')}\n`);
    return 0;
  },
};

export const configKeysCommand: Command = {
  path: 'config keys',
  summary: 'list every setting with its environment variable, default and meaning',
  usage: 'beskar7 config keys [--json]',
  options: {},
  async run(ctx) {
    if (ctx.out.json) {
      ctx.out.write(`${JSON.stringify(configKeyList, null, 2)}\n`);
      return 0;
    }
    for (const key of configKeyList) {
      const choices = key.choices ? ` (${key.choices.join('|')})` : '';
      ctx.out.write(`${key.dotted}  ${key.env}  default ${JSON.stringify(key.defaultValue)}${choices}\n    ${key.description}\n`);
    }
    return 0;
  },
};
