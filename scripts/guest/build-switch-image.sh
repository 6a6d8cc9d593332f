#!/usr/bin/env bash
# Build the "switch guest" initramfs: the test guest's busybox initramfs
# (build-initramfs.sh) plus everything rvswitch needs to run inside a QEMU
# guest on PCI NICs bound to vfio-pci, all taken from this host's installed
# Debian packages (no binary is committed). See scripts/guest/README.md.
#
# Usage: build-switch-image.sh [OUTDIR]
#   OUTDIR defaults to ${RVSWITCH_GUEST_DIR:-/var/tmp/rvswitch-guest}.
#
# Environment:
#   RVSWITCH_BIN   directory holding the release vswitchd and vsctl
#                  (default ${CARGO_TARGET_DIR:-target}/release, relative to
#                  the checkout)
#   RVSWITCH_GUEST_KERNEL, RVSWITCH_BUSYBOX: as for build-initramfs.sh
#
# Output (stdout, eval-able):
#   RV_GUEST_KERNEL=/boot/vmlinuz-...
#   RV_SWITCH_INITRAMFS=OUTDIR/switch-initramfs.cpio.gz
#
# The archive is the base archive followed by a second gzip'd cpio archive
# (the kernel unpacks concatenated archives in order) holding:
#   /usr/bin/vswitchd, /usr/bin/vsctl   (debug info stripped from the copies)
#   /usr/bin/bash, /usr/bin/kmod (+ /usr/sbin/modprobe, modinfo, lsmod), /usr/bin/env
#   /usr/local/sbin/setup-host.sh       (scripts/host/setup-host.sh, run with bash)
#   every shared library these and DPDK's PMD plugins need (ldd), under
#   their canonical /usr/lib/x86_64-linux-gnu paths, and /lib64's loader;
#   DPDK's plugin directory /usr/lib/x86_64-linux-gnu/dpdk/pmds-* with
#   Debian's symlinks kept (the binary links some PMDs directly; copies of
#   the same library panic with "tailq is already registered")
#   /lib/modules/<kver>/ with vfio, vfio_iommu_type1, vfio-pci-core,
#   vfio-pci (and their modules.dep dependencies), uio, uio_pci_generic and
#   tun, indexed by depmod so modprobe (kmod) resolves dependencies and
#   softdeps as on a real host
#   /var/run -> /run, /var/lib, /var/log
# init's `rv.dpdk=1` role does the rest at boot (root 0755, PATH, tun).
#
# Cached like build-initramfs.sh: rebuilt only when the base archive, the
# binaries, setup-host.sh, this script or the installed DPDK plugins change.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUTDIR=${1:-${RVSWITCH_GUEST_DIR:-/var/tmp/rvswitch-guest}}
BIN=${RVSWITCH_BIN:-${CARGO_TARGET_DIR:-target}/release}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
SETUP_HOST=$ROOT/scripts/host/setup-host.sh
MULTIARCH=x86_64-linux-gnu
LIBDIR=/usr/lib/$MULTIARCH
# Kernel modules the switch guest needs (dependencies come from modules.dep).
KMODS=(vfio vfio_iommu_type1 vfio-pci-core vfio-pci uio uio_pci_generic tun)

die() { echo "build-switch-image: $*" >&2; exit 1; }

for b in vswitchd vsctl; do
  [ -x "$BIN/$b" ] || die "$BIN/$b not found: cargo build --release -p vswitchd -p ctl (or set RVSWITCH_BIN)"
done
[ -f "$SETUP_HOST" ] || die "no $SETUP_HOST"
PMDDIR=$(printf '%s\n' "$LIBDIR"/dpdk/pmds-* | sort -V | tail -n 1)
[ -d "$PMDDIR" ] || die "no DPDK plugin directory $LIBDIR/dpdk/pmds-* (apt-get install dpdk)"
for t in bash kmod depmod ldd strip cpio gzip; do
  command -v "$t" >/dev/null || die "$t not installed"
done

