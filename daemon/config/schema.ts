import { z } from 'zod';

// The one schema for every setting. Env names and flags are derived from it
// (daemon/config/keys.ts), so a key documented here is settable everywhere.
export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data').describe('directory for the SQLite file and the secret keys'),
    http: z
      .object({
        host: z.string().min(1).default('0.0.0.0').describe('address of the HTTP listener (REST API, metrics, boot scripts)'),
        port: z.number().int().min(0).max(65535).default(8082).describe('port of the HTTP listener; 0 picks a free port'),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024)
          .describe('largest request body accepted; larger ones get 413'),
        publicHealth: z.boolean().default(true).describe('serve /healthz and /readyz without an API token'),
        publicMetrics: z.boolean().default(true).describe('serve /metrics without an API token'),
        sseHeartbeatSeconds: z.number().int().min(1).max(3600).default(15).describe('interval of the keep-alive comment on event streams, which keeps proxies from closing them'),
        shutdownGraceSeconds: z.number().int().min(1).max(600).default(15).describe('how long in-flight requests may finish on SIGTERM'),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        file: z.string().min(1).default('beskar7.db').describe('SQLite file, relative to dataDir unless absolute'),
        busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000).describe('how long a write waits for a lock'),
        synchronous: z.enum(['FULL', 'NORMAL']).default('FULL').describe('FULL survives power loss; NORMAL only a process crash'),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        keyDir: z.string().min(1).default('keys').describe('directory of AES-256-GCM key files, relative to dataDir unless absolute'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        printInitialAdminToken: z
          .boolean()
          .default(true)
          .describe('on first start (no token ever created) create an admin token and print it once to stderr'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
        requests: z.boolean().default(true).describe('one log line per HTTP request'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
