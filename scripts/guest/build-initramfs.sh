#!/usr/bin/env bash
# Build the rvswitch test guest's initramfs from packages already installed on
# this host: busybox-static (/bin/busybox) and the modules of the Debian
# linux-image-cloud-amd64 kernel. See scripts/guest/README.md.
#
# Usage: build-initramfs.sh [OUTDIR]
#   OUTDIR defaults to ${RVSWITCH_GUEST_DIR:-/var/tmp/rvswitch-guest}.
#
# Environment:
#   RVSWITCH_GUEST_KERNEL  kernel image to use (default: newest
#                          /boot/vmlinuz-*-cloud-amd64, else newest vmlinuz-*)
#   RVSWITCH_BUSYBOX       static busybox binary (default: /bin/busybox)
#
# Output (stdout, two lines, eval-able):
#   RV_GUEST_KERNEL=/boot/vmlinuz-...
#   RV_GUEST_INITRAMFS=OUTDIR/initramfs.cpio.gz
# Progress goes to stderr.
#
# The result is cached: it is rebuilt only when the kernel version, the init
# script, this script or the busybox binary change (the key is stored next to
# the archive). Concurrent callers are serialized with flock, and the archive is
# replaced atomically, so tests may call this in parallel.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTDIR=${1:-${RVSWITCH_GUEST_DIR:-/var/tmp/rvswitch-guest}}
BUSYBOX=${RVSWITCH_BUSYBOX:-/bin/busybox}
INIT="$HERE/init"

# Modules, in load order (dependencies first). insmod does not resolve
# dependencies, so the order matters. dummy gives init a lowest-priority
# fallback route (see init: rv.fallback_route).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  failover net_failover virtio_net llc stp garp mrp 8021q tls bonding dummy)

die() { echo "build-initramfs: $*" >&2; exit 1; }

# --- kernel -----------------------------------------------------------------
if [ -n "${RVSWITCH_GUEST_KERNEL:-}" ]; then
  KERNEL=$RVSWITCH_GUEST_KERNEL
else
  KERNEL=$(printf '%s\n' /boot/vmlinuz-*-cloud-amd64 | grep -v '\*' | sort -V | tail -n 1 || true)
  [ -n "$KERNEL" ] || KERNEL=$(printf '%s\n' /boot/vmlinuz-* | grep -v '\*' | sort -V | tail -n 1 || true)
fi
[ -n "$KERNEL" ] && [ -f "$KERNEL" ] || die "no kernel image found (install linux-image-cloud-amd64 or set RVSWITCH_GUEST_KERNEL)"
[ -r "$KERNEL" ] || die "kernel image $KERNEL is not readable"
KVER=${KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -d "$MODDIR" ] || die "no module directory $MODDIR for kernel $KERNEL"
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing (run depmod $KVER)"
[ -x "$BUSYBOX" ] || die "no busybox at $BUSYBOX (install busybox-static)"
[ -f "$INIT" ] || die "no init script at $INIT"
command -v cpio >/dev/null || die "cpio not installed"

# --- cache key ----------------------------------------------------------------
key_of() {
  {
    echo "kver=$KVER"
    sha256sum "$INIT" "${BASH_SOURCE[0]}" "$BUSYBOX" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}
KEY=$(key_of)
OUT="$OUTDIR/initramfs.cpio.gz"

mkdir -p "$OUTDIR"
exec 9>"$OUTDIR/.build.lock"
flock 9

if [ -f "$OUT" ] && [ "$(cat "$OUTDIR/initramfs.key" 2>/dev/null)" = "$KEY" ]; then
  echo "build-initramfs: up to date ($OUT, kernel $KVER)" >&2
else
  echo "build-initramfs: building $OUT for kernel $KVER" >&2
  STAGE=$(mktemp -d "$OUTDIR/.stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  R="$STAGE/root"
  mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,lib/modules/rv}

  # busybox and its applets (all under /bin; /sbin stays for compatibility)
  cp "$BUSYBOX" "$R/bin/busybox"
  chmod 755 "$R/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$R/bin/$applet"
  done

  # modules: resolve the file through modules.dep, decompress if needed
  for m in "${MODULES[@]}"; do
    rel=$(awk -F: -v m="$m" '{
            f = $1; sub(/.*\//, "", f); sub(/\.ko(\.(xz|zst|gz))?$/, "", f);
            gsub(/-/, "_", f);
            if (f == m) { print $1; exit }
          }' "$MODDIR/modules.dep")
    if [ -z "$rel" ]; then
      # built into the kernel? then there is nothing to load
      if grep -qE "/$m\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then
        echo "build-initramfs: $m is built in" >&2
        continue
      fi
      die "module $m not found in $MODDIR/modules.dep"
    fi
    src="$MODDIR/$rel"
    dst="$R/lib/modules/rv/$m.ko"
    case "$src" in
      *.ko) cp "$src" "$dst" ;;
      *.ko.xz) xz -dc "$src" >"$dst" ;;
      *.ko.zst) zstd -qdc "$src" >"$dst" ;;
      *.ko.gz) gzip -dc "$src" >"$dst" ;;
      *) die "unknown module format: $src" ;;
    esac
    echo "$m" >>"$R/etc/rv-modules"
  done

  # init, and a console node in case devtmpfs is not mounted yet when the
  # kernel opens the initial console (needs root; init copes without it)
  install -m 755 "$INIT" "$R/init"
  mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
  echo "$KVER" >"$R/etc/rv-kernel"

  (cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    | gzip -1 >"$STAGE/initramfs.cpio.gz"
  mv -f "$STAGE/initramfs.cpio.gz" "$OUT"
  echo "$KEY" >"$OUTDIR/initramfs.key.tmp"
  mv -f "$OUTDIR/initramfs.key.tmp" "$OUTDIR/initramfs.key"
  rm -rf "$STAGE"
  trap - EXIT
  echo "build-initramfs: wrote $OUT ($(stat -c %s "$OUT") bytes)" >&2
fi

echo "RV_GUEST_KERNEL=$KERNEL"
echo "RV_GUEST_INITRAMFS=$OUT"
