import { machineListSchema, machineViewSchema } from '../../core/schemas/machine.js';
import { resourceRef, type Command } from '../command.js';
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
