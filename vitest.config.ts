import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end files share one Docker engine and two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
