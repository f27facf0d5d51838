// Lets Node 24 run the benchmarks' TypeScript, and the test support and src/ modules they use,
// without a build step: they import siblings as `./x.js` (NodeNext style, for tsc and the
// bundler) while the file on disk is `./x.ts`. Node strips the types itself; the project's
// enums and parameter properties need `--experimental-transform-types` (scripts/bench.sh).
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (!relative || !specifier.endsWith('.js') || !context.parentURL?.endsWith('.ts')) throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
