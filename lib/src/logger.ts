import { destination as pinoDestination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, redactSecrets, SECRET_KEYS } from './redact.ts';

export type { Logger };

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
  setInterval(
    () => {
      try {
        stream.flush();
      } catch {
        // not ready yet (still opening) or already closed: the next tick or exit flushes
      }
    },
    Number(process.env.LOG_FLUSH_MS ?? 200),
  ).unref();
  return stream;
}

export function createLogger(
  service: string,
  level = process.env.LOG_LEVEL ?? 'info',
  options: LoggerOptions = {},
  stream: DestinationStream = destination(),
): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // pino's redact only for secrets at the top level (it censors those without re-parsing
      // paths), because child bindings bypass formatters; redactSecrets covers any depth of a
      // log call's object.
      redact: { paths: [...SECRET_KEYS].map((key) => JSON.stringify([key])), censor: REDACTED },
      formatters: { log: redactSecrets },
      ...options,
    },
    stream,
  );
}

/** A child logger whose every line carries the order id as correlation id. */
export function forOrder(logger: Logger, correlationId: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ correlationId, ...bindings });
}
