// Kafka helpers for tests: unique topics created up front and a collector that records every
// message (duplicates included) in arrival order.
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { toolKafka } from '@shop/testkit/kafka';
import { afterAll, expect } from 'vitest';
import { waitFor } from './processes.ts';
import { consumerLag } from '../../chaos/drain.ts';

export const kafka = toolKafka('tests');

export interface Collected {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Record<string, unknown> & { id: string; payload: Record<string, unknown> };
  headers: Record<string, string>;
}

const createdTopics: string[] = [];
const collectors: Collector[] = [];
// Registered at module load: hooks registered inside tests would not run.
afterAll(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.stop()));
  if (createdTopics.length === 0) return;
  const a = kafka.admin();
  await a.connect();
  await a.deleteTopics({ topics: createdTopics.splice(0) }).catch(() => undefined);
  await a.disconnect();
});

export async function createTopics(topics: string[], partitions = 6): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
    createdTopics.push(...topics);
  } finally {
    await admin.disconnect();
  }
}

/** Dead-letter topics carry values that are not JSON on purpose: keep them raw. */
function parseValue(text: string): Collected['value'] {
  try {
    return JSON.parse(text);
  } catch {
    return { id: '', payload: {}, raw: text };
  }
}

export class Collector {
  readonly messages: Collected[] = [];
  private consumer?: Consumer;

  static async start(topics: string[]): Promise<Collector> {
    const c = new Collector();
    const consumer = kafka.consumer({ groupId: `collector-${randomUUID()}`, maxWaitTimeInMs: 100 });
    c.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        c.messages.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? '',
          value: parseValue(message.value?.toString() ?? ''),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      },
    });
    collectors.push(c);
    return c;
  }

  ids(): Set<string> {
    return new Set(this.messages.map((m) => m.value.id));
  }

  duplicates(): number {
    return this.messages.length - this.ids().size;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}

/** Waits until every written id was seen on Kafka, then asserts none is missing. */
export async function expectAllDelivered(collector: Collector, written: { id: string }[], timeoutMs = 60_000): Promise<void> {
  const expected = new Set(written.map((w) => w.id));
  await waitFor(
    () => {
      const have = collector.ids();
      return [...expected].every((id) => have.has(id));
    },
    { timeoutMs, what: `all ${expected.size} ids on Kafka (have ${collector.ids().size})` },
  ).catch(() => undefined);
  const have = collector.ids();
  expect([...expected].filter((id) => !have.has(id))).toEqual([]);
}

/** Waits until every listed consumer group has committed up to the end of each topic. */
export async function waitDrained(groups: Record<string, string[]>, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(async () => (await consumerLag(admin, groups)) === 0, { timeoutMs, intervalMs: 250, what: 'consumer groups drained' });
  } finally {
    await admin.disconnect();
  }
}

/** Publishes raw messages as a misbehaving (or replaying) producer would. */
export async function produce(topic: string, messages: { key: string; value: string; headers?: Record<string, string>; partition?: number }[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
