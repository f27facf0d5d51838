import { defineConfig } from 'vitest/config';

// The real-BitBake tier (npm run test:real): needs BitBake and OE-core checkouts, so it is kept out
// of `npm test` and CI. One file, one job at a time: the jobs share Docker and two cores.
export default defineConfig({
  test: {
    include: ['test/real/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 1_800_000,
    reporters: ['default'],
  },
});
