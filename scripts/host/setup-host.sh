#!/usr/bin/env bash
# Prepare a real host for rvswitch with DPDK's own tools (dpdk-hugepages.py,
# dpdk-devbind.py from the `dpdk` package). See scripts/host/README.md.
#
# Usage: setup-host.sh [--dry-run] COMMAND [ARGS]
#   check                  what is missing: IOMMU, vfio-pci, hugepages, tools
#   status                 hugepages (dpdk-hugepages.py -s) and NIC bindings
#                          (dpdk-devbind.py --status-dev net)
#   hugepages SIZE [PAGESIZE] [NODE]
#                          reserve SIZE (e.g. 4G) of PAGESIZE pages (2M or 1G,
#                          default 2M; 1G pages usually need the kernel
#                          command line), on NUMA node NODE (default: all),
#                          and mount hugetlbfs at /dev/hugepages. Never
#                          lowers an existing reservation.
#   bind [--driver uio_pci_generic] PCI...
#                          load vfio-pci and bind these NICs to it
#                          (dpdk-devbind.py --bind=vfio-pci). Refuses a NIC that
#                          carries the host's default route or an address.
#                          --driver uio_pci_generic: the fallback for a host
#                          without a usable IOMMU (README.md)
#   unbind PCI DRIVER      give a NIC back to its kernel driver (e.g. ixgbe)
#   persist                print what to add to the kernel command line and
#                          /etc/modules-load.d so it survives a reboot
# --dry-run prints the commands instead of running them.
#
# Without python3 (a minimal host, or the switch test guest of
# scripts/guest/build-switch-image.sh), `hugepages`, `bind`, `unbind` and
# `status` do the sysfs steps DPDK's tools do, printed as `+ ...` like every
# command: the nr_hugepages file and a hugetlbfs mount; unbind,
# driver_override, bind, driver_override cleared. Where python3 exists the
# tools are required, as before. Needs bash, and kmod's modprobe (it loads
# vfio_iommu_type1 through vfio's softdep).
set -euo pipefail

DRY=0
if [ "${1:-}" = --dry-run ]; then DRY=1; shift; fi
CMD=${1:-}
[ -n "$CMD" ] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 2; }
shift

die() { echo "setup-host: $*" >&2; exit 1; }
run() {
  echo "+ $*"
  [ $DRY = 1 ] || "$@"
}
need() { command -v "$1" >/dev/null || die "$1 not found: apt-get install $2"; }
root() { [ $DRY = 1 ] || [ "$(id -u)" = 0 ] || die "$CMD needs root"; }

# netdev behind a PCI address, if a kernel driver holds it
netdev_of() {
  local d p
  for d in /sys/class/net/*; do
    p=$(readlink -f "$d/device" 2>/dev/null) || continue
    case $p/ in */"$1"/*) basename "$d"; return 0 ;; esac
  done
  return 0
}
n_iommu_groups() { find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# whether DPDK's Python tool $1 can run here (else: the sysfs fallback)
have_tool() { command -v "$1" >/dev/null && command -v python3 >/dev/null; }
# where Python runs, DPDK's tool is required as before; without Python the
# sysfs fallback is used
need_tool() { command -v python3 >/dev/null || return 0; need "$1" dpdk; }
# write VALUE (and a newline, as echo does) to FILE, echoed like run does
wr() {
  echo "+ echo $1 > $2"
  [ $DRY = 1 ] || printf '%s\n' "$1" >"$2"
}
driver_of() { # PCI: its driver's name, or nothing
  local l
  l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || return 0
  basename "$l"
}
# sysfs_bind DRIVER PCI...: what dpdk-devbind.py --bind does: unbind the
# current driver, driver_override, bind, clear driver_override.
sysfs_bind() {
  local drv=$1 pci cur
  shift
  [ $DRY = 1 ] || [ -d "/sys/bus/pci/drivers/$drv" ] || die "driver $drv is not loaded"
  for pci in "$@"; do
    cur=$(driver_of "$pci")
    if [ "$cur" = "$drv" ]; then
      echo "Notice: $pci already bound to driver $drv, skipping"
      continue
    fi
    [ -z "$cur" ] || wr "$pci" "/sys/bus/pci/devices/$pci/driver/unbind"
    wr "$drv" "/sys/bus/pci/devices/$pci/driver_override"
    wr "$pci" "/sys/bus/pci/drivers/$drv/bind"
    # like dpdk-devbind.py: the override is cleared again, so a re-plugged
    # device is not grabbed by it
    wr "" "/sys/bus/pci/devices/$pci/driver_override"
    [ $DRY = 1 ] || [ "$(driver_of "$pci")" = "$drv" ] || die "$pci did not bind to $drv"
  done
}
# sysfs_status: what dpdk-devbind.py --status-dev net shows: network-class
# PCI devices with their driver and netdev.
sysfs_status() {
  local d pci cls drv
  echo "Network devices (PCI class 02), from sysfs:"
  for d in /sys/bus/pci/devices/*; do
    pci=${d##*/}
    cls=$(cat "$d/class" 2>/dev/null) || continue
    case $cls in 0x02*) ;; *) continue ;; esac
    drv=$(driver_of "$pci")
    echo "$pci '$(cat "$d/vendor"):$(cat "$d/device")' drv=${drv:-none} if=$(netdev_of "$pci")"
  done
}
# hugepage status like dpdk-hugepages.py -s
sysfs_huge_status() {
  local f
  for f in /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages; do
    echo "$(basename "$(dirname "$f")"): $(cat "$f") pages"
  done
  grep ' hugetlbfs ' /proc/mounts || echo "no hugetlbfs mounted"
}

