import { describe, expect, it } from 'vitest';
import { AcknowledgeManager } from './acknowledge-manager.ts';
import { formatLsn, parseLsn } from './lsn.ts';

const tx = (end: bigint, n: number) => ({ commitEndLsn: end, commitTimeMs: 1_000 + Number(end), messages: Array.from({ length: n }, (_, i) => `${end}:${i}`) });

describe('AcknowledgeManager', () => {
  it('confirms a commit only once every message at or before it was acknowledged', () => {
    const ack = new AcknowledgeManager<string>(10n);
    ack.committed(tx(20n, 2));
    ack.committed(tx(30n, 1));
    const first = ack.take(2);
    expect(first.map((b) => b.message)).toEqual(['20:0', '20:1']);
    const second = ack.take(5);
    expect(second.map((b) => b.message)).toEqual(['30:0']);
    expect(ack.confirmedLsn).toBe(10n);
    ack.acknowledged(first);
    expect(ack.confirmedLsn).toBe(20n);
    ack.acknowledged(second);
    expect(ack.confirmedLsn).toBe(30n);
    expect(ack.isIdle).toBe(true);
  });

  it('never confirms a transaction split across batches until its last message is acknowledged', () => {
    const ack = new AcknowledgeManager<string>(0n);
    ack.committed(tx(100n, 5));
    const part = ack.take(3);
    ack.acknowledged(part);
    expect(ack.confirmedLsn).toBe(0n);
    expect(ack.pending).toBe(2);
    ack.acknowledged(ack.take(3));
    expect(ack.confirmedLsn).toBe(100n);
  });

  it('stops a batch before it would exceed the byte budget, but always hands out one message', () => {
    const ack = new AcknowledgeManager<string>(0n);
    ack.committed(tx(7n, 4)); // messages '7:0'..'7:3', 3 bytes each
    expect(ack.take(10, 7, (m) => m.length).map((b) => b.message)).toEqual(['7:0', '7:1']);
    expect(ack.take(10, 1, (m) => m.length).map((b) => b.message)).toEqual(['7:2']);
    expect(ack.take(10, 100, (m) => m.length).map((b) => b.message)).toEqual(['7:3']);
  });

  it('hands a failed batch out again, in the same order', () => {
    const ack = new AcknowledgeManager<string>(0n);
    ack.committed(tx(5n, 3));
    const batch = ack.take(2);
    ack.failed(batch);
    expect(ack.take(10).map((b) => b.message)).toEqual(['5:0', '5:1', '5:2']);
  });

  it('moves over empty transactions and keepalives only when nothing is pending', () => {
    const ack = new AcknowledgeManager<string>(0n);
    ack.committed(tx(10n, 1));
    ack.committed(tx(20n, 0));
    expect(ack.idleAt(50n)).toBe(false);
    expect(ack.confirmedLsn).toBe(0n);
    ack.acknowledged(ack.take(1));
    expect(ack.confirmedLsn).toBe(20n);
    expect(ack.idleAt(50n)).toBe(true);
    expect(ack.confirmedLsn).toBe(50n);
    expect(ack.idleAt(40n)).toBe(false);
  });

  it('ignores transactions replayed at or below the confirmed position', () => {
    const ack = new AcknowledgeManager<string>(100n);
    ack.committed(tx(90n, 2));
    expect(ack.pending).toBe(0);
    expect(ack.oldestPendingCommitTimeMs).toBeUndefined();
  });
});

describe('LSN', () => {
  it('round-trips and orders positions numerically', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(formatLsn(parseLsn('00000000/02FB5C18'))).toBe('0/2FB5C18');
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
  });
});
