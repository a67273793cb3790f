import { destination as pinoDestination, pino, type Logger, type LoggerOptions } from 'pino';

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

/**
 * Lines are buffered (LOG_BUFFER_BYTES, default 4096; 0 writes each line synchronously): under
 * load, one write syscall per line was over a tenth of a busy service's CPU. The buffer is
 * flushed every LOG_FLUSH_MS (200) so a tailed log stays live, and on exit (pino registers that);
 * a SIGKILL loses at most the last buffer.
 */
function destination() {
  const minLength = Number(process.env.LOG_BUFFER_BYTES ?? 4096);
  if (!(minLength > 0)) return pinoDestination({ dest: 1, sync: true });
  const stream = pinoDestination({ dest: 1, sync: false, minLength: Math.min(minLength, 65_536) });
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // not ready yet (still opening) or already closed: the next tick or exit flushes
    }
  }, Number(process.env.LOG_FLUSH_MS ?? 200)).unref();
  return stream;
}

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      ...options,
    },
    destination(),
  );
}

/** A child logger whose every line carries the order id as correlation id. */
export function forOrder(logger: Logger, correlationId: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ correlationId, ...bindings });
}
