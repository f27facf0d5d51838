#!/usr/bin/env bash
# The README's "run it" command: sets up this machine (Node 24, Docker, the offline builder
# image), serves the BitBake stand-in as the example's poky remote, then builds the bundled
# example project (example/smidr.yaml) twice with the action's pipeline through the local CLI.
# The second build starts in a fresh build directory and reuses the first one's sstate.
# --prepare-only: stop after the remote is served (the example workflow then runs `uses: ./`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

remote=.example/remotes/poky.git
if [[ ! -d "$remote" ]] || [[ -n "$(git -C "$remote" diff --stat HEAD 2>/dev/null)" ]] || \
   [[ "$(find test/fixtures/poky-standin -newer "$remote" -print -quit)" != "" ]]; then
  smidr_log example "serving test/fixtures/poky-standin as $remote"
  rm -rf .example/remotes && mkdir -p .example/remotes
  work=$(mktemp -d)
  cp -a test/fixtures/poky-standin/. "$work/"
  git -C "$work" init -q -b main
  git -C "$work" add -A
  git -C "$work" -c user.name=smidr -c user.email=smidr@example.invalid commit -q -m "poky stand-in"
  git clone -q --bare "$work" "$remote"
  rm -rf "$work"
fi
[[ "${1:-}" == --prepare-only ]] && exit 0

if [[ ! -f dist/cli.js ]]; then smidr_die example "dist/cli.js is missing: run npm run build"; fi
for run in 1 2; do
  smidr_log example "build $run of 2"
  "$NODE24" dist/cli.js build -c example/smidr.yaml
done
