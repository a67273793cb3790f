// One database's outbox stream: logical replication (pgoutput) → Kafka, confirming a WAL
// position only after Kafka acknowledged everything at or before it.
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Logger } from '@shop/lib/logger';
import type { DatabaseSource, RelayConfig } from '../config.ts';
import type { RelayMetrics } from '../metrics.ts';
import type { OutboundMessage, Publisher } from '../publish/kafka-publisher.ts';
import { PublishSpans } from '../publish/publish-spans.ts';
import { AcknowledgeManager } from './acknowledge-manager.ts';
import { formatLsn, parseLsn, type Lsn } from './lsn.ts';
import { isoTimestamp, keepPayloadText } from './row-text.ts';
import { prepareSlot, SlotUnusableError } from './slot.ts';
import { envelopeOf, type OutboxRow } from '@shop/lib/outbox/row';
import { exponentialBackoff, sleep } from '@shop/lib/backoff';

export type StreamState = 'starting' | 'active' | 'standby' | 'reconnecting' | 'failed' | 'stopped';

/** The row as pgoutput brings it: payload and created_at are the text Postgres sent (see keepPayloadText). */
type WalOutboxRow = OutboxRow<string>;

const messageBytes = (m: OutboundMessage): number => Buffer.byteLength(m.key) + Buffer.byteLength(m.value);

/** Postgres refuses a second connection to an active slot with object_in_use. */
const SLOT_IN_USE = '55006';

export class OutboxStream {
  state: StreamState = 'starting';
  lastError?: string;
  private stopped = false;
  private ack?: AcknowledgeManager<OutboundMessage>;
  private endSession?: (error?: Error) => void;
  private readonly labels: { slot: string; database: string };

  readonly source: DatabaseSource;
  private readonly config: RelayConfig;
  private readonly publisher: Publisher;
  private readonly route: (aggregateType: string) => string;
  private readonly metrics: RelayMetrics;
  private readonly logger: Logger;
  private readonly spans: PublishSpans;

  constructor(
    source: DatabaseSource,
    config: RelayConfig,
    publisher: Publisher,
    route: (aggregateType: string) => string,
    metrics: RelayMetrics,
    logger: Logger,
  ) {
    this.source = source;
    this.config = config;
    this.publisher = publisher;
    this.route = route;
    this.metrics = metrics;
    this.logger = logger;
    this.labels = { slot: source.slotName, database: source.name };
    this.spans = new PublishSpans(source.name);
  }

  get pendingMessages(): number {
    return this.ack?.pending ?? 0;
  }

  get oldestPendingCommitTimeMs(): number | undefined {
    return this.ack?.oldestPendingCommitTimeMs;
  }

  /** Runs until stop(); rejects only on an unrecoverable slot problem. */
  async run(): Promise<void> {
    const backoff = exponentialBackoff(this.config.reconnectBaseMs, this.config.reconnectMaxMs);
    while (!this.stopped) {
      try {
        const slot = await prepareSlot(this.source, { recreateMissing: this.config.recreateMissingSlot });
        if (slot.active) {
          this.becomeStandby(`slot is streamed by pid ${slot.activePid}`);
          await sleep(this.config.standbyRetryMs);
          continue;
        }
        await this.session(slot.confirmedFlushLsn);
        backoff.reset();
      } catch (error) {
        if (error instanceof SlotUnusableError) {
          this.state = 'failed';
          this.lastError = error.message;
          throw error;
        }
        if (this.stopped) break;
        if ((error as { code?: string }).code === SLOT_IN_USE) {
          this.becomeStandby((error as Error).message);
          await sleep(this.config.standbyRetryMs);
          continue;
        }
        this.state = 'reconnecting';
        this.lastError = (error as Error).message;
        this.metrics.reconnects.inc(this.labels);
        this.metrics.active.set(this.labels, 0);
        const wait = backoff.next();
        this.logger.warn({ ...this.labels, err: this.lastError, retryInMs: wait }, 'replication stream lost; reconnecting');
        await sleep(wait);
      }
    }
    this.state = 'stopped';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endSession?.();
  }

  private becomeStandby(reason: string): void {
    if (this.state !== 'standby') this.logger.info({ ...this.labels, reason }, 'slot busy: waiting as standby');
    this.state = 'standby';
    this.metrics.active.set(this.labels, 0);
    // What an earlier session of ours left unpublished is now the streaming relay's to replay
    // from the confirmed position: reporting it as our pending work would show a lag nobody has.
    this.ack = undefined;
  }

