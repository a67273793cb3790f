import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { runPartitionBatch, type PartitionBatch } from './batch.ts';

interface Item {
  key: string;
  offset: string;
}

const message = (offset: number, value: string): KafkaMessage => ({
  offset: String(offset),
  value: Buffer.from(value),
  key: null,
  timestamp: '0',
  attributes: 0,
  headers: {},
});

/** A partition of messages "key" or "!poison"; records what the runner did with each. */
function harness(values: string[], overrides: Partial<PartitionBatch<Item>> = {}) {
  const log: string[] = [];
  const done: string[] = [];
  const batch: PartitionBatch<Item> = {
    messages: values.map((v, i) => message(i, v)),
    maxBatch: 3,
    retry: { baseMs: 1, capMs: 2, attempts: 3 },
    logger: createLogger('test', 'silent'),
    parse: (m) => (m.value!.toString().startsWith('!') ? { poison: new Error('poison') } : { item: { key: m.value!.toString(), offset: m.offset } }),
    keyOf: (item) => item.key,
    batch: async (items) => void log.push(`batch ${items.map((i) => i.offset).join(',')}`),
    one: async (m) => void log.push(`one ${m.offset}`),
    deadLetter: async (m) => void log.push(`dlq ${m.offset}`),
    done: (m) => void done.push(m.offset),
    heartbeat: async () => undefined,
    running: () => true,
    stopping: () => false,
    onRetry: () => void log.push('retry'),
    ...overrides,
  };
  return { batch, log, done };
}

describe('runPartitionBatch', () => {
  it('applies chunks of at most maxBatch in partition order, and a second message of one key starts a new chunk', async () => {
    const h = harness(['a', 'b', 'c', 'd', 'e', 'a', 'f']);
    await runPartitionBatch(h.batch);
    expect(h.log).toEqual(['batch 0,1,2', 'batch 3,4,5', 'batch 6']);
    const again = harness(['a', 'b', 'a', 'c']);
    await runPartitionBatch(again.batch);
    expect(again.log).toEqual(['batch 0,1', 'batch 2,3']);
    expect(again.done).toEqual(['0', '1', '2', '3']);
  });

  it('keeps messages without a key (their handler sees the earlier ones of the chunk applied) in one chunk', async () => {
    const h = harness(['a', 'a', 'b', 'a', 'a'], { keyOf: (item) => (item.key === 'b' ? 'b' : undefined), maxBatch: 10 });
    await runPartitionBatch(h.batch);
    expect(h.log).toEqual(['batch 0,1,2,3,4']);
  });

  it('dead-letters a message that cannot be parsed between the chunks around it', async () => {
    const h = harness(['a', 'b', '!x', 'c']);
    await runPartitionBatch(h.batch);
    expect(h.log).toEqual(['batch 0,1', 'dlq 2', 'batch 3']);
    expect(h.done).toEqual(['0', '1', '2', '3']);
  });

  it('retries a chunk after a transient failure, and re-runs it one message at a time after a permanent one', async () => {
    let calls = 0;
    const transient = harness(['a', 'b'], {
      batch: async () => {
        if (++calls < 3) throw new AppError('database_busy', 'busy');
      },
    });
    await runPartitionBatch(transient.batch);
    expect(transient.log).toEqual(['retry', 'retry']);
    expect(transient.done).toEqual(['0', '1']);

    const permanent = harness(['a', 'b', 'c'], {
      batch: async () => {
        throw new AppError('invalid', 'cannot succeed');
      },
    });
    await runPartitionBatch(permanent.batch);
    expect(permanent.log).toEqual(['one 0', 'one 1', 'one 2']);
    expect(permanent.done).toEqual(['0', '1', '2']);
  });

  it('leaves a transient failure uncommitted while stopping, and stops taking chunks when the batch goes stale', async () => {
    const stopping = harness(['a'], {
      stopping: () => true,
      batch: async () => {
        throw new AppError('database_busy', 'busy');
      },
    });
    await expect(runPartitionBatch(stopping.batch)).rejects.toThrow('busy');
    expect(stopping.done).toEqual([]);

    let chunks = 0;
    const stale = harness(['a', 'b', 'c', 'd'], { running: () => chunks === 0, batch: async () => void chunks++ });
    await runPartitionBatch(stale.batch);
    expect(stale.done).toEqual(['0', '1', '2']);
  });
});
