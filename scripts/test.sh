#!/usr/bin/env bash
# The test command (the README's, and what .ci/run calls). Sets up everything the tests need on a
# fresh machine (Node 24, npm dependencies, Docker engine, offline builder image), rebuilds
# dist/ from the source, type-checks, then runs every test on Node 24, as GitHub runs node24
# actions. Extra arguments go to vitest (e.g. a test file to run alone).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

smidr_log test "type check"
"$NODE24" node_modules/typescript/bin/tsc --noEmit -p tsconfig.json

smidr_log test "build dist/"
"$NODE24" node_modules/typescript/bin/tsc -p tsconfig.build.json
"$NODE24" node_modules/rollup/dist/bin/rollup -c rollup.config.js --silent
if [[ -d .git ]] && [[ -n "$(git status --porcelain dist)" ]]; then
  # CI tests a clean clone: there, a dist/ that differs from the source is an error.
  if [[ "${CI:-}" == true ]]; then smidr_die test "dist/ differs from what the source builds: run 'npm run build' and commit dist/"; fi
  smidr_log test "note: dist/ was rebuilt and differs from the committed one; commit it"
fi

smidr_log test "vitest on node $("$NODE24" --version)"
exec "$NODE24" node_modules/vitest/vitest.mjs run "$@"
