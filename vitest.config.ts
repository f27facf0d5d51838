import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-BitBake tier needs checkouts CI does not have: `npm run test:real`.
    exclude: ['test/real/**', '**/node_modules/**'],
    // End-to-end files share one Docker engine and two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
