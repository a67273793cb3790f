import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { HEADERS } from '@shop/lib/events/envelope';
import { ensureTopics } from '@shop/lib/messaging/kafka';

/**
 * One outbox row on its way to Kafka. Flat strings only: it crosses to the publisher threads
 * by structured clone, and the headers object is built there (see headersOf).
 */
export interface OutboundMessage {
  topic: string;
  key: string;
  value: string;
  eventId: string;
  eventType: string;
  correlationId: string;
  /** Commit LSN of the transaction that wrote the row. */
  lsn: string;
  /** The trace the row belongs to (its W3C headers), when it has one. */
  traceparent?: string;
  tracestate?: string;
}

/** The Kafka headers of a relayed event (names in lib/events/envelope HEADERS). */
export function headersOf(m: OutboundMessage, source: string): Record<string, string> {
  return {
    [HEADERS.eventId]: m.eventId,
    [HEADERS.eventType]: m.eventType,
    [HEADERS.correlationId]: m.correlationId,
    [HEADERS.source]: source,
    [HEADERS.lsn]: m.lsn,
    ...(m.traceparent ? { [HEADERS.traceparent]: m.traceparent } : {}),
    ...(m.tracestate ? { [HEADERS.tracestate]: m.tracestate } : {}),
  };
}

/** Sends batches to Kafka; `publish` resolves once Kafka acknowledged every message. */
export interface Publisher {
  publish(messages: OutboundMessage[]): Promise<void>;
  isReachable(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One idempotent producer (acks=-1, one request in flight, as kafkajs needs for correct
 * sequence numbers). `publish` resolves only when Kafka has acknowledged every message.
 */
export class KafkaPublisher implements Publisher {
  private producer: Producer;
  private readonly admin: Admin;
  private readonly knownTopics = new Set<string>();
  private connected?: Promise<void>;
  private generation = 0;

  private readonly kafka: Kafka;
  private readonly partitions: number;
  /** The database the messages come from (the `source` header). */
  private readonly source: string;

  constructor(kafka: Kafka, partitions: number, source: string) {
    this.kafka = kafka;
    this.partitions = partitions;
    this.source = source;
    this.producer = this.newProducer();
    this.admin = kafka.admin();
  }

  private newProducer(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, retry: { retries: 5 } });
  }

  private connect(): Promise<void> {
    this.connected ??= Promise.all([this.producer.connect(), this.admin.connect()]).then(
      () => undefined,
      (error) => {
        this.connected = undefined;
        throw error;
      },
    );
    return this.connected;
  }

  /**
   * After a failed send the idempotent producer's sequence numbers may no longer match the
   * broker's (it then answers OUT_OF_ORDER_SEQUENCE_NUMBER forever): start over with a new
   * producer, hence a new producer id. Unacknowledged batches are resent (duplicates, no loss).
   */
  private async reset(generation: number): Promise<void> {
    if (generation !== this.generation) return; // another stream already reset it
    this.generation++;
    const old = this.producer;
    this.producer = this.newProducer();
    this.connected = undefined;
    await old.disconnect().catch(() => undefined);
  }

  async publish(messages: OutboundMessage[]): Promise<void> {
    const generation = this.generation;
    try {
      await this.send(messages);
    } catch (error) {
      await this.reset(generation);
      throw error;
    }
  }

  private async send(messages: OutboundMessage[]): Promise<void> {
    await this.connect();
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push({ key: m.key, value: m.value, headers: headersOf(m, this.source) });
    }
    const fresh = [...byTopic.keys()].filter((t) => !this.knownTopics.has(t));
    if (fresh.length > 0) {
      // Explicit creation so new topics get the configured partition count.
      await ensureTopics(this.admin, fresh, this.partitions);
      for (const t of fresh) this.knownTopics.add(t);
    }
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
    });
  }

  async isReachable(): Promise<void> {
    await this.connect();
    await this.admin.describeCluster();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
