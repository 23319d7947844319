import { setTimeout as sleep } from 'node:timers/promises';
import type { BmcConnection } from './connection.js';
import { RedfishError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import type { RawResponse } from './transport.js';

const DONE = new Set(['Completed']);
const FAILED = new Set(['Exception', 'Killed', 'Cancelled', 'Interrupted']);

/**
 * Follows a 202 Accepted to the end of its task (quirk 17): a DMTF task monitor (202 while
 * running, 200/204 when done) or a Task resource with a TaskState. The URL may 404 for a
 * moment after it is announced (iDRAC10).
 */
export async function awaitTask(connection: BmcConnection, response: RawResponse, what: string, deadlineMs: number): Promise<void> {
  if (response.status !== 202) return;
  const location = response.headers.location;
  if (typeof location !== 'string') return;
  const monitor = new URL(location, connection.address).pathname;
  const until = Date.now() + deadlineMs;
  let wait = parseRetryAfter(response.headers['retry-after']) ?? 500;
  while (Date.now() < until) {
    await sleep(Math.min(wait, 5000));
    try {
      const { status, body } = await connection.poll(monitor);
      // A DMTF task monitor says "still running" with 202 and "done" with 200/204; a Task
      // resource (iDRAC jobs) says it in TaskState.
      const state = typeof body?.TaskState === 'string' ? body.TaskState : undefined;
      if (FAILED.has(state ?? '')) {
        const messages = Array.isArray(body?.Messages) ? body.Messages.map((m) => (m as { Message?: string }).Message).filter(Boolean) : [];
        throw new RedfishError(`BMC task for ${what} ended ${state}${messages.length ? `: ${messages.join('; ').slice(0, 300)}` : ''}`, 'http');
      }
      if (status !== 202 && (state === undefined || DONE.has(state))) return;
    } catch (error) {
      if (!(error instanceof RedfishError) || error.status !== 404) throw error;
    }
    wait = Math.min(wait * 2, 5000);
  }
  throw new RedfishError(`BMC task for ${what} did not finish within ${Math.round(deadlineMs / 1000)} s`, 'timeout');
}
