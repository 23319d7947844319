import type { BmcCore } from './core.js';
import { baseMessage, errorResponse } from './errors.js';
import { emptyResponse, jsonResponse } from './http.js';
import type { BmcResponse } from './http.js';
import { isRead, methodNotAllowed, notFound } from './request.js';
import type { BmcRequest } from './request.js';
import { MONITORS_PATH, TASKS_PATH } from './tasks.js';

/**
 * Task resources answer 200 with TaskState; task monitors answer 202 until done, then 204 (DMTF).
 * Both count as polls of the same task. Undefined: not a live task, let the tree answer.
 */
export function taskRoute(core: BmcCore, req: BmcRequest): BmcResponse | undefined {
  const lower = req.path.toLowerCase();
  const monitor = lower.startsWith(`${MONITORS_PATH.toLowerCase()}/`);
  if (!monitor && !lower.startsWith(`${TASKS_PATH.toLowerCase()}/`)) return undefined;
  const id = req.path.slice((monitor ? MONITORS_PATH : TASKS_PATH).length + 1);
  if (!core.tasks.has(id)) return monitor ? notFound(req.path) : undefined;
  if (!isRead(req.method)) return methodNotAllowed(['GET', 'HEAD']);
  const poll = core.tasks.poll(id);
  if (!poll.found) return notFound(req.path);
  const retry: Record<string, string> = poll.retryAfterSeconds === null ? {} : { 'Retry-After': String(poll.retryAfterSeconds) };
  if (!monitor) return jsonResponse(200, poll.body, poll.state === 'Running' ? retry : {});
  if (poll.state === 'Running') return jsonResponse(202, poll.body, { Location: `${MONITORS_PATH}/${id}`, ...retry });
  if (poll.state === 'Exception') return errorResponse(500, [baseMessage('InternalError')]);
  return emptyResponse(204);
}
