import { machineListSchema, machineViewSchema } from '../../core/schemas/machine.js';
import { resourceRef, UsageError, type Command } from '../command.js';
import { readBodyFile } from './host.js';
import { age, printDocument, printJson, printTable } from '../output.js';

export const machineListCommand: Command = {
  path: 'machine list',
  summary: 'list machines (every page)',
  usage: 'beskar7 machine list [-n NS] [--phase PHASE] [--json]',
  options: { namespace: { type: 'string', short: 'n' }, phase: { type: 'string' } },
  async run(ctx) {
    const query = new URLSearchParams();
    if (typeof ctx.values.namespace === 'string') query.set('namespace', ctx.values.namespace);
    if (typeof ctx.values.phase === 'string') query.set('phase', ctx.values.phase);
    const items = await ctx.client().listAll('/api/v1/machines', query, machineListSchema);
    if (ctx.out.json) printJson(ctx.out, { items });
    else
      printTable(
        ctx.out,
        ['NAMESPACE', 'NAME', 'PHASE', 'HOST', 'PROVIDER ID', 'AGE'],
        items.map((m) => [
          m.namespace,
          m.name,
          m.status.phase,
          m.status.host ? `${m.status.host.namespace}/${m.status.host.name}` : '-',
          m.status.providerID ?? '-',
          age(m.createdAt),
        ]),
      );
    return 0;
  },
};

export const machineShowCommand: Command = {
  path: 'machine show',
  summary: 'show one machine with its status',
  usage: 'beskar7 machine show [NS/]NAME [-n NS] [--json]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'machine');
    printDocument(ctx.out, await ctx.client().request('GET', `/api/v1/machines/${namespace}/${name}`, machineViewSchema));
    return 0;
  },
};

export const machineCreateCommand: Command = {
  path: 'machine create',
  summary: 'create a machine (a claim for a host) from a YAML or JSON file',
  usage: 'beskar7 machine create -f FILE|- [--json]',
  options: { file: { type: 'string', short: 'f' } },
  async run(ctx) {
    const file = ctx.values.file;
    if (typeof file !== 'string') throw new UsageError('machine create needs -f FILE (YAML or JSON; - reads stdin)');
    const view = await ctx.client().request('POST', '/api/v1/machines', machineViewSchema, await readBodyFile(file, ctx.io));
    if (ctx.out.json) printJson(ctx.out, view);
    else ctx.out.write(`machine ${view.namespace}/${view.name} created (${view.status.phase})\n`);
    return 0;
  },
};

export const machineDeleteCommand: Command = {
  path: 'machine delete',
  summary: 'delete a machine; its host is deprovisioned first',
  usage: 'beskar7 machine delete [NS/]NAME [-n NS]',
  options: { namespace: { type: 'string', short: 'n' } },
  async run(ctx) {
    const { namespace, name } = resourceRef(ctx, 'machine');
    const view = await ctx.client().request('DELETE', `/api/v1/machines/${namespace}/${name}`, machineViewSchema.optional());
    if (ctx.out.json) printJson(ctx.out, view ?? { deleted: true });
    else if (!view) ctx.out.write(`machine ${namespace}/${name} deleted\n`);
    else ctx.out.write(`machine ${namespace}/${name} is being deleted: its host ${view.status.host ? `${view.status.host.namespace}/${view.status.host.name}` : ''} is deprovisioned first\n`);
    return 0;
  },
};

