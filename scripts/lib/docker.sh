#!/usr/bin/env bash
# Why: the action runs BitBake inside a container, so tests and local runs need a container
# engine that answers. This ensures one: installs Debian's docker.io when dockerd is missing
# (root only), starts dockerd in the background when it is not running, and waits until
# `docker info` answers. With SMIDR_CONTAINER_ENGINE=podman it ensures podman instead.
# Use: `source scripts/lib/docker.sh` (exports SMIDR_CONTAINER_ENGINE) or run it directly.
# Env: SMIDR_CONTAINER_ENGINE (docker|podman, default docker),
#      SMIDR_DOCKERD_LOG (default /var/log/smidr-dockerd.log), SMIDR_DOCKERD_WAIT (default 60 s).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

smidr_engine_answers() { timeout 20 "$1" info >/dev/null 2>&1; }

smidr_ensure_podman() {
  local step=podman
  if ! command -v podman >/dev/null 2>&1; then
    smidr_apt_install "$step" podman
  fi
  smidr_engine_answers podman || smidr_die "$step" \
    "podman is installed but 'podman info' fails; run 'podman info' to see why."
  smidr_log "$step" "podman $(podman version --format '{{.Client.Version}}' 2>/dev/null) answers"
}

smidr_ensure_docker() {
  local step=docker
  local log="${SMIDR_DOCKERD_LOG:-/var/log/smidr-dockerd.log}" wait="${SMIDR_DOCKERD_WAIT:-60}"

  if command -v docker >/dev/null 2>&1 && smidr_engine_answers docker; then
    smidr_log "$step" "engine answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    return 0
  fi

  # /usr/sbin is often not on a non-root user's PATH: look there too.
  local dockerd
  dockerd="$(PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v dockerd 2>/dev/null || true)"
  if [[ -z "$dockerd" ]] || ! command -v docker >/dev/null 2>&1; then
    smidr_apt_install "$step" docker.io
    dockerd="$(PATH="$PATH:/usr/sbin:/sbin" command -v dockerd)"
  fi

  # dockerd may already be starting (another script, or a slow start): don't start a second one.
  local pid=""
  if [[ -r /var/run/docker.pid ]]; then
    pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || pid=""
  fi
  if [[ -z "$pid" ]]; then
    pid="$(pgrep -x dockerd | head -n1 || true)"
  fi

  if [[ -n "$pid" ]] && ! smidr_is_root && [[ -S /var/run/docker.sock && ! -w /var/run/docker.sock ]]; then
    smidr_die "$step" "dockerd is running but this user ($(id -un)) may not use /var/run/docker.sock." \
      "Add it to the docker group (sudo usermod -aG docker $(id -un), then log in again) or rerun with sudo."
  elif [[ -n "$pid" ]]; then
    smidr_log "$step" "dockerd is running (pid $pid) but not answering yet; waiting"
  else
    if ! smidr_is_root; then
      smidr_die "$step" "the Docker daemon is not running and this is not running as root." \
        "Start it as root (e.g. 'sudo systemctl start docker' or 'sudo dockerd &'), or rerun with sudo." \
        "If it is running, make sure you may use /var/run/docker.sock (docker group)."
    fi
    mkdir -p "$(dirname "$log")"
    smidr_log "$step" "starting dockerd in the background (log: $log)"
    # setsid + nohup: dockerd outlives this shell and the calling script. It must not inherit the
    # caller's other open files: a lock the caller holds (flock around a test run) would otherwise
    # stay held for as long as dockerd runs.
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd="${fd##*/}"
        if ((fd > 2)); then eval "exec $fd>&-"; fi
      done
      exec setsid nohup "$dockerd" >>"$log" 2>&1 </dev/null
    ) &
    pid=$!
  fi

  local i
  for ((i = 0; i < wait; i++)); do
    if smidr_engine_answers docker; then
      smidr_log "$step" "engine answers after ${i}s (server $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}'))"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && ! pgrep -x dockerd >/dev/null; then
      tail -n 20 "$log" >&2 || true
      smidr_die "$step" "dockerd exited; see $log"
    fi
    sleep 1
  done
  tail -n 20 "$log" >&2 || true
  smidr_die "$step" "'docker info' did not answer within ${wait}s; see $log"
}

smidr_ensure_engine() {
  SMIDR_CONTAINER_ENGINE="${SMIDR_CONTAINER_ENGINE:-docker}"
  export SMIDR_CONTAINER_ENGINE
  case "$SMIDR_CONTAINER_ENGINE" in
    docker) smidr_ensure_docker ;;
    podman) smidr_ensure_podman ;;
    *) smidr_die engine "SMIDR_CONTAINER_ENGINE must be docker or podman, not '$SMIDR_CONTAINER_ENGINE'" ;;
  esac
}

smidr_ensure_engine
