#!/usr/bin/env bash
# The test command (the README's, and what .ci/run calls). Sets up everything the tests need on a
# fresh machine, then runs the tiers in order, cheapest first, so a mistake fails fast:
#   1. lint (eslint + prettier), type check, rebuild dist/ (in CI it must equal the committed one);
#   2. the unit tier (no Docker, no Python; files in parallel);
#   3. Docker engine and offline builder image, then the end-to-end tier (dist/ as the runner
#      runs it, one file at a time).
# Usage: scripts/test.sh            every tier
#        scripts/test.sh unit       steps 1-2 (the CI workflow's first job)
#        scripts/test.sh e2e        step 3 (its second job)
#        scripts/test.sh <vitest arguments...>   set-up and dist/, then vitest with them
#                                   (a test file to run alone, or --config vitest.real.config.ts)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tier=all
case "${1:-}" in
  unit | e2e) tier="$1"; shift ;;
  "") ;;
  *) tier=args ;;
esac

# The container engine and image are set up only when a tier needs them.
[[ "$tier" == unit ]] && export SMIDR_SKIP_CONTAINER=1
[[ "$tier" == all ]] && export SMIDR_SKIP_CONTAINER=1
source scripts/setup.sh
vitest() { "$NODE24" node_modules/vitest/vitest.mjs run "$@"; }

if [[ "$tier" == all || "$tier" == unit ]]; then
  smidr_log test "lint (eslint, prettier)"
  "$NODE24" node_modules/eslint/bin/eslint.js --max-warnings 0 .
  "$NODE24" node_modules/prettier/bin/prettier.cjs --check --log-level warn .
  smidr_log test "type check"
  "$NODE24" node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
fi

smidr_log test "build dist/"
"$NODE24" node_modules/typescript/bin/tsc -p tsconfig.build.json
"$NODE24" node_modules/rollup/dist/bin/rollup -c rollup.config.js --silent
if [[ -d .git ]] && [[ -n "$(git status --porcelain dist)" ]]; then
  # CI tests a clean clone: there, a dist/ that differs from the source is an error.
  if [[ "${CI:-}" == true ]]; then smidr_die test "dist/ differs from what the source builds: run 'npm run build' and commit dist/"; fi
  smidr_log test "note: dist/ was rebuilt and differs from the committed one; commit it"
fi

case "$tier" in
  args)
    smidr_log test "vitest $* on node $("$NODE24" --version)"
    exec "$NODE24" node_modules/vitest/vitest.mjs run "$@"
    ;;
  unit)
    smidr_log test "unit tier on node $("$NODE24" --version)"
    vitest --project unit
    ;;
  e2e | all)
    if [[ "$tier" == all ]]; then
      smidr_log test "unit tier on node $("$NODE24" --version)"
      vitest --project unit
      unset SMIDR_SKIP_CONTAINER
      SMIDR_SKIP_NPM=1 source scripts/setup.sh
    fi
    smidr_log test "end-to-end tier"
    vitest --project e2e
    ;;
esac
