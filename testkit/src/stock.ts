// Sets a product's stock the way an operator does it: create it, or read its ETag and PUT with
// If-Match, reading again when a reservation moved it on in between (412). Benches, chaos
// scripts and tests all stock their products through this.

/** What the benches, chaos scripts and tests sell at unless they say otherwise: 10.00 EUR a unit. */
export const DEFAULT_PRICE = { priceCents: 1000, currency: 'EUR' } as const;

export interface StockOptions {
  name?: string;
  priceCents?: number;
  currency?: string;
}

/** Creates `sku` with `onHand` units at a price, or sets an existing one so; returns the HTTP status (200 or 201). */
export async function setStockLevel(inventoryUrl: string, adminToken: string, sku: string, onHand: number, options: StockOptions = {}): Promise<number> {
  const body = JSON.stringify({ name: options.name ?? sku, onHand, ...DEFAULT_PRICE, ...options });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` };
  for (let attempt = 1; ; attempt++) {
    const current = await fetch(`${inventoryUrl}/products/${sku}`);
    await current.arrayBuffer();
    const etag = current.status === 200 ? current.headers.get('etag') : null;
    const res = await fetch(`${inventoryUrl}/products/${sku}`, {
      method: 'PUT',
      headers: etag ? { ...headers, 'if-match': etag } : headers,
      body,
    });
    const text = await res.text();
    if (res.status === 200 || res.status === 201) return res.status;
    // 412: moved on since the read; 428: created by someone else since our 404.
    if ((res.status !== 412 && res.status !== 428) || attempt >= 20) throw new Error(`stock ${sku}: ${res.status} ${text}`);
  }
}
