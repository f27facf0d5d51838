// Bundles each entry point with its dependencies into dist/, which the runner executes as is.
import commonjs from '@rollup/plugin-commonjs';
import json from '@rollup/plugin-json';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const entry = (name, banner) => ({
  input: `lib/${name}.js`,
  output: { file: `dist/${name}.js`, format: 'es', banner, inlineDynamicImports: true },
  plugins: [nodeResolve({ preferBuiltins: true, exportConditions: ['node'] }), commonjs(), json()],
  onwarn(warning, warn) {
    // @azure and @actions packages use `this` at module scope and have benign cycles.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
});

export default [entry('main'), entry('post'), entry('cache-worker'), entry('cli', '#!/usr/bin/env node')];
