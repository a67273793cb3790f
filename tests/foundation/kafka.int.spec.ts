import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { toolKafka } from '@shop/testkit/kafka';
import { afterAll, describe, expect, it } from 'vitest';

const kafka = toolKafka('foundation-test');

describe('kafkajs against the project broker', () => {
  const admin = kafka.admin();
  const topic = `test.roundtrip.${randomUUID()}`;
  const groupId = `group-${randomUUID()}`;
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  async function consume(consumer: Consumer, count: number): Promise<string[]> {
    const seen: string[] = [];
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          if (seen.length >= count) return;
          seen.push(message.value!.toString());
          // Commit exactly what was handled: the next member must resume right after it.
          await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          if (seen.length === count) resolve();
        },
      });
    });
    await consumer.disconnect();
    return seen;
  }

  it('produces idempotently, consumes in a group, commits offsets and resumes from them', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `m${i}` })) });
    await producer.disconnect();

    const first = await consume(kafka.consumer({ groupId }), 4);
    expect(first).toEqual(['m0', 'm1', 'm2', 'm3']);
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0].partitions[0].offset).toBe('4');

    const second = await consume(kafka.consumer({ groupId }), 6);
    expect(second).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  });
});
