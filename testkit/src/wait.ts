// Polling for tests, benches and scripts: they wait on real processes, brokers and databases
// that come up or catch up in their own time.

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined or false,
 * and returns that. A probe that throws counts as "not yet" (the thing may still be starting);
 * its last error is in the timeout's message. `abortIf` ends the wait early (a process died, or
 * the probe keeps failing), naming `abortReason` and the probe's last error.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; abortIf?: () => boolean; abortReason?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    const lastError = last ? `: ${(last as Error).message}` : '';
    if (opts.abortIf?.()) throw new Error(`gave up waiting for ${opts.what ?? 'condition'}: ${opts.abortReason ?? 'process exited'}${lastError}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${lastError}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
