// Relay benchmark: (1) throughput — events/s through one relay, from a backlog of committed
// outbox rows to Kafka; (2) lag — commit → consumer receive, p50/p99, at a fixed 5,000 events/s.
// Each figure is the median of RUNS runs, with min and max.
//   npm run bench -- relay            (BENCH_RUNS, BENCH_EVENTS, BENCH_RATE, BENCH_SECONDS to change)
import { assertAlone, db, EVENTS, lagRun, ourRelay, RATE, RUNS, throughputRun } from './cdc.ts';
import { summarize, table } from './stats.ts';

const PORT = 3955;

/** The relay's own view (commit → Kafka acknowledgement), printed beside the consumer's. */
async function printPublishHistogram(): Promise<void> {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  const buckets = [...text.matchAll(/relay_publish_latency_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
  console.error(`relay commit→ack histogram (le:count): ${buckets.join(' ')}`);
}

export async function relayBench(): Promise<void> {
  const throughput: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  await assertAlone();
  for (let i = 0; i < RUNS; i++) {
    const relay = ourRelay(PORT);
    try {
      throughput.push(await throughputRun(relay));
      const lag = await lagRun(relay, printPublishHistogram);
      p50.push(lag.p50);
      p99.push(lag.p99);
      console.error(
        `run ${i + 1}/${RUNS}: ${Math.round(throughput[i])} events/s; at ${RATE} ev/s lag p50 ${lag.p50} ms, p99 ${lag.p99} ms (${lag.count} events)`,
      );
    } finally {
      await relay.dispose();
    }
  }
  console.log(
    table(
      ['relay figure', 'median', 'min', 'max', 'target'],
      [
        [`throughput, events/s (${EVENTS} backlog)`, ...summarize(throughput, 0), '≥ 20,000'],
        [`lag p50 ms at ${RATE} ev/s`, ...summarize(p50, 0), ''],
        [`lag p99 ms at ${RATE} ev/s`, ...summarize(p99, 0), '≤ 50'],
      ],
    ),
  );
  await db.end();
}
