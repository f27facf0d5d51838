#!/usr/bin/env bash
# Why: the action's tests need a builder image with the host tools OpenEmbedded wants
# (python3, git, chrpath, cpio, diffstat, gawk, zstd, lz4, gcc, ..., the en_US.UTF-8 locale),
# and machines here cannot pull images. This builds one offline: debootstrap a minbase
# bookworm rootfs from the configured Debian mirror, generate the locale, `docker import` it,
# then checks it runs as uid 1000 with no network. The rootfs tarball is cached, so
# re-creating the image after `docker system prune` takes seconds. A label records a hash of
# the recipe (suite, packages, locale, steps); changing the recipe rebuilds the image.
# Use: `source scripts/lib/builder-image.sh` (exports SMIDR_BUILDER_IMAGE) or run it directly.
# Env: SMIDR_BUILDER_IMAGE (default smidr-builder:bookworm), SMIDR_CONTAINER_ENGINE (docker|podman),
#      SMIDR_DEBIAN_MIRROR (default: the deb.debian.org-style URI in /etc/apt/sources*),
#      SMIDR_CACHE_DIR (default /var/cache/smidr), SMIDR_BUILDER_VERIFY=1 (also verify when the
#      image already exists), SMIDR_BUILDER_REBUILD=1 (ignore the image and cached tarball).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SMIDR_BUILDER_IMAGE="${SMIDR_BUILDER_IMAGE:-smidr-builder:bookworm}"
export SMIDR_BUILDER_IMAGE
SMIDR_BUILDER_SUITE=bookworm
SMIDR_BUILDER_PACKAGES=(python3 git ca-certificates file locales cpio zstd lz4 diffstat chrpath
  gawk wget xz-utils bzip2 gcc g++ make patch procps sqlite3)
# Bump when the build steps below change in a way that should rebuild the image.
SMIDR_BUILDER_RECIPE_VERSION=1

smidr_builder_hash() {
  printf '%s\n' "v$SMIDR_BUILDER_RECIPE_VERSION" "$SMIDR_BUILDER_SUITE" minbase en_US.UTF-8 \
    uid1000 $(printf '%s\n' "${SMIDR_BUILDER_PACKAGES[@]}" | sort -u) | sha256sum | cut -c1-16
}

