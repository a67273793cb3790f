// The chaos soak as CI runs it, and proof that the checker catches what it claims to.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { REPO_ROOT } from '@shop/lib/db/databases';
import { stackDown, stackUp } from '@shop/testkit/processes';
import { check } from '../../chaos/checker.ts';
import { ACTIONS } from '../../chaos/faults.ts';
import { soak } from '../../chaos/soak.ts';
import { pool } from '../support/infra.ts';

const exec = promisify(execFile);
afterAll(() => stackDown());

describe('chaos soak', { timeout: 600_000 }, () => {
  it('keeps every invariant through 1,200 orders and 12 faults of every kind, network faults through the proxy included', async () => {
    const { stdout } = await exec(process.execPath, ['chaos/cli.ts', 'soak', '--orders', '1200', '--faults', '12', '--seed', '42', '--rate', '50'], {
      cwd: REPO_ROOT,
      // Outages here last seconds each and cluster in 20 s of load, so they overlap: once, the
      // burst of orders retried after an order-service restart met a relay restart, a 5 s
      // partition, a 12 s Kafka outage and a Postgres restart back to back, ~30 s without a
      // reservation, and all 456 passed the 30 s reservation deadline. Deadlines that span such a
      // cluster let most orders finish instead of timing out (both outcomes keep the invariants).
      env: { ...process.env, ORDER_RESERVATION_DEADLINE_MS: '60000', ORDER_DEADLINE_MS: '120000', FAULT_PROXY: '1' },
      timeout: 540_000,
      maxBuffer: 32 * 1024 * 1024,
    }).catch((error) => ({ stdout: `${error.stdout}\nEXIT ${error.code}` }));
    console.info(stdout.split('== soak report ==')[1]?.slice(0, 3_000) ?? stdout.slice(-3_000));
    expect(stdout).toContain('violations: 0');
    expect(stdout).not.toContain('FAILED');
    const kinds = new Set(
      [...stdout.matchAll(/\] (kill|pause|kafka-stop|pg-restart|pg-kill-walsender|redis-stop|poison|latency|partition|reset)\b/g)].map((m) => m[1]),
    );
    expect([...kinds].sort()).toEqual([
      'kafka-stop',
      'kill',
      'latency',
      'partition',
      'pause',
      'pg-kill-walsender',
      'pg-restart',
      'poison',
      'redis-stop',
      'reset',
    ]);
    // The customers' outcome: the orders stock and payment allow complete through the outages.
    const possible = Number(/completed of what could complete ([\d.]+) %/.exec(stdout)?.[1]);
    expect(possible).toBeGreaterThanOrEqual(95);
  });

  it('has a checker that catches a corrupted stock row, a lost inbox row and an event that never reached Kafka', async () => {
    const clean = await soak({ orders: 40, faults: 0, seed: 3, rate: 40 });
    expect(clean.violations).toEqual([]);
    const inventory = pool('inventory', 1);
    const payments = pool('payments', 1);
    const orders = pool('orders', 1);
    try {
      const sku = Object.keys(clean.input.startStock)[0];
      const orderId = clean.input.records.find((r) => r.orderId)!.orderId!;
      await inventory.query('update products set on_hand = on_hand + 1 where sku = $1', [sku]);
      const inbox = await payments.query(
        "delete from processed_events where event_id = (select event_id from processed_events where event_type = 'PaymentRequested' order by processed_at desc limit 1) returning *",
      );
      expect(inbox.rowCount).toBe(1);
      await ACTIONS.kill('outbox-relay');
      const lostId = uuidv7();
      // An OrderCreated of an order that has its reservation already, so its late delivery changes
      // nothing (with a payload the catalog accepts: consumers check every payload they get).
      await orders.query(
        `insert into outbox (id, aggregate_type, aggregate_id, type, payload) values ($1, 'order', $2, 'OrderCreated',
           jsonb_build_object('orderId', $2::text, 'customerId', 'probe', 'currency', 'EUR',
                              'items', jsonb_build_array(jsonb_build_object('sku', 'PROBE', 'quantity', 1))))`,
        [lostId, orderId],
      );

      const broken = await check(clean.input);
      expect(broken.violations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^${sku}: onHand \\d+, expected`)),
          expect.stringMatching(new RegExp(`^event ${inbox.rows[0].event_id} \\(PaymentRequested\\) applied 0 times by the payments consumer`)),
          `event ${lostId} (OrderCreated) is in the orders outbox but never reached Kafka`,
        ]),
      );

      // Undo the damage: the checker must go quiet again, so it is not just always complaining.
      await inventory.query('update products set on_hand = on_hand - 1 where sku = $1', [sku]);
      const r = inbox.rows[0];
      await payments.query(
        'insert into processed_events (consumer, event_id, event_type, topic, partition, "offset", processed_at) values ($1, $2, $3, $4, $5, $6, $7)',
        [r.consumer, r.event_id, r.event_type, r.topic, r.partition, r.offset, r.processed_at],
      );
      await stackUp();
      let after = await check(clean.input);
      for (let i = 0; i < 15 && after.violations.length > 0; i++) {
        await new Promise((res) => setTimeout(res, 1_000)); // the restarted relay publishes the probe
        after = await check(clean.input);
      }
      expect(after.violations).toEqual([]);
    } finally {
      await Promise.all([inventory.end(), payments.end(), orders.end()]);
    }
  });
});
