#!/usr/bin/env bash
# Start one rvswitch test guest (QEMU, TCG, 1 vCPU, busybox initramfs).
# See scripts/guest/README.md.
#
# Usage:
#   run-guest.sh --name vm1 [--cmdline "rv.ip=172.16.0.1/24 rv.ping=..."]
#                [--nic vhost:/path/sock[,mac=52:54:00:00:00:01]]...
#                [--nic vhostc:/path/sock[,mac=...]]...
#                [--nic socket:listen=127.0.0.1:PORT[,mac=...]]...
#                [--nic socket:connect=127.0.0.1:PORT[,mac=...]]...
#                [--nic tap:IFNAME[,queues=N]] [--nic none]
#                [--log FILE] [--pidfile FILE] [--daemonize]
#                [--mem MiB] [--smp N] [--kernel-args "..."] [--monitor SOCK]
#                [--qmp SOCK] [--cmd SOCK] [--q35] [--hotplug-file FILE]
#                [--kernel FILE --initrd FILE] [--interactive] [--no-shared-mem]
#                [--print-libvirt-xml] [--dry-run]
#
# NICs appear in the guest as eth0, eth1, ... in the order given. Their netdev
# ids are net0, net1, ... and their device ids nic0, nic1, ... (for the QEMU
# monitor: `set_link nic1 off` drops the guest's carrier on eth1).
#
# vhost NICs: QEMU is the vhost-user SERVER (it creates the socket), exactly as
# libvirt runs <interface type='vhostuser'> with <source mode='server'/>. The
# switch connects as client (and may reconnect). Like under libvirt, QEMU does
# not start the guest until every vhost-user client has connected: start the
# switch first (its client ports retry), or do not use --daemonize (which
# returns only after that point) and run this script in the background.
#
# vhostc NICs: QEMU is the vhost-user CLIENT of a socket the switch serves
# (rvswitch's type=dpdkvhostuser; libvirt's <source mode='client'/>): the
# socket must exist when QEMU starts; QEMU reconnects (reconnect=1) if the
# switch restarts.
#
# --no-shared-mem: plain `-m` guest RAM instead of a shared memfd backend (a
# vhost-user backend cannot use such a guest: to test that it says so).
#
# Without --mac, NIC N gets 52:54:XX:YY:ZZ:0N with XX:YY:ZZ derived from --name.
#
# NIC options (after the backend, comma-separated): mac=M; model=virtio
# (default) or e1000e; queues=N (tap only: a multiqueue TAP and a virtio NIC
# with mq=on). tap:IFNAME lets QEMU create the host TAP IFNAME (no scripts);
# none is a NIC without a backend (link up, nothing on the wire).
#
# --q35: machine q35 with an intel-iommu (for vfio-pci in the guest; boot it
# with --kernel-args "intel_iommu=on iommu=pt"); NIC N sits alone behind
# pcie-root-port rpN, so its guest PCI address is 0000:<N+1 in hex>:00.0
# (stable, also across device_del/device_add on the monitor). virtio NICs get
# iommu_platform=on,disable-legacy=on (without it a virtio NIC under vfio
# hangs the guest). --hotplug-file FILE writes one line per NIC,
# `nicN device_add <properties>`, to re-add a NIC exactly as it was.
# --cmd SOCK: a second serial port (ttyS1) on a Unix socket (QEMU is the
# server) for init's command server (rv.cmd=1; rvguest_cmd in lib.sh).
#
# RV_GUEST_NIC_OPTS: more virtio-net-pci properties for every NIC, such as
# `status=off` (no link status: the guest never sees a vhost-user backend's
# restart as a carrier loss; see tests/e2e/s4-restart.sh).
#
# --daemonize: QEMU forks into the background once its devices are set up
# (listening sockets exist when this script returns); --pidfile gets its pid.
# Without it, this script execs QEMU (so `run-guest.sh ... &` gives QEMU's pid).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QEMU=${RVSWITCH_QEMU:-qemu-system-x86_64}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "run-guest: $*" >&2; exit 2; }

NAME='' CMDLINE='' LOG='' PIDFILE='' DAEMONIZE=0 MEM=256 KARGS='' MONITOR='' QMP=''
KERNEL='' INITRD='' INTERACTIVE=0 PRINT_XML=0 DRY_RUN=0 SMP=1 CMDSOCK='' Q35=0 HOTPLUG_FILE='' SHARED_MEM=1
NICS=()
while [ $# -gt 0 ]; do
  case $1 in
    --name) NAME=${2:?}; shift 2 ;;
    --cmdline) CMDLINE=${2?}; shift 2 ;;
    --nic) NICS+=("${2:?}"); shift 2 ;;
    --log) LOG=${2:?}; shift 2 ;;
    --pidfile) PIDFILE=${2:?}; shift 2 ;;
    --daemonize) DAEMONIZE=1; shift ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --kernel-args) KARGS=${2?}; shift 2 ;;
    --monitor) MONITOR=${2:?}; shift 2 ;;
    --qmp) QMP=${2:?}; shift 2 ;;
    --cmd) CMDSOCK=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --q35) Q35=1; shift ;;
    --hotplug-file) HOTPLUG_FILE=${2:?}; shift 2 ;;
    --kernel) KERNEL=${2:?}; shift 2 ;;
    --initrd) INITRD=${2:?}; shift 2 ;;
    --interactive) INTERACTIVE=1; shift ;;
    --no-shared-mem) SHARED_MEM=0; shift ;;
    --print-libvirt-xml) PRINT_XML=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ -n "$NAME" ] || die "--name is required"
