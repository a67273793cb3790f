import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { createApp } from './app.ts';

describe('createApp', () => {
  it('refuses a route that does not say who may call it (deny by default)', async () => {
    const app = createApp({
      service: 'test',
      logger: createLogger('test', 'silent'),
      registry: new Registry(),
      timeouts: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_000 },
    });
    expect(() => app.get('/open', async () => 'anyone')).toThrow(/config\.auth must say who may call it/);
    expect(() => app.get('/guarded', { config: { auth: 'admin' } }, async () => 'admin')).not.toThrow();
    await app.close();
  });
});
