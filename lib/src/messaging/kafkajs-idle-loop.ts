// kafkajs 2.2.4 (its last release) re-arms a timer after every check of a connection's request
// queue, even when nothing is queued and nothing is throttled: the delay it computes is then
// negative, so the timer fires after 1 ms and arms the next one. Every broker connection of
// every client spins that 1 ms loop for the life of the process (tulios/kafkajs#1556, #1604,
// #1704; fixes proposed in #1667 and #1768, never released). Measured on the idle stack: its
// five processes took 17 % of a core with the loop, 9 % without (BENCHMARKS.md).
//
// The replacement arms the timer only when it has something to do: requests are queued, or a
// broker throttle is still running. Nothing is lost by not arming it on an empty queue: push()
// sends a request at once when it can, and schedules this check itself when it queues one.
import { createRequire } from 'node:module';

/** The parts of kafkajs' internal RequestQueue that the check reads and writes. */
export interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own interval for re-checking a queue whose throttle has already expired. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  if (this.pending.length === 0 && throttledFor <= 0) return;
  const delay = this.pending.length > 0 && throttledFor <= 0 ? CHECK_PENDING_REQUESTS_INTERVAL_MS : throttledFor;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

const require = createRequire(import.meta.url);
// The signature of the release this replaces: another version keeps its own code.
const BROKEN = /let scheduleAt = this\.throttledUntil - Date\.now\(\)\s*if \(!this\.throttleCheckTimeoutId\) \{\s*if \(this\.pending\.length > 0\)/;

/** kafkajs' internal RequestQueue class (not exported by its package index). */
export function kafkajsRequestQueue(): { new (options: object): RequestQueueState; prototype: RequestQueueState } {
  return require('kafkajs/src/network/requestQueue/index.js') as ReturnType<typeof kafkajsRequestQueue>;
}

/**
 * Replaces the looping method on kafkajs' RequestQueue, once per process. Returns whether the
 * installed kafkajs is the release with the loop (and so now runs the replacement).
 */
export function stopKafkajsIdleLoop(): boolean {
  const proto = kafkajsRequestQueue().prototype;
  if (proto.scheduleCheckPendingRequests === scheduleCheckPendingRequests) return true;
  if (!BROKEN.test(proto.scheduleCheckPendingRequests.toString())) return false;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}