case $NAME in *[!A-Za-z0-9_.-]*) die "--name may only hold letters, digits, '_', '.', '-'" ;; esac
case $MEM in ''|*[!0-9]*) die "--mem takes MiB as an integer" ;; esac
case $SMP in ''|0|*[!0-9]*) die "--smp takes a positive integer" ;; esac
[ -z "$HOTPLUG_FILE" ] || [ $Q35 = 1 ] || die "--hotplug-file needs --q35"
for w in $CMDLINE; do
  case $w in rv.name=*) die "--cmdline must not set rv.name (use --name)" ;; esac
done
[ $INTERACTIVE = 1 ] && [ $DAEMONIZE = 1 ] && die "--interactive and --daemonize exclude each other"
[ -n "$LOG" ] || LOG="${RVSWITCH_GUEST_DIR:-/var/tmp/rvswitch-guest}/$NAME.console.log"

# default MACs: 52:54:<3 bytes of a hash of the name>:<nic index>
hash=$(printf '%s' "$NAME" | cksum | cut -d' ' -f1)
mac_base=$(printf '52:54:%02x:%02x:%02x' $(((hash >> 16) & 255)) $(((hash >> 8) & 255)) $((hash & 255)))

QARGS=()
XML=()
SUMMARY=()
HOTPLUG=()
# the IOMMU goes before any PCI device
[ $Q35 = 1 ] && QARGS+=(-device intel-iommu)
i=0
for spec in "${NICS[@]}"; do
  case $spec in
    none | none,*)
      kind=none main=''
      opts=${spec#none}
      opts=${opts#,}
      ;;
    *)
      kind=${spec%%:*}
      rest=${spec#*:}
      [ "$rest" != "$spec" ] || rest=''
      main=${rest%%,*}
      opts=
      [ "$main" = "$rest" ] || opts=${rest#*,}
      ;;
  esac
  mac=$(printf '%s:%02x' "$mac_base" "$i")
  model=virtio queues=1
  IFS=, read -r -a olist <<<"$opts"
  for o in "${olist[@]}"; do
    case $o in
      mac=*) mac=${o#mac=} ;;
      model=virtio|model=e1000e) model=${o#model=} ;;
      queues=*) queues=${o#queues=} ;;
      '') ;;
      *) die "--nic '$spec': unknown option '$o' (mac=, model=virtio|e1000e, queues=N)" ;;
    esac
  done
  [[ $mac =~ ^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$ ]] || die "--nic '$spec': bad MAC '$mac'"
  (( (16#${mac:0:2} & 1) == 0 )) || die "--nic '$spec': MAC '$mac' is multicast"
  [[ $queues =~ ^[1-8]$ ]] || die "--nic '$spec': queues=1..8"
  [ "$queues" = 1 ] || { [ "$kind" = tap ] && [ "$model" = virtio ]; } || die "--nic '$spec': queues= needs tap: and a virtio NIC"
  netdev=net$i
  case $kind in
    vhost)
      path=$main
      [ -n "$path" ] || die "--nic '$spec': missing socket path"
      case $path in *,*) die "--nic '$spec': socket path must not contain ','" ;; esac
      mkdir -p "$(dirname "$path")"
      QARGS+=(-chardev "socket,id=chr$i,path=$path,server=on,wait=off"
        -netdev "vhost-user,id=net$i,chardev=chr$i")
      XML+=("<interface type='vhostuser'>
  <mac address='$mac'/>
  <source type='unix' path='$path' mode='server'/>
  <model type='virtio'/>
</interface>")
      ;;
    vhostc)
      path=$main
      [ -n "$path" ] || die "--nic '$spec': missing socket path"
      case $path in *,*) die "--nic '$spec': socket path must not contain ','" ;; esac
      QARGS+=(-chardev "socket,id=chr$i,path=$path,reconnect=1"
        -netdev "vhost-user,id=net$i,chardev=chr$i")
      XML+=("<interface type='vhostuser'>
  <mac address='$mac'/>
  <source type='unix' path='$path' mode='client'>
    <reconnect enabled='yes' timeout='1'/>
  </source>
  <model type='virtio'/>
</interface>")
      kind=vhost
      ;;
    socket)
      case $main in
        listen=*:*|connect=*:*) ;;
        *) die "--nic '$spec': expected socket:listen=HOST:PORT or socket:connect=HOST:PORT" ;;
      esac
      QARGS+=(-netdev "socket,id=net$i,$main")
      ;;
    tap)
      [[ $main =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "--nic '$spec': expected tap:IFNAME (at most 15 characters)"
      if [ "$queues" -gt 1 ]; then
        QARGS+=(-netdev "tap,id=net$i,ifname=$main,script=no,downscript=no,vhost=off,queues=$queues")
      else
        QARGS+=(-netdev "tap,id=net$i,ifname=$main,script=no,downscript=no,vhost=off")
      fi
      ;;
    none) netdev='' ;;
    *) die "--nic '$spec': unknown kind '$kind' (vhost, vhostc, socket, tap or none)" ;;
  esac
  dev="id=nic$i${netdev:+,netdev=$netdev},mac=$mac,romfile="
  where=''
  if [ $Q35 = 1 ]; then
    # one root port per NIC: a hot-pluggable slot with a stable bus number
    QARGS+=(-device "pcie-root-port,id=rp$i,bus=pcie.0,chassis=$((i + 1)),slot=$((i + 1)),addr=$(printf '0x%x' $((i + 2)))")
    dev="$dev,bus=rp$i,addr=0"
    where=@$(printf '0000:%02x:00.0' $((i + 1)))
  fi
  case $model in
    virtio)
      dev="virtio-net-pci,$dev,speed=10000,duplex=full"
      [ "$kind" = vhost ] || [ $Q35 = 0 ] || dev="$dev,iommu_platform=on,disable-legacy=on"
      if [ "$queues" -gt 1 ]; then
        dev="$dev,mq=on,vectors=$((2 * queues + 2))"
      elif [ "$kind" = vhost ] || [ $Q35 = 0 ]; then
        dev="$dev,vectors=0"
      fi
      dev="$dev${RV_GUEST_NIC_OPTS:+,$RV_GUEST_NIC_OPTS}"
      ;;
    e1000e) dev="e1000e,$dev" ;;
  esac
  QARGS+=(-device "$dev")
  HOTPLUG+=("nic$i device_add $dev")
  SUMMARY+=("nic$i=$model$where,$mac($spec)")
  i=$((i + 1))