# The Debian (not -security) mirror from the apt configuration, deb822 or one-line format.
smidr_debian_mirror() {
  if [[ -n "${SMIDR_DEBIAN_MIRROR:-}" ]]; then echo "$SMIDR_DEBIAN_MIRROR"; return; fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    uri="$(awk -v suite="$SMIDR_BUILDER_SUITE" '
      /^[[:space:]]*#/ { next }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
      /^[[:space:]]*$/ { if (u != "" && s) { print u; exit } u = ""; s = 0 }
      /^deb[[:space:]]/ { o = ($2 ~ /^\[/) ? 1 : 0; if ($(3+o) == suite) { print $(2+o); exit } }
      END { if (u != "" && s) print u }' "$f" | head -n1)"
    if [[ -n "$uri" ]]; then echo "${uri%/}"; return; fi
  done
  echo "http://deb.debian.org/debian"
}

smidr_engine() { echo "${SMIDR_CONTAINER_ENGINE:-docker}"; }

smidr_image_label() {
  "$(smidr_engine)" image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

smidr_verify_builder() {
  local step=builder-image
  smidr_log "$step" "verifying $SMIDR_BUILDER_IMAGE (uid 1000, --network none)"
  "$(smidr_engine)" run --rm --user 1000:1000 --network none "$SMIDR_BUILDER_IMAGE" \
    sh -c 'python3 --version && git --version && zstd --version && locale -a | grep -i en_US.utf8' >&2 \
    || smidr_die "$step" "verification of $SMIDR_BUILDER_IMAGE failed; rebuild with SMIDR_BUILDER_REBUILD=1"
}

# Builds the rootfs tarball into $1 (atomically). Runs in a subshell for its own traps.
smidr_build_rootfs_tar() (
  set -euo pipefail
  local step=builder-image out="$1" mirror tmp
  command -v debootstrap >/dev/null 2>&1 || smidr_apt_install "$step" debootstrap
  mirror="$(smidr_debian_mirror)"
  tmp="$(mktemp -d /var/tmp/smidr-builder.XXXXXX)"
  # debootstrap may leave proc/sys mounted if interrupted: unmount before removing.
  trap 'umount -l "$tmp/rootfs/proc" "$tmp/rootfs/sys" 2>/dev/null || true; rm -rf --one-file-system "$tmp"' EXIT
  local pkgs
  pkgs="$(IFS=,; echo "${SMIDR_BUILDER_PACKAGES[*]}")"
  smidr_log "$step" "debootstrap --variant=minbase $SMIDR_BUILDER_SUITE from $mirror (log: $tmp/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$pkgs" "$SMIDR_BUILDER_SUITE" "$tmp/rootfs" "$mirror" \
      >"$tmp/debootstrap.log" 2>&1; then
    tail -n 30 "$tmp/debootstrap.log" >&2
    tail -n 30 "$tmp/rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    smidr_die "$step" "debootstrap failed (mirror $mirror); set SMIDR_DEBIAN_MIRROR to a reachable Debian mirror"
  fi
  smidr_log "$step" "generating en_US.UTF-8, adding user builder (1000:1000), cleaning apt state"
  local r="$tmp/rootfs"
  sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$r/etc/locale.gen"
  grep -q '^en_US.UTF-8 UTF-8' "$r/etc/locale.gen" || echo 'en_US.UTF-8 UTF-8' >>"$r/etc/locale.gen"
  chroot "$r" locale-gen >/dev/null
  echo 'LANG=en_US.UTF-8' >"$r/etc/default/locale"
  chroot "$r" groupadd -g 1000 builder
  chroot "$r" useradd -m -u 1000 -g 1000 -s /bin/bash builder
  chroot "$r" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/log/*.log "$r"/var/log/apt/* \
    "$r"/tmp/* "$r"/var/tmp/* "$r"/debootstrap
  : >"$r/etc/resolv.conf"; : >"$r/etc/hostname"
  mkdir -p "$(dirname "$out")"
  smidr_log "$step" "writing rootfs tarball $out"
  tar --numeric-owner --xattrs -C "$r" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    -cf "$out.tmp" .
  mv -f "$out.tmp" "$out"
)

smidr_ensure_builder_image() {
  local step=builder-image engine hash cache tar
  engine="$(smidr_engine)"
  hash="$(smidr_builder_hash)"
  cache="${SMIDR_CACHE_DIR:-/var/cache/smidr}"
  tar="$cache/builder-$SMIDR_BUILDER_SUITE.tar"

  if [[ "${SMIDR_BUILDER_REBUILD:-}" != 1 && "$(smidr_image_label "$SMIDR_BUILDER_IMAGE" org.smidr.builder.recipe)" == "$hash" ]]; then
    smidr_log "$step" "$SMIDR_BUILDER_IMAGE is up to date (recipe $hash)"
    [[ "${SMIDR_BUILDER_VERIFY:-}" == 1 ]] && smidr_verify_builder
    return 0
  fi

  if [[ "${SMIDR_BUILDER_REBUILD:-}" != 1 && -s "$tar" && "$(cat "$tar.recipe" 2>/dev/null)" == "$hash" ]]; then
    smidr_log "$step" "re-importing $SMIDR_BUILDER_IMAGE from cached rootfs $tar"
  else
    smidr_need_root "$step" "image $SMIDR_BUILDER_IMAGE (recipe $hash) needs building (debootstrap)" \
      "Rerun as root: sudo $SMIDR_REPO_ROOT/scripts/lib/builder-image.sh"
    mkdir -p "$cache"
    # One builder at a time (setup.sh run twice in parallel, say).
    exec {lockfd}>"$cache/.builder.lock"
    flock "$lockfd"
    if [[ "${SMIDR_BUILDER_REBUILD:-}" == 1 || ! -s "$tar" || "$(cat "$tar.recipe" 2>/dev/null)" != "$hash" ]]; then
      rm -f "$tar.recipe"
      smidr_build_rootfs_tar "$tar"
      echo "$hash" >"$tar.recipe"
    fi
    exec {lockfd}>&-
  fi

  smidr_log "$step" "importing $tar as $SMIDR_BUILDER_IMAGE"
  "$engine" import \
    --change 'ENV LANG=en_US.UTF-8' \
    --change 'ENV LC_ALL=en_US.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.smidr.builder=1' \
    --change "LABEL org.smidr.builder.recipe=$hash" \
    --change "LABEL org.smidr.builder.packages=$(IFS=,; echo "${SMIDR_BUILDER_PACKAGES[*]}")" \
    --change 'CMD ["/bin/bash"]' \
    - "$SMIDR_BUILDER_IMAGE" <"$tar" >/dev/null
  smidr_verify_builder
  smidr_log "$step" "$SMIDR_BUILDER_IMAGE ready ($("$engine" image inspect --format '{{.Id}}' "$SMIDR_BUILDER_IMAGE" | cut -c1-19))"
}

smidr_ensure_builder_image
