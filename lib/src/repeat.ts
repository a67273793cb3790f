/**
 * Runs `task` now and again `intervalMs` after each run has finished (never two at once, so a
 * slow run delays the next instead of piling up); the returned function stops it.
 */
export function repeatEvery(intervalMs: number, task: () => Promise<unknown>): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () =>
    void task()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