  /**
   * One replication connection. A fresh service object each time, started from the position
   * confirmed to the slot: the library would otherwise resume from the last *received* LSN and
   * Postgres would skip every unconfirmed transaction.
   */
  private async session(startLsn: Lsn): Promise<void> {
    const ack = new AcknowledgeManager<OutboundMessage>(startLsn);
    this.ack = ack;
    // timeoutSeconds: 0 — the library's timer would otherwise confirm the last *received* LSN.
    const service = new LogicalReplicationService(
      { connectionString: this.source.connectionString, connectionTimeoutMillis: 5_000 },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.source.publicationName] });

    let current: { commitLsn: string; messages: OutboundMessage[] } | undefined;
    let lastMessageAt = Date.now();
    let reported = startLsn;
    let paused = false;
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    const ended = new Promise<void>((resolve) => {
      this.endSession = (error) => {
        failure ??= error;
        resolve();
      };
    });

    const connection = () => (service as unknown as { _connection?: { stream?: { pause(): void; resume(): void } } })._connection;
    const report = (force = false) => {
      const lsn = ack.confirmedLsn;
      if (!force && lsn === reported) return;
      // The library reports lsn + 1; Postgres must see exactly the commit end, or a transaction
      // whose commit record starts right there would be skipped after a restart.
      if (lsn > 0n) void service.acknowledge(formatLsn(lsn - 1n), force).catch(() => undefined);
      reported = lsn;
      this.metrics.confirmedLsn.set(this.labels, Number(lsn));
    };
    const applyBackpressure = () => {
      if (!paused && ack.pending >= this.config.maxPendingMessages) {
        connection()?.stream?.pause();
        paused = true;
        this.logger.warn({ ...this.labels, pending: ack.pending }, 'backpressure: WAL stream paused until Kafka catches up');
      } else if (paused && ack.pending < this.config.maxPendingMessages / 2) {
        connection()?.stream?.resume();
        paused = false;
      }
    };

    service.on('data', (_lsn: string, message: Pgoutput.Message) => {
      lastMessageAt = Date.now();
      switch (message.tag) {
        case 'relation':
          if (message.name === 'outbox') keepPayloadText(message);
          break;
        case 'begin':
          current = { commitLsn: formatLsn(parseLsn(message.commitLsn ?? '0/0')), messages: [] };
          break;
        case 'insert':
          if (current && message.relation.name === 'outbox') current.messages.push(this.toKafka(message.new as WalOutboxRow, current.commitLsn));
          break;
        case 'commit':
          if (!current) break;
          ack.committed({
            commitEndLsn: parseLsn(message.commitEndLsn ?? '0/0'),
            commitTimeMs: Number((message.commitTime as bigint) / 1000n),
            messages: current.messages,
          });
          current = undefined;
          applyBackpressure();
          wake?.();
          report();
          break;
        default:
          break;
      }
    });
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      lastMessageAt = Date.now();
      // Nothing received and unpublished: the keepalive position is safe to confirm.
      if (!current) ack.idleAt(parseLsn(lsn));
      report(shouldRespond);
    });
    service.on('error', (error: Error) => this.endSession?.(error));

    const publishing = this.publishLoop(ack, () => new Promise<void>((r) => (wake = r)), report, applyBackpressure, ended);
    const status = setInterval(() => {
      if (Date.now() - lastMessageAt > this.config.silenceTimeoutMs) {
        this.endSession?.(new Error(`no message from the walsender for ${this.config.silenceTimeoutMs} ms`));
        return;
      }
      report(true);
    }, this.config.statusIntervalMs);

    service.on('start', () => {
      this.state = 'active';
      this.lastError = undefined;
      this.metrics.active.set(this.labels, 1);
      this.logger.info({ ...this.labels, from: formatLsn(startLsn) }, 'streaming outbox');
    });
    service
      .subscribe(plugin, this.source.slotName, formatLsn(startLsn))
      .then(() => this.endSession?.(this.stopped ? undefined : new Error('replication stream ended')))
      .catch((error: Error) => this.endSession?.(error));

    await ended;
    clearInterval(status);
    wake?.();
    await publishing;
    // Last word to the slot before closing: everything Kafka acknowledged.
    report(true);
    await service.destroy().catch(() => undefined);
    if (failure) throw failure;
  }

  private async publishLoop(
    ack: AcknowledgeManager<OutboundMessage>,
    nextWork: () => Promise<void>,
    report: () => void,
    applyBackpressure: () => void,
    ended: Promise<void>,
  ): Promise<void> {
    let isEnded = false;
    void ended.then(() => (isEnded = true));
    const backoff = exponentialBackoff(this.config.reconnectBaseMs, this.config.reconnectMaxMs);
    while (!isEnded) {
      if (ack.pending === 0) {
        await Promise.race([nextWork(), ended]);
        if (this.config.batchLingerMs > 0 && ack.pending < this.config.batchMaxMessages) await sleep(this.config.batchLingerMs);
        continue;
      }
      const batch = ack.take(this.config.batchMaxMessages, this.config.batchMaxBytes, messageBytes);
      if (batch.length === 0) {
        await Promise.race([nextWork(), ended]);
        continue;
      }
      try {
        await this.publisher.publish(batch.map((b) => b.message));
        const now = Date.now();
        // One observation per event, through the labelled child: no label hashing per event.
        const latency = this.metrics.publishLatency.labels(this.labels);
        for (const { tx } of batch) latency.observe(Math.max(0, now - tx.commitTimeMs) / 1000);
        this.metrics.published.inc(this.labels, batch.length);
        ack.acknowledged(batch);
        this.spans.acknowledged(batch.map((b) => b.message));
        backoff.reset();
        report();
        applyBackpressure();
      } catch (error) {
        ack.failed(batch);
        this.metrics.publishFailures.inc(this.labels);
        const wait = backoff.next();
        this.lastError = `kafka: ${(error as Error).message}`;
        this.logger.warn({ ...this.labels, err: (error as Error).message, retryInMs: wait, pending: ack.pending }, 'publish failed; will retry');
        await Promise.race([sleep(wait), ended]);
      }
    }
  }

  private toKafka(row: WalOutboxRow, commitLsn: string): OutboundMessage {
    const envelope = envelopeOf(row, isoTimestamp(row.created_at));
    const message: OutboundMessage = {
      topic: this.route(row.aggregate_type),
      key: row.aggregate_id,
      // The payload is spliced in as the JSON text Postgres sent: jsonb output is valid JSON,
      // and parsing it only to serialise it again cost relay CPU on every event.
      value: `${JSON.stringify(envelope).slice(0, -1)},"payload":${row.payload ?? 'null'}}`,
      eventId: row.id,
      eventType: row.type,
      correlationId: envelope.correlationId,
      lsn: commitLsn,
      ...(row.headers?.traceparent ? { traceparent: row.headers.traceparent, tracestate: row.headers.tracestate } : {}),
    };
    this.spans.start(message);
    return message;
  }
}
