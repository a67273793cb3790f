import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

// Secrets never reach the logs, whatever object a log call is handed.
const REDACT = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'authorization',
  'paymentToken',
  '*.paymentToken',
  'payload.paymentToken',
  'body.paymentToken',
  'adminToken',
  'password',
];

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...options,
  });
}

/** A child logger whose every line carries the order id as correlation id. */
export function forOrder(logger: Logger, correlationId: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ correlationId, ...bindings });
}
