import { z } from 'zod';
import type { ErrorBody } from '../../../daemon/api/errors.js';
import type { FieldProblem } from '../../../daemon/core/errors.js';

/** What went wrong when no HTTP answer explains it (status null), besides the daemon's own error kinds. */
export type TransportErrorKind = 'Timeout' | 'Unreachable' | 'Aborted' | 'InvalidResponse';

export interface DaemonApiErrorInit {
  /** HTTP status; null when no answer arrived (timeout, refused, reset, aborted). */
  status: number | null;
  /** The daemon's error kind (`NotFound`, `Conflict`, …) or a TransportErrorKind. */
  error: string;
  message: string;
  details?: FieldProblem[];
  retryable: boolean;
  /** `METHOD /path` of the request, for logs; paths carry names, never credentials. */
  request: string;
}

export class DaemonApiError extends Error {
  override readonly name = 'DaemonApiError';
  readonly status: number | null;
  readonly error: string;
  readonly details: FieldProblem[];
  /** True when the same request may succeed later unchanged: 5xx, 408, 429, timeouts, network errors. */
  readonly retryable: boolean;
  readonly request: string;

  constructor(init: DaemonApiErrorInit) {
    super(init.message);
    this.status = init.status;
    this.error = init.error;
    this.details = init.details ?? [];
    this.retryable = init.retryable;
    this.request = init.request;
  }

  get isConflict(): boolean {
    return this.status === 409;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

export const isDaemonApiError = (error: unknown): error is DaemonApiError => error instanceof DaemonApiError;

/** For catch blocks, where the caught value is unknown. */
export const isConflict = (error: unknown): boolean => isDaemonApiError(error) && error.isConflict;

export const isRetryableStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;

// Typed against the daemon's ErrorBody so a change to its error format fails to compile here.
export const errorBodySchema: z.ZodType<ErrorBody> = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).default([]),
});

export function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ field: ['response', ...issue.path.map(String)].join('.'), message: issue.message }));
}
