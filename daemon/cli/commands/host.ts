import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { hostListSchema, hostViewSchema, type HostView } from '../../core/schemas/host.js';
import { keyValues, resourceRef, stringList, UsageError, type Command, type CommandContext } from '../command.js';
import { age, printDocument, printJson, printTable } from '../output.js';

const passwordOptions = {
  'password-stdin': { type: 'boolean', default: false },
  'password-file': { type: 'string' },
} as const;

/** Passwords never come from a flag value, which would land in shell history and `ps`. */
async function readPassword(ctx: CommandContext): Promise<string | undefined> {
  if (ctx.values['password-stdin']) return (await ctx.io.readStdin()).replace(/\r?\n$/, '');
  const file = ctx.values['password-file'];
  if (typeof file === 'string') {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new UsageError(`cannot read --password-file ${file}: ${(error as Error).message}`);
    }
  }
  return ctx.io.env.BESKAR7_BMC_PASSWORD;
}

export async function readBodyFile(file: string, io: CommandContext['io']): Promise<unknown> {
  const parse = (text: string): unknown => parseYaml(text);
  if (file === '-') return parse(await io.readStdin());
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function booleanFlag(value: unknown, flag: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${flag} takes true or false`);
}

function printHosts(ctx: CommandContext, items: HostView[]): void {
  if (ctx.out.json) return printJson(ctx.out, { items });
  printTable(
    ctx.out,
    ['NAMESPACE', 'NAME', 'STATE', 'POWER', 'CONTROL', 'BMC', 'MACHINE', 'AGE'],
    items.map((h) => [
      h.namespace,
      h.name,
      h.status.state,
      h.status.powerState,
      h.powerControl,
      h.redfishConnection?.address ?? '-',
      h.status.machine ? `${h.status.machine.namespace}/${h.status.machine.name}` : '-',
      age(h.createdAt),
    ]),
  );
}

export const hostAddCommand: Command = {
  path: 'host add',
  summary: 'register a host',
  usage:
    'beskar7 host add NAME [-n NS] --bmc URL --username U (--password-stdin | --password-file F | env BESKAR7_BMC_PASSWORD) [--system-id ID] [--insecure] [--ca-file F] [--power-control redfish|wol|manual] [--boot-mac MAC ...] [--label k=v ...]\n       beskar7 host add -f host.yaml|-',
  options: {
    namespace: { type: 'string', short: 'n' },
    file: { type: 'string', short: 'f' },
    bmc: { type: 'string' },
    username: { type: 'string' },
    ...passwordOptions,
    'system-id': { type: 'string' },
    insecure: { type: 'boolean', default: false },
    'ca-file': { type: 'string' },
    'power-control': { type: 'string' },
    'boot-mac': { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
  },
  async run(ctx) {
    const { values } = ctx;
    let body: unknown;
    if (typeof values.file === 'string') {
      body = await readBodyFile(values.file, ctx.io);
    } else {
      const { namespace, name } = resourceRef(ctx, 'host');
      const password = await readPassword(ctx);
      const bmc = values.bmc as string | undefined;
      const caFile = values['ca-file'] as string | undefined;
      body = {
        namespace,
        name,
        labels: keyValues(stringList(values.label), '--label'),
        ...(values['power-control'] ? { powerControl: values['power-control'] } : {}),
        bootMACAddresses: stringList(values['boot-mac']),
        ...(bmc
          ? {
              redfishConnection: {
                address: bmc,
                username: values.username,
                password,
                systemId: (values['system-id'] as string | undefined) ?? null,
                insecureSkipVerify: values.insecure === true,
                caBundle: caFile ? readFileSync(caFile, 'utf8') : null,
              },
            }
          : {}),
      };
    }
    const host = await ctx.client().request('POST', '/api/v1/hosts', hostViewSchema, body);
    if (ctx.out.json) printJson(ctx.out, host);
    else ctx.out.write(`host ${host.namespace}/${host.name} registered (${host.status.state})\n`);
    return 0;
  },
};

export const hostListCommand: Command = {
  path: 'host list',
  summary: 'list hosts (every page)',
  usage: 'beskar7 host list [-n NS] [--state STATE] [--label k=v ...] [--json]',
  options: { namespace: { type: 'string', short: 'n' }, state: { type: 'string' }, label: { type: 'string', multiple: true } },
  async run(ctx) {
    const query = new URLSearchParams();
    if (typeof ctx.values.namespace === 'string') query.set('namespace', ctx.values.namespace);
    if (typeof ctx.values.state === 'string') query.set('state', ctx.values.state);
    for (const label of stringList(ctx.values.label)) query.append('label', label);
    const items = await ctx.client().listAll('/api/v1/hosts', query, hostListSchema);
    printHosts(ctx, items);
    return 0;
  },
};

export const hostShowCommand: Command = {
  path: 'host show',
  summary: 'show one host with its status',
  usage: 'beskar7 host show [NS/]NAME [-n NS] [--json]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'host');
    printDocument(ctx.out, await ctx.client().request('GET', `/api/v1/hosts/${namespace}/${name}`, hostViewSchema));
    return 0;
  },
};

export const hostEditCommand: Command = {
  path: 'host edit',
  summary: 'change labels, BMC settings, credentials, power control or boot MACs',
  usage:
    'beskar7 host edit [NS/]NAME [--label k=v ...] [--remove-label k ...] [--bmc URL] [--username U] [--password-stdin|--password-file F] [--system-id ID] [--insecure true|false] [--ca-file F] [--power-control P] [--boot-mac MAC ...]',
  options: {
    namespace: { type: 'string', short: 'n' },
    label: { type: 'string', multiple: true },
    'remove-label': { type: 'string', multiple: true },
    bmc: { type: 'string' },
    username: { type: 'string' },
    ...passwordOptions,
    'system-id': { type: 'string' },
    insecure: { type: 'string' },
    'ca-file': { type: 'string' },
    'power-control': { type: 'string' },
    'boot-mac': { type: 'string', multiple: true },
  },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'host');
    const { values } = ctx;
    const labels: Record<string, string | null> = keyValues(stringList(values.label), '--label');
    for (const key of stringList(values['remove-label'])) labels[key] = null;
    const password = values['password-stdin'] || values['password-file'] ? await readPassword(ctx) : undefined;
    const connection = {
      ...(values.bmc ? { address: values.bmc } : {}),
      ...(values.username ? { username: values.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(values['system-id'] ? { systemId: values['system-id'] } : {}),
      ...(values.insecure !== undefined ? { insecureSkipVerify: booleanFlag(values.insecure, '--insecure') } : {}),
      ...(typeof values['ca-file'] === 'string' ? { caBundle: readFileSync(values['ca-file'], 'utf8') } : {}),
    };
    const patch = {
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(connection).length > 0 ? { redfishConnection: connection } : {}),
      ...(values['power-control'] ? { powerControl: values['power-control'] } : {}),
      ...(values['boot-mac'] ? { bootMACAddresses: stringList(values['boot-mac']) } : {}),
    };
    if (Object.keys(patch).length === 0) throw new UsageError('nothing to change; see beskar7 host edit --help');
    const host = await ctx.client().request('PATCH', `/api/v1/hosts/${namespace}/${name}`, hostViewSchema, patch);
    if (ctx.out.json) printJson(ctx.out, host);
    else ctx.out.write(`host ${host.namespace}/${host.name} updated (version ${host.resourceVersion})\n`);
    return 0;
  },
};

export const hostPowerCommand: Command = {
  path: 'host power',
  summary: 'power a host on, off or reset it (the outcome appears in host show and the events)',
  usage: 'beskar7 host power [NS/]NAME on|off|reset [-n NS]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const action = ctx.positionals[1];
    if (action !== 'on' && action !== 'off' && action !== 'reset') throw new UsageError('say on, off or reset after the host name');
    const { namespace, name } = resourceRef({ ...ctx, positionals: ctx.positionals.slice(0, 1) }, 'host');
    await ctx.client().request('POST', `/api/v1/hosts/${namespace}/${name}/power`, z.object({ accepted: z.literal(true) }), { action });
    if (!ctx.out.json) ctx.out.write(`power ${action} requested for ${namespace}/${name}; follow it with "beskar7 host show ${namespace}/${name}"\n`);
    return 0;
  },
};

export const hostDeleteCommand: Command = {
  path: 'host delete',
  summary: 'forget a host',
  usage: 'beskar7 host delete [NS/]NAME [-n NS]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'host');
    await ctx.client().request('DELETE', `/api/v1/hosts/${namespace}/${name}`, z.unknown());
    if (!ctx.out.json) ctx.out.write(`host ${namespace}/${name} is being deleted: powered off, then forgotten (event Deleted)\n`);
    return 0;
  },
};

export const hostInspectCommand: Command = {
  path: 'host inspect',
  summary: '(re-)inspect a host: boot it into the ramdisk, keep its hardware report, power it off',
  usage: 'beskar7 host inspect [NS/]NAME [-n NS]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'host');
    const view = await ctx.client().request('POST', `/api/v1/hosts/${namespace}/${name}/inspect`, hostViewSchema);
    if (ctx.out.json) printJson(ctx.out, view);
    else ctx.out.write(`inspection of ${namespace}/${name} requested; follow it with "beskar7 host show ${namespace}/${name}"\n`);
    return 0;
  },
};

export const hostLogsCommand: Command = {
  path: 'host logs',
  summary: "print the host's ramdisk log",
  usage: 'beskar7 host logs [NS/]NAME [-n NS]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'host');
    ctx.out.write(await ctx.client().text(`/api/v1/hosts/${namespace}/${name}/logs`));
    return 0;
  },
};