case $CMD in
  check)
    ok=1
    if [ "$(n_iommu_groups)" -gt 0 ]; then
      echo "ok: IOMMU enabled ($(n_iommu_groups) groups)"
    else
      echo "MISSING: IOMMU: enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on iommu=pt"; ok=0
    fi
    if [ -d /sys/bus/pci/drivers/vfio-pci ] || modinfo vfio-pci >/dev/null 2>&1; then
      echo "ok: vfio-pci available"
    else
      echo "MISSING: vfio-pci module"; ok=0
    fi
    total=$(awk '/^HugePages_Total/ { print $2 }' /proc/meminfo)
    size=$(awk '/^Hugepagesize/ { print $2 }' /proc/meminfo)
    echo "hugepages: $total x ${size} kB (default size); 1G pages: $(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo n/a)"
    [ "$total" -gt 0 ] || [ "$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo 0)" -gt 0 ] ||
      { echo "MISSING: hugepages (setup-host.sh hugepages 4G)"; ok=0; }
    for t in dpdk-hugepages.py dpdk-devbind.py; do
      if have_tool $t; then
        echo "ok: $t"
      elif command -v python3 >/dev/null; then
        echo "MISSING: $t (apt-get install dpdk)"; ok=0
      else
        echo "note: $t cannot run (no python3): this script does its sysfs steps itself"
      fi
    done
    if grep -qw pdpe1gb /proc/cpuinfo; then echo "ok: CPU supports 1G pages"; else echo "note: no 1G page support, use 2M pages"; fi
    [ $ok = 1 ]
    ;;
  status)
    if have_tool dpdk-hugepages.py; then dpdk-hugepages.py -s; else sysfs_huge_status; fi
    echo
    if have_tool dpdk-devbind.py; then dpdk-devbind.py --status-dev net; else sysfs_status; fi
    ;;
  hugepages)
    root
    need_tool dpdk-hugepages.py
    want=${1:?SIZE, e.g. 4G}
    psize=${2:-2M}
    node=${3:-}
    case $psize in 2M) kb=2048 ;; 1G) kb=1048576 ;; *) die "page size 2M or 1G" ;; esac
    case $want in
      *G) bytes=$((${want%G} * 1024 * 1024 * 1024)) ;;
      *M) bytes=$((${want%M} * 1024 * 1024)) ;;
      *) die "SIZE like 4G or 512M" ;;
    esac
    have=$(cat "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages" 2>/dev/null || echo 0)
    if [ $((have * kb * 1024)) -ge $bytes ] && [ -z "$node" ]; then
      echo "already $have pages of $psize reserved (>= $want); not lowering it"
    else
      if have_tool dpdk-hugepages.py; then
        args=(--pagesize "$psize" --reserve "$want")
        [ -n "$node" ] && args+=(--node "$node")
        run dpdk-hugepages.py "${args[@]}"
      else
        # what dpdk-hugepages.py --reserve writes (per node when asked)
        pages=$(((bytes + kb * 1024 - 1) / (kb * 1024)))
        if [ -n "$node" ]; then
          wr "$pages" "/sys/devices/system/node/node$node/hugepages/hugepages-${kb}kB/nr_hugepages"
        else
          wr "$pages" "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages"
        fi
        got=$(cat "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages")
        [ $DRY = 1 ] || [ "$got" -ge "$pages" ] || die "only $got of $pages pages of $psize could be reserved"
      fi
    fi
    if ! grep -q ' /dev/hugepages hugetlbfs' /proc/mounts; then
      if have_tool dpdk-hugepages.py; then
        run dpdk-hugepages.py --mount
      else
        run mkdir -p /dev/hugepages
        run mount -t hugetlbfs -o "pagesize=$psize" nodev /dev/hugepages
      fi
    fi
    if [ $DRY = 0 ]; then
      if have_tool dpdk-hugepages.py; then dpdk-hugepages.py -s; else sysfs_huge_status; fi
    fi
    ;;
  bind)
    root
    need_tool dpdk-devbind.py
    bdrv=vfio-pci
    if [ "${1:-}" = --driver ]; then
      bdrv=${2:?--driver vfio-pci or uio_pci_generic}
      shift 2
    fi
    case $bdrv in vfio-pci | uio_pci_generic) ;; *) die "--driver vfio-pci or uio_pci_generic" ;; esac
    [ $# -gt 0 ] || die "bind needs PCI addresses (dpdk-devbind.py --status-dev net)"
    [ "$bdrv" != vfio-pci ] || [ "$(n_iommu_groups)" -gt 0 ] || [ $DRY = 1 ] ||
      die "no IOMMU groups: boot with intel_iommu=on iommu=pt (or amd_iommu=on), or use --driver uio_pci_generic (README.md)"
    for pci in "$@"; do
      [ -e "/sys/bus/pci/devices/$pci" ] || [ $DRY = 1 ] || die "no PCI device $pci"
      dev=$(netdev_of "$pci")
      if [ -n "$dev" ]; then
        if ip -4 route show default | grep -qw "dev $dev"; then
          die "$pci ($dev) carries the host's default route: not taking it away"
        fi
        if [ -n "$(ip -o addr show dev "$dev" scope global 2>/dev/null)" ]; then
          die "$pci ($dev) has an IP address: remove it first if you really mean to hand it to DPDK"
        fi
        run ip link set "$dev" down
      fi
    done
    run modprobe "$bdrv"
    if have_tool dpdk-devbind.py; then
      run dpdk-devbind.py --bind="$bdrv" "$@"
      [ $DRY = 1 ] || dpdk-devbind.py --status-dev net
    else
      sysfs_bind "$bdrv" "$@"
      [ $DRY = 1 ] || sysfs_status
    fi
    echo "now: vsctl add-port BR PORT -- set Interface PORT type=dpdk options:dpdk-devargs=$1"
    ;;
  unbind)
    root
    need_tool dpdk-devbind.py
    pci=${1:?PCI address}
    drv=${2:?kernel driver, e.g. ixgbe, i40e, ice, mlx5_core}
    if have_tool dpdk-devbind.py; then
      run dpdk-devbind.py --bind="$drv" "$pci"
    else
      [ $DRY = 1 ] || [ -d "/sys/bus/pci/drivers/$drv" ] || run modprobe "$drv"
      sysfs_bind "$drv" "$pci"
    fi
    ;;
  persist)
    cat <<'EOT'
# 1. Kernel command line (/etc/default/grub, GRUB_CMDLINE_LINUX), then
#    update-grub && reboot. Example for 16 x 1G pages and PMD cores 4,5:
intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=16 isolcpus=4,5 nohz_full=4,5 rcu_nocbs=4,5
# 2. vfio-pci at boot:
echo vfio-pci > /etc/modules-load.d/vfio-pci.conf
# 3. Bind the NICs at boot (before rvswitch starts), e.g. a oneshot unit with
#    ExecStart=/usr/bin/dpdk-devbind.py --bind=vfio-pci 0000:08:00.0 0000:08:00.1
#    ordered Before=rvswitch.service, or driverctl set-override 0000:08:00.0 vfio-pci
# 4. rvswitch itself: packaging/rvswitch.service (PMD cores in /etc/default/rvswitch)
EOT
    ;;
  *) die "unknown command $CMD (check, status, hugepages, bind, unbind, persist)" ;;
esac
