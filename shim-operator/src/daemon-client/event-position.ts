import type { DaemonClient, RequestOptions } from './client.js';

/**
 * Id of the newest event in the daemon's log (0 when empty).
 *
 * The daemon has no endpoint for this, and a stream opened without a position starts "now"
 * without saying where "now" is, so a follower cut off before its first event could not resume
 * without a gap. This finds the id with O(log n) one-event reads of the log (galloping, then
 * bisection on "is there an event after n?"), instead of paging through all of history.
 *
 * For list-then-watch, call it BEFORE listing and follow from it: every change after the list
 * is then replayed (some perhaps twice, which level-based reconcilers absorb).
 */
export async function latestEventId(client: DaemonClient, options: RequestOptions = {}): Promise<number> {
  const firstAfter = async (id: number): Promise<number | undefined> => (await client.readEventLog({ since: id, limit: 1 }, options)).items[0]?.id;

  let known = await firstAfter(0);
  if (known === undefined) return 0;
  // Invariant: an event with id `known` exists; none exists after `bound` (once bound is set).
  let bound: number | undefined;
  for (let step = 1; bound === undefined; step *= 2) {
    const found = await firstAfter(known + step - 1);
    if (found === undefined) bound = known + step - 1;
    else known = found;
  }
  while (known < bound) {
    const middle = Math.floor((known + bound) / 2);
    const found = await firstAfter(middle);
    if (found === undefined) bound = middle;
    else known = found;
  }
  return known;
}
