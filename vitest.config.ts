import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.{unit,int,e2e}.spec.ts'],
    exclude: ['**/node_modules/**', '.state/**'],
    // Integration tests share one Postgres, Kafka and Redis and some stop them on purpose:
    // files run one after another; tests inside a file may still run concurrently.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    sequence: { hooks: 'stack' },
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