# the base image (prints RV_GUEST_KERNEL and RV_GUEST_INITRAMFS)
eval "$("$HERE/build-initramfs.sh" "$OUTDIR")"
KVER=${RV_GUEST_KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER

key_of() {
  {
    cat "$OUTDIR/initramfs.key"
    sha256sum "$BIN/vswitchd" "$BIN/vsctl" "$SETUP_HOST" "${BASH_SOURCE[0]}" | cut -d' ' -f1
    # the installed plugins and libraries: names, sizes, times
    stat -L -c '%n %s %Y' "$PMDDIR"/* "$(command -v bash)" "$(command -v kmod)"
  } | sha256sum | cut -d' ' -f1
}
KEY=$(key_of)
OUT="$OUTDIR/switch-initramfs.cpio.gz"

exec 8>"$OUTDIR/.switch-build.lock"
flock 8

if [ -f "$OUT" ] && [ "$(cat "$OUTDIR/switch-initramfs.key" 2>/dev/null)" = "$KEY" ]; then
  echo "build-switch-image: up to date ($OUT)" >&2
else
  echo "build-switch-image: building $OUT (binaries from $BIN)" >&2
  STAGE=$(mktemp -d "$OUTDIR/.switch-stage.XXXXXX")
  trap 'rm -rf "$STAGE"' EXIT
  R=$STAGE/root
  mkdir -p "$R"/usr/bin "$R"/usr/sbin "$R"/usr/local/sbin "$R"/var/lib "$R"/var/log "$R"/var/tmp "$R$LIBDIR"

  declare -A PACKED=()
  ELF=()

  # canon PATH: the path with its directory resolved on this host (merged
  # /usr: /lib/x86_64-linux-gnu/x -> /usr/lib/x86_64-linux-gnu/x), so that
  # the image holds each library once, under one directory.
  declare -A DIRS=() SEEN=()
  canon() {
    local dir=${1%/*} d
    [ -n "$dir" ] || dir=/
    d=${DIRS[$dir]:-}
    if [ -z "$d" ]; then
      d=$(readlink -f "$dir") || return 1
      DIRS[$dir]=$d
    fi
    CANON=${d%/}/${1##*/}
  }

  # pack PATH: copy PATH into the image at its canonical place; a symlink
  # stays a symlink (its target packed too, and rewritten to the canonical
  # absolute path when the verbatim one would not resolve to it there).
  pack() {
    local p c t tc
    [ -z "${SEEN[$1]:-}" ] || return 0
    SEEN[$1]=1
    canon "$1" || die "cannot resolve $1"
    c=$CANON
    [ -z "${PACKED[$c]:-}" ] || return 0
    PACKED[$c]=1
    mkdir -p "$R${c%/*}"
    if [ -L "$c" ]; then
      t=$(readlink "$c")
      case $t in /*) p=$t ;; *) p=${c%/*}/$t ;; esac
      canon "$p" || die "dangling symlink $c -> $t"
      tc=$CANON
      [ -e "$tc" ] || die "dangling symlink $c -> $t"
      # keep a relative target when it resolves to the same place in the image
      if [ "${t#/}" = "$t" ] && [ "${t%/*}" = "$t" ]; then
        ln -s "$t" "$R$c"
      else
        ln -s "$tc" "$R$c"
      fi
      pack "$tc"
    elif [ -f "$c" ]; then
      cp "$c" "$R$c"
      if [ "$(head -c 4 "$c" | tr -d '\177')" = ELF ]; then ELF+=("$c"); fi
    else
      die "$c is not a file"
    fi
  }

  # binaries: rvswitch's (debug info stripped: the image stays small)
  strip --strip-debug -o "$R/usr/bin/vswitchd" "$BIN/vswitchd"
  strip --strip-debug -o "$R/usr/bin/vsctl" "$BIN/vsctl"
  ELF+=("$BIN/vswitchd" "$BIN/vsctl")
  # bash runs setup-host.sh exactly as on a host; kmod's modprobe honours
  # modules.softdep (vfio -> vfio_iommu_type1) as on a host
  pack "$(command -v bash)"
  pack "$(command -v kmod)"
  for t in modprobe modinfo lsmod; do ln -sf ../bin/kmod "$R/usr/sbin/$t"; done
  ln -sf /bin/busybox "$R/usr/bin/env" # #!/usr/bin/env bash
  install -m 755 "$SETUP_HOST" "$R/usr/local/sbin/setup-host.sh"

  # DPDK's plugin directory, as installed (symlinks kept)
  for f in "$PMDDIR"/*; do pack "$f"; done
  # the ELF interpreter, at the path every binary names (PT_INTERP)
  pack /lib64/ld-linux-x86-64.so.2
  mkdir -p "$R/lib64"
  ln -sf "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$R/lib64/ld-linux-x86-64.so.2"

  # shared libraries of every ELF packed (ldd lists transitive needs)
  i=0
  while [ $i -lt ${#ELF[@]} ]; do
    f=${ELF[$i]}
    i=$((i + 1))
    deps=$(ldd "$f" 2>&1) || die "ldd $f failed: $deps"
    if grep -q 'not found' <<<"$deps"; then
      die "$f needs libraries that are not installed: $(grep 'not found' <<<"$deps" | tr -s ' \t' ' ')"
    fi
    while read -r lib; do
      pack "$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$deps")
  done
  [ -e "$R$LIBDIR/libgcc_s.so.1" ] || pack "$LIBDIR/libgcc_s.so.1" # pthread_cancel/unwinding

  # kernel modules, as a real module tree, indexed by depmod
  declare -A MODS=()
  modrel() { # module name -> path relative to MODDIR (first match)
    awk -F: -v m="$1" '{
      f = $1; sub(/.*\//, "", f); sub(/\.ko(\.(xz|zst|gz))?$/, "", f);
      gsub(/-/, "_", f); n = m; gsub(/-/, "_", n);
      if (f == n) { print $1; exit }
    }' "$MODDIR/modules.dep"
  }
  for m in "${KMODS[@]}"; do
    rel=$(modrel "$m")
    [ -n "$rel" ] || die "module $m not in $MODDIR/modules.dep"
    MODS[$rel]=1
    while read -r dep; do
      MODS[$dep]=1
    done < <(awk -F: -v r="$rel" '$1 == r { n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i]; exit }' "$MODDIR/modules.dep")
  done
  for rel in "${!MODS[@]}"; do
    mkdir -p "$R$MODDIR/$(dirname "$rel")"
    case $rel in
      *.ko) cp "$MODDIR/$rel" "$R$MODDIR/$rel" ;;
      *.ko.xz) xz -dc "$MODDIR/$rel" >"$R$MODDIR/${rel%.xz}" ;;
      *.ko.zst) zstd -qdc "$MODDIR/$rel" >"$R$MODDIR/${rel%.zst}" ;;
      *.ko.gz) gzip -dc "$MODDIR/$rel" >"$R$MODDIR/${rel%.gz}" ;;
    esac
  done
  for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$R$MODDIR/$f"
  done
  depmod -b "$R" "$KVER" 2>/dev/null || depmod -b "$R" "$KVER"

  # what EAL needs from the file system (see shared NOTES): /var/run -> /run
  ln -s /run "$R/var/run"
  mkdir -p "$R/etc"
  {
    echo "vswitchd $(sha256sum "$BIN/vswitchd" | cut -c1-16)"
    echo "vsctl $(sha256sum "$BIN/vsctl" | cut -c1-16)"
    echo "pmds $PMDDIR"
  } >"$R/etc/rv-switch"

  (cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
    gzip -6 >"$STAGE/extra.cpio.gz"
  cat "$RV_GUEST_INITRAMFS" "$STAGE/extra.cpio.gz" >"$STAGE/switch.cpio.gz"
  mv -f "$STAGE/switch.cpio.gz" "$OUT"
  echo "$KEY" >"$OUTDIR/switch-initramfs.key.tmp"
  mv -f "$OUTDIR/switch-initramfs.key.tmp" "$OUTDIR/switch-initramfs.key"
  echo "build-switch-image: wrote $OUT ($(stat -c %s "$OUT") bytes; $(du -sh "$R" | cut -f1) unpacked, ${#PACKED[@]} files and links)" >&2
  rm -rf "$STAGE"
  trap - EXIT
fi

echo "RV_GUEST_KERNEL=$RV_GUEST_KERNEL"
echo "RV_SWITCH_INITRAMFS=$OUT"
