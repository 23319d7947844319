import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse } from 'yaml';

// The shim's settings come from its environment (the Deployment sets them; clusterctl fills the
// daemon URL and token in), optionally with a YAML file listing more daemons. zod checks them all
// before anything starts, and an error names the variable or file field at fault.

const daemonSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label').max(63),
    url: z.url({ protocol: /^https?$/ }),
    /** The token itself, or a file holding it (a mounted Secret). */
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((d) => (d.token === undefined) !== (d.tokenFile === undefined), 'give token or tokenFile, exactly one');

const fileSchema = z.object({ daemons: z.array(daemonSchema).min(1).max(256), defaultDaemon: z.string().optional() }).strict();

const envSchema = z.object({
  BESKAR7_DAEMON_URL: z.url({ protocol: /^https?$/ }).optional(),
  BESKAR7_DAEMON_TOKEN: z.string().min(1).optional(),
  BESKAR7_DAEMON_TOKEN_FILE: z.string().min(1).optional(),
  BESKAR7_DAEMON_NAME: z.string().default('default'),
  BESKAR7_SHIM_CONFIG: z.string().optional(),
  BESKAR7_SHIM_WORKERS: z.coerce.number().int().min(1).max(256).default(8),
  BESKAR7_SHIM_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  BESKAR7_SHIM_LEASE_NAME: z.string().default('beskar7-shim-leader'),
  POD_NAMESPACE: z.string().default('beskar7-system'),
  POD_NAME: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export interface ShimDaemon {
  name: string;
  url: string;
  token: string;
}

export interface ShimConfig {
  daemons: ShimDaemon[];
  defaultDaemon: string;
  workers: number;
  healthPort: number;
  leaseNamespace: string;
  leaseName: string;
  identity: string | undefined;
  logLevel: string;
}

const readToken = (path: string, what: string): string => {
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token === '') throw new Error('empty');
    return token;
  } catch (error) {
    throw new Error(`${what}: cannot read a token from ${path}: ${(error as Error).message}`, { cause: error });
  }
};

const problems = (error: z.ZodError, where: string) => error.issues.map((i) => `${where}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; ');

export function loadShimConfig(env: NodeJS.ProcessEnv = process.env): ShimConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid environment: ${problems(parsed.error, 'env')}`);
  const e = parsed.data;
  const daemons: ShimDaemon[] = [];
  let defaultDaemon = e.BESKAR7_DAEMON_NAME;
  if (e.BESKAR7_DAEMON_URL) {
    const token = e.BESKAR7_DAEMON_TOKEN ?? (e.BESKAR7_DAEMON_TOKEN_FILE ? readToken(e.BESKAR7_DAEMON_TOKEN_FILE, 'BESKAR7_DAEMON_TOKEN_FILE') : undefined);
    if (!token) throw new Error('BESKAR7_DAEMON_URL needs BESKAR7_DAEMON_TOKEN or BESKAR7_DAEMON_TOKEN_FILE');
    daemons.push({ name: e.BESKAR7_DAEMON_NAME, url: e.BESKAR7_DAEMON_URL, token });
  }
  if (e.BESKAR7_SHIM_CONFIG) {
    let raw: unknown;
    try {
      raw = parse(readFileSync(e.BESKAR7_SHIM_CONFIG, 'utf8'));
    } catch (error) {
      throw new Error(`${e.BESKAR7_SHIM_CONFIG}: ${(error as Error).message}`, { cause: error });
    }
    const file = fileSchema.safeParse(raw);
    if (!file.success) throw new Error(`invalid ${e.BESKAR7_SHIM_CONFIG}: ${problems(file.error, 'config')}`);
    for (const daemon of file.data.daemons) {
      if (daemons.some((d) => d.name === daemon.name)) throw new Error(`daemon "${daemon.name}" is configured twice`);
      daemons.push({ name: daemon.name, url: daemon.url, token: daemon.token ?? readToken(daemon.tokenFile ?? '', `daemon ${daemon.name}`) });
    }
    if (file.data.defaultDaemon) defaultDaemon = file.data.defaultDaemon;
    else if (!e.BESKAR7_DAEMON_URL) defaultDaemon = file.data.daemons[0]?.name ?? defaultDaemon;
  }
  if (daemons.length === 0) throw new Error('no daemon configured: set BESKAR7_DAEMON_URL and BESKAR7_DAEMON_TOKEN (or BESKAR7_SHIM_CONFIG)');
  if (!daemons.some((d) => d.name === defaultDaemon)) throw new Error(`the default daemon "${defaultDaemon}" is not among the configured ones (${daemons.map((d) => d.name).join(', ')})`);
  return {
    daemons,
    defaultDaemon,
    workers: e.BESKAR7_SHIM_WORKERS,
    healthPort: e.BESKAR7_SHIM_HEALTH_PORT,
    leaseNamespace: e.POD_NAMESPACE,
    leaseName: e.BESKAR7_SHIM_LEASE_NAME,
    identity: e.POD_NAME,
    logLevel: e.LOG_LEVEL,
  };
}
