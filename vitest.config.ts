import { defineConfig } from 'vitest/config';

// Two tiers. `unit` needs neither Docker nor Python and runs its files in parallel; `e2e` runs
// dist/ against a real Docker engine and the BitBake stand-in, one file at a time, as its files
// share one engine and two cores. The real-BitBake tier has its own config (vitest.real.config.ts).
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          // The loopback cache service's own tests (Azurite round trips, ~40 s) belong to the harness
          // the end-to-end files use, not to the unit tier.
          include: ['test/cache-service/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
