import type { Logger } from './logger.ts';

export type Closer = () => unknown; // may return a promise, which is awaited

/**
 * Runs the closers in reverse order of registration on SIGTERM/SIGINT (stop taking work first,
 * then release connections), and exits. A second signal, or a hung closer, forces the exit.
 */
export function onShutdown(logger: Logger, closers: Closer[], { graceMs = 10_000 } = {}): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    for (const close of [...closers].reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: error }, 'error while closing');
      }
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Test harnesses and supervisors set this so a process never outlives a SIGKILLed parent.
  if (process.env.EXIT_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void stop('parent exited');
    }, 1_000).unref();
  }
}
