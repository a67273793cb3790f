// Kafka helpers for tests: unique topics created up front and a collector that records every
// message (duplicates included) in arrival order.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, expect } from 'vitest';
import { waitFor } from './processes.ts';

export const kafka = new Kafka({ clientId: 'tests', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING });

export interface Collected {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Record<string, unknown> & { id: string; payload: Record<string, unknown> };
  headers: Record<string, string>;
}

export async function createTopics(topics: string[], partitions = 6): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  afterAll(async () => {
    const a = kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics }).catch(() => undefined);
    await a.disconnect();
  });
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
          value: JSON.parse(message.value!.toString()),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      },
    });
    afterAll(() => c.stop());
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
