import { afterEach, describe, expect, it } from 'vitest';
import { kafkajsRequestQueue, stopKafkajsIdleLoop, type RequestQueueState } from './kafkajs-idle-loop.ts';

// kafkajs' own RequestQueue class, no broker: only its scheduling decisions are looked at.
const RequestQueue = kafkajsRequestQueue();
const logger = { debug: () => undefined, warn: () => undefined, error: () => undefined, info: () => undefined };
const queue = () =>
  new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'unit', broker: 'b:9092', logger });

describe('the kafkajs request-queue check after stopKafkajsIdleLoop', () => {
  const armed: RequestQueueState[] = [];
  afterEach(() => armed.splice(0).forEach((q) => q.throttleCheckTimeoutId && clearTimeout(q.throttleCheckTimeoutId)));
  const track = (q: RequestQueueState) => (armed.push(q), q);

  it('is installed over the release with the loop, once', () => {
    expect(stopKafkajsIdleLoop()).toBe(true);
    expect(stopKafkajsIdleLoop()).toBe(true);
  });

  it('arms no timer when nothing is queued and nothing is throttled', () => {
    stopKafkajsIdleLoop();
    const q = track(queue());
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still arms one while a broker throttle runs, and when requests wait', () => {
    stopKafkajsIdleLoop();
    const throttled = track(queue());
    throttled.throttledUntil = Date.now() + 1_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();

    const waiting = track(queue());
    waiting.pending.push({ correlationId: 1 });
    waiting.scheduleCheckPendingRequests();
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();
  });

  it('checks the waiting requests when the throttle has run out', async () => {
    stopKafkajsIdleLoop();
    const q = track(queue());
    let checks = 0;
    q.checkPendingRequests = () => void checks++;
    q.throttledUntil = Date.now() + 20;
    q.pending.push({ correlationId: 1 });
    q.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 60));
    expect(checks).toBe(1);
  });
});
