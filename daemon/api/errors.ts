import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, type ErrorKind, type FieldProblem } from '../core/errors.js';

const STATUS: Record<ErrorKind, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Unavailable: 503,
};

const KIND_BY_STATUS = new Map<number, string>([
  [400, 'BadRequest'],
  [401, 'Unauthorized'],
  [404, 'NotFound'],
  [405, 'MethodNotAllowed'],
  [409, 'Conflict'],
  [413, 'PayloadTooLarge'],
  [415, 'UnsupportedMediaType'],
  [503, 'Unavailable'],
]);

export interface ErrorBody {
  error: string;
  message: string;
  details: FieldProblem[];
}

/** Every error leaves as JSON `{error, message, details}`; internals never reach the client. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler<FastifyError | DomainError>((error, request, reply) => {
    if (error instanceof DomainError) {
      if (error.kind === 'Unauthorized') void reply.header('www-authenticate', 'Bearer realm="beskar7"');
      return reply.status(STATUS[error.kind]).send({ error: error.kind, message: error.message, details: error.details } satisfies ErrorBody);
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors: bad JSON, body too large, wrong media type.
      const message =
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `request body is larger than the limit of ${app.initialConfig.bodyLimit ?? 0} bytes`
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `unsupported Content-Type ${String(request.headers['content-type'])}; send application/json`
            : error.message;
      return reply.status(status).send({ error: KIND_BY_STATUS.get(status) ?? 'BadRequest', message, details: [] } satisfies ErrorBody);
    }
    request.log.error({ err: error, route: request.routeOptions.url }, 'request failed');
    return reply.status(500).send({ error: 'Internal', message: 'internal error; see the daemon log', details: [] } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: [] } satisfies ErrorBody),
  );
}
