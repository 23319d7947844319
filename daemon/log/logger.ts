import { pino, type DestinationStream, type Logger } from 'pino';

// Secrets must never reach a log line even if a future call site logs a whole body:
// every path where a password, token or bootstrap payload could sit is censored.
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'redfishConnection.password',
  '*.redfishConnection.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'bootstrapData',
  '*.bootstrapData',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'caBundle',
  '*.caBundle',
];

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'beskar7' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
