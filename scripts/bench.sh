#!/usr/bin/env bash
# The benchmark command (the README's). Sets up what the end-to-end tests need (Node 24, npm
# dependencies, Docker engine, offline builder image), builds lib/ and dist/ from the source, then
# runs bench/run.ts on Node 24, which writes its sections of docs/benchmarks.md. Takes about
# 35 minutes at full size on 2 cores; arguments go to bench/run.ts (e.g. `roundtrip --size=300M`).
# Not part of the tests: no timing is asserted anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

smidr_log bench "build lib/ and dist/"
"$NODE24" node_modules/typescript/bin/tsc -p tsconfig.build.json
"$NODE24" node_modules/rollup/dist/bin/rollup -c rollup.config.js --silent

smidr_log bench "benchmarks on node $("$NODE24" --version)"
exec "$NODE24" --experimental-transform-types --disable-warning=ExperimentalWarning \
  --import ./bench/support/ts-resolve.mjs bench/run.ts "$@"
