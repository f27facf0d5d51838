#!/usr/bin/env bash
# Shared helpers for the scripts/ setup scripts: logging, error exits, repo root and
# root checks, so every step prints the same "[step] message" lines.
# Sourced by scripts/lib/*.sh; sourcing turns on strict mode (set -euo pipefail).
set -euo pipefail

if [[ -z "${SMIDR_COMMON_SH_LOADED:-}" ]]; then
  SMIDR_COMMON_SH_LOADED=1
  SMIDR_REPO_ROOT="${SMIDR_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
  export SMIDR_REPO_ROOT

  # smidr_log <step> <message...>
  smidr_log() { local step="$1"; shift; printf '[%s] %s\n' "$step" "$*" >&2; }
  # smidr_die <step> <message...>: print an error and fail (return 1 under set -e)
  smidr_die() { local step="$1"; shift; printf '[%s] ERROR: %s\n' "$step" "$*" >&2; return 1; }
  smidr_is_root() { [[ "$(id -u)" -eq 0 ]]; }
  # smidr_need_root <step> <what is missing> <what to do>
  smidr_need_root() {
    smidr_is_root && return 0
    smidr_die "$1" "$2 and this is not running as root. $3"
  }
  # smidr_apt_install <step> <pkg...>: apt-get install as root, non-interactive
  smidr_apt_install() {
    local step="$1"; shift
    smidr_need_root "$step" "package(s) $* are missing" \
      "Run as root: apt-get update && apt-get install -y $*  (or rerun this script with sudo)"
    smidr_log "$step" "apt-get install -y $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >&2
  }
fi
