// kafkajs 2.2.4 spins a 1 ms timer per idle broker connection; stopKafkajsIdleLoop ends it
// without changing what a client does. Against the project's broker.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkajsRequestQueue, stopKafkajsIdleLoop, type RequestQueueState } from '@shop/lib/messaging/kafkajs-idle-loop';

const RequestQueue = kafkajsRequestQueue();
const kafka = new Kafka({ clientId: 'idle-loop-test', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Counts queue checks across every connection of this process (instrumentation, not a stub:
// the library's own method still runs).
let checks = 0;
const original = RequestQueue.prototype.checkPendingRequests; // eslint-disable-line @typescript-eslint/unbound-method -- called with .call(this) below
RequestQueue.prototype.checkPendingRequests = function (this: RequestQueueState) {
  checks++;
  original.call(this);
};

// The same method arms its timer with a negative delay, which Node 24+ reports as a
// TimeoutNegativeWarning on stderr (tulios/kafkajs#1751): counted here to show the replacement
// ends it too.
let negativeTimeouts = 0;
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') negativeTimeouts++;
});

describe('kafkajs idle request-queue loop', () => {
  const topic = `test.idle-loop.${randomUUID()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
    RequestQueue.prototype.checkPendingRequests = original;
  });

  it('spins while idle as released, stops once replaced, and the client still produces', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'before' }] });

    checks = 0;
    await sleep(500);
    const idleAsReleased = checks;
    expect(idleAsReleased).toBeGreaterThan(100); // ~1 per ms per connection: the loop
    expect(negativeTimeouts).toBeGreaterThan(0);

    expect(stopKafkajsIdleLoop()).toBe(true);
    await sleep(50); // timers armed by the old method fire one last time
    checks = 0;
    negativeTimeouts = 0;
    await sleep(500);
    expect(checks).toBeLessThan(5);

    const sent = await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: 'k', value: `after-${i}` })) });
    expect(sent[0].errorCode).toBe(0);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets[0].high).toBe('21');
    expect(negativeTimeouts).toBe(0);
  });
});