done

if [ $PRINT_XML = 1 ]; then
  [ ${#XML[@]} -gt 0 ] || die "--print-libvirt-xml: no vhost NICs given"
  echo "<!-- libvirt equivalent of the vhost NICs of $NAME. vhost-user also needs"
  echo "     shared guest memory in the <domain>:"
  echo "     <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking> -->"
  printf '%s\n' "${XML[@]}"
  exit 0
fi

if [ -z "$KERNEL" ] || [ -z "$INITRD" ]; then
  [ -z "$KERNEL$INITRD" ] || die "--kernel and --initrd go together"
  eval "$("$HERE/build-initramfs.sh")"
  KERNEL=$RV_GUEST_KERNEL
  INITRD=$RV_GUEST_INITRAMFS
fi

mkdir -p "$(dirname "$LOG")"
APPEND="console=ttyS0,115200 loglevel=4 panic=-1 $KARGS rv.name=$NAME $CMDLINE"

# shellcheck disable=SC2054 # commas belong to QEMU option values
ARGS=(-name "$NAME,process=rvguest-$NAME"
  -nodefaults -no-user-config -display none -vga none
  -accel tcg -cpu max -smp "$SMP"
  -m "${MEM}M"
  -rtc base=utc -no-reboot
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND")
# shellcheck disable=SC2054 # commas belong to QEMU option values
[ $SHARED_MEM = 1 ] && ARGS+=(-object "memory-backend-memfd,id=mem,size=${MEM}M,share=on" -numa node,memdev=mem)
if [ $INTERACTIVE = 1 ]; then
  ARGS+=(-chardev "stdio,id=con0,mux=on,signal=off,logfile=$LOG" -serial chardev:con0 -mon chardev=con0)
else
  ARGS+=(-chardev "file,id=con0,path=$LOG" -serial chardev:con0)
fi
[ $Q35 = 1 ] && ARGS=(-machine q35 "${ARGS[@]}")
[ -n "$CMDSOCK" ] && ARGS+=(-chardev "socket,id=cmd0,path=$CMDSOCK,server=on,wait=off" -serial chardev:cmd0)
[ -n "$MONITOR" ] && ARGS+=(-monitor "unix:$MONITOR,server=on,wait=off")
[ -n "$QMP" ] && ARGS+=(-qmp "unix:$QMP,server=on,wait=off")
[ -n "$PIDFILE" ] && ARGS+=(-pidfile "$PIDFILE")
[ $DAEMONIZE = 1 ] && ARGS+=(-daemonize)
ARGS+=("${QARGS[@]}")

if [ $DRY_RUN = 1 ]; then
  printf '%q ' "$QEMU" "${ARGS[@]}"
  echo
  exit 0
fi

if [ -n "$HOTPLUG_FILE" ]; then
  printf '%s\n' "${HOTPLUG[@]}" >"$HOTPLUG_FILE"
fi
echo "run-guest: $NAME: log=$LOG ${SUMMARY[*]}" >&2
if [ $DAEMONIZE = 1 ]; then
  "$QEMU" "${ARGS[@]}"
else
  exec "$QEMU" "${ARGS[@]}"
fi
