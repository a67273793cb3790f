// Temporary: health endpoints only, until the relay itself lands.
import { createApp } from '@shop/lib/http/app';
import { createRegistry } from '@shop/lib/http/metrics';
import { createLogger } from '@shop/lib/logger';

const logger = createLogger('outbox-relay');
const app = createApp({ service: 'outbox-relay', logger, registry: createRegistry('outbox-relay') });
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3005) });
