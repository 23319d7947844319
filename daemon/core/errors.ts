// Domain errors carry what a transport needs (a kind and field details) but no transport
// detail themselves; daemon/api/errors.ts maps kinds to HTTP status codes.
export type ErrorKind = 'BadRequest' | 'Unauthorized' | 'NotFound' | 'Conflict' | 'PayloadTooLarge' | 'UnsupportedMediaType' | 'Unavailable';

export interface FieldProblem {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
    this.name = kind;
  }
}

export const notFound = (what: string, id: string) => new DomainError('NotFound', `${what} ${id} not found`);
export const conflict = (message: string, details: FieldProblem[] = []) => new DomainError('Conflict', message, details);
export const badRequest = (message: string, details: FieldProblem[] = []) => new DomainError('BadRequest', message, details);
