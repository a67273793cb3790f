// Dead-letter topics for the operations page: counts, the latest messages with their error
// headers, and replay (republish to the original topic) for an operator with the admin token.
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { AppError } from '@shop/lib/errors';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

const SHOW = 50;
const KEEP = 1_000;

/** Newest first by the time it was dead-lettered (partitions arrive in no useful order). */
const byAge = (a: DeadLetter, b: DeadLetter) => (b.headers['dlq-at'] ?? '').localeCompare(a.headers['dlq-at'] ?? '');

export class DeadLetters {
  // Keyed by position, so re-reading a topic after a consumer restart adds no duplicates.
  private readonly letters = new Map<string, DeadLetter>();
  private consumer?: Consumer;
  private producer?: Producer;

  private readonly kafka: Kafka;
  private readonly admin: Admin;

  constructor(kafka: Kafka, admin: Admin) {
    this.kafka = kafka;
    this.admin = admin;
  }

  private stopped = false;

  /**
   * Follows every `*.dlq` topic. Rebuilt (and topics re-listed) whenever kafkajs gives up on
   * the consumer, e.g. after a Kafka outage, and every minute to pick up new DLQ topics.
   */
  async start(): Promise<void> {
    await this.follow();
    setInterval(() => void this.refollowIfNewTopics(), 60_000).unref();
  }

  private followed: string[] = [];

  private async refollowIfNewTopics(): Promise<void> {
    const topics = (await this.admin.listTopics().catch(() => this.followed)).filter((t) => t.endsWith('.dlq'));
    if (topics.some((t) => !this.followed.includes(t))) await this.restart();
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    await this.consumer?.disconnect().catch(() => undefined);
    await this.follow().catch(() => setTimeout(() => void this.restart(), 2_000));
  }

  private async follow(): Promise<void> {
    const topics = (await this.admin.listTopics()).filter((t) => t.endsWith('.dlq'));
    this.followed = topics;
    this.consumer = this.kafka.consumer({ groupId: `outbox-relay-dashboard-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) setTimeout(() => void this.restart(), 1_000);
    });
    await this.consumer.connect();
    if (topics.length > 0) await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        this.letters.set(`${topic}/${partition}/${message.offset}`, {
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        if (this.letters.size > KEEP) {
          const oldest = [...this.letters.values()].sort(byAge).slice(KEEP);
          for (const d of oldest) this.letters.delete(`${d.topic}/${d.partition}/${d.offset}`);
        }
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]);
  }

  async summary(): Promise<{ topics: { topic: string; count: number }[]; latest: DeadLetter[] }> {
    const topics = (await this.admin.listTopics()).filter((t) => t.endsWith('.dlq')).sort();
    const counts = await Promise.all(
      topics.map(async (topic) => ({ topic, count: (await this.admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high) - Number(p.low), 0) })),
    );
    return { topics: counts, latest: [...this.letters.values()].sort(byAge).slice(0, SHOW) };
  }

  /** One of the latest dead letters; 404 if it is not among them. */
  find(ref: { topic: string; partition: number; offset: string }): DeadLetter {
    const letter = this.letters.get(`${ref.topic}/${ref.partition}/${ref.offset}`);
    if (!letter) throw new AppError('not_found', 'no such dead letter among the latest ones', { status: 404 });
    return letter;
  }

  /** Republishes one dead letter to the topic it came from, without the dlq-* headers. */
  async replay(letter: DeadLetter): Promise<{ republishedTo: string }> {
    const original = letter.headers['dlq-original-topic'];
    if (!original) throw new AppError('not_replayable', 'the dead letter does not name its original topic', { status: 409 });
    if (!this.producer) {
      this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await this.producer.connect();
    }
    const headers = Object.fromEntries(Object.entries(letter.headers).filter(([k]) => !k.startsWith('dlq-')));
    await this.producer.send({
      topic: original,
      acks: -1,
      messages: [{ key: letter.key, value: letter.value, headers: { ...headers, 'replayed-from': `${letter.topic}/${letter.partition}/${letter.offset}` } }],
    });
    return { republishedTo: original };
  }
}
