// Exponential backoff with full jitter: spreads reconnect storms when Postgres or Kafka return.
export function exponentialBackoff(baseMs: number, maxMs: number, random: () => number = Math.random) {
  let attempt = 0;
  return {
    next(): number {
      const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
      attempt++;
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    },
    reset(): void {
      attempt = 0;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
