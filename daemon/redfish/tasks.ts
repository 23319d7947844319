import { setTimeout as sleep } from 'node:timers/promises';
import type { BmcConnection } from './connection.js';
import { RedfishError } from './errors.js';
import { parseRetryAfter } from './retry.js';
import type { RawResponse } from './transport.js';

const DONE = new Set(['Completed']);
const FAILED = new Set(['Exception', 'Killed', 'Cancelled', 'Interrupted']);

/**
 * Follows a 202 Accepted to the end of its task monitor (quirk 17). The monitor may 404 for a
 * moment after it is announced (iDRAC10), and answers 200/204 with the result when done.
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
      const task = await connection.get(monitor);
      const state = typeof task.body.TaskState === 'string' ? task.body.TaskState : undefined;
      // A monitor that answers with the resource itself (no TaskState) has finished.
      if (state === undefined || DONE.has(state)) return;
      if (FAILED.has(state)) {
        const messages = Array.isArray(task.body.Messages) ? task.body.Messages.map((m) => (m as { Message?: string }).Message).filter(Boolean) : [];
        throw new RedfishError(`BMC task for ${what} ended ${state}${messages.length ? `: ${messages.join('; ')}` : ''}`, 'http');
      }
    } catch (error) {
      if (!(error instanceof RedfishError) || error.status !== 404) throw error;
    }
    wait = Math.min(wait * 2, 5000);
  }
  throw new RedfishError(`BMC task for ${what} did not finish within ${Math.round(deadlineMs / 1000)} s`, 'timeout');
}
