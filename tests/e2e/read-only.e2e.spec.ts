// A service database that refuses writes for a while (a failover, a full disk; here
// default_transaction_read_only): its consumer retries instead of dead-lettering, its HTTP
// writes answer 503, and everything resumes once it takes writes again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool } from '../support/infra.ts';
import { Collector } from '../support/kafka.ts';
import { waitFor } from '../support/processes.ts';
import { ADMIN, placeOrder, product, setStock, startStack, uniqueSku, waitTerminal, type Stack } from '../support/stack.ts';

const admin = pool('orders', 1);
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ORDER_DEADLINE_MS: '60000' } });
});
afterAll(async () => {
  await readOnly(false);
  await admin.end();
});

/** Sets the inventory database read-only (or back) and drops its client connections, so every new one takes the setting. */
async function readOnly(on: boolean): Promise<void> {
  await admin.query(on ? 'alter database inventory set default_transaction_read_only = on' : 'alter database inventory reset default_transaction_read_only');
  await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'inventory' and backend_type = 'client backend'");
}

describe('a database that refuses writes', { timeout: 120_000 }, () => {
  it('holds the work (503 at the door of its service, retries in its consumer) and loses nothing once it takes writes again', async () => {
    const sku = uniqueSku('RO');
    await setStock(stack, sku, 10);
    const dlq = await Collector.start(['order.events.dlq']);
    await readOnly(true);
    try {
      const { orderId } = await placeOrder(stack, { items: [{ sku, quantity: 3 }] });
      const write = await waitFor(
        async () => {
          const res = await fetch(`${stack.url('inventory-service')}/products/${sku}/adjustments`, {
            method: 'POST',
            headers: { ...ADMIN, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
            body: JSON.stringify({ delta: 1, reason: 'restock' }),
          });
          return res.status === 503 ? res : undefined;
        },
        { what: 'a write to the read-only database to be refused', timeoutMs: 10_000 },
      );
      expect(write.headers.get('retry-after')).toBe('1');
      expect(write.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      // The order waits: reserved stock needs the inventory database.
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await product(stack, sku)).reserved).toBe(0);
      await readOnly(false);
      expect(await waitTerminal(stack, orderId, 60_000)).toMatchObject({ status: 'COMPLETED' });
      await waitFor(async () => (await product(stack, sku)).onHand === 7, { what: 'stock committed' });
      expect(await product(stack, sku)).toMatchObject({ onHand: 7, reserved: 0 });
      expect(dlq.messages.filter((m) => m.key === orderId)).toEqual([]);
    } finally {
      await readOnly(false);
      await dlq.stop();
    }
  });
});
