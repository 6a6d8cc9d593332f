#!/usr/bin/env bash
# rvswitch demo: the OVS-DPDK how-to "CentOS7 ovs(Open vSwitch)+DPDK" (seed
# 003) rebuilt with rvswitch on this machine, with QEMU guests standing in for
# the physical switch and the VMs:
#
#   "switch"  a guest playing the physical switch's port-channel 1: two NICs
#             bonded by Linux in 802.3ad mode (LACP fast, layer3+4) with
#             VLAN 300 on top and 192.168.30.254 (the how-to's `interface
#             Vlan300`)
#   guest3    the how-to's Guest3, on access port vhuc0 (tag=300),
#             192.168.30.1
#   guest4    a VM on trunk port vhuc1 that tags VLAN 300 itself (eth0.300),
#             192.168.30.2
#
#   switch eth0/eth1 ==LACP== dpdk0/dpdk1 [bond0, trunks 11,300-304]
#                                  ovsbr0
#                       vhuc0 (access 300)   vhuc1 (trunk)
#                            guest3              guest4
#
# It installs what it needs (scripts/install-deps.sh), reserves hugepages,
# builds rvswitch in release mode, starts vswitchd with its PMD pinned to a
# core, runs every vsctl command of the topology (each is echoed), boots the
# guests, shows their pings and the switch's view (show, bond/show,
# lacp/show, fdb/show), prints each VM's NIC as libvirt XML, and cleans up
# everything when it ends or is interrupted.
#
# Usage: sudo scripts/demo.sh [--hold]
#   --hold   keep the switch and the guests running until Ctrl-C (try
#            `vsctl --socket=<shown path> ...` in another terminal)
# Environment: RVSWITCH_BIN (default ${CARGO_TARGET_DIR:-target}/release),
#   DEMO_PMD_MASK (default 0x2), DEMO_LCORE_MASK (default 0x1),
#   DEMO_GUEST_CPUS (QEMU's CPUs, default 0), DEMO_SKIP_DEPS=1, DEMO_SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOLD=0
for a in "$@"; do
  case $a in
    --hold) HOLD=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "demo: run as root" >&2; exit 2; }
  exec sudo -E "$0" "$@"
fi

PMD_MASK=${DEMO_PMD_MASK:-0x2}
LCORE_MASK=${DEMO_LCORE_MASK:-0x1}
GUEST_CPUS=${DEMO_GUEST_CPUS:-0}

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' D='' G='' R='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*"; }
run() { printf '%s$ %s%s\n' "$D" "$*" "$N"; "$@"; }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

WORK=''
SW_PID=''
declare -A GPID=() GLOG=()
cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  [ -n "$WORK" ] || exit $rc
  step "Cleaning up"
  for n in "${!GPID[@]}"; do rvguest_stop "${GPID[$n]}" "$n"; wait "${GPID[$n]}" 2>/dev/null || true; done
  if [ -n "$SW_PID" ] && [ -d "/proc/$SW_PID" ]; then
    say "stopping vswitchd (SIGTERM: it closes its ports, removes its socket and frees its hugepages)"
    kill -TERM "$SW_PID" 2>/dev/null || true
    for _ in $(seq 100); do [ "$(cut -d' ' -f3 "/proc/$SW_PID/stat" 2>/dev/null || echo X)" = X ] && break; [ "$(cut -d' ' -f3 "/proc/$SW_PID/stat" 2>/dev/null)" = Z ] && break; sleep 0.1; done
    kill -KILL "$SW_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    say "logs kept in $WORK (vswitchd.log, *.console.log)"
    rm -rf "$WORK/run"
  else
    rm -rf "$WORK"
  fi
  say "done."
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup
step "1. Dependencies (scripts/install-deps.sh: DPDK 22.11, QEMU, busybox, a guest kernel, Rust)"
if [ "${DEMO_SKIP_DEPS:-0}" != 1 ]; then
  "$ROOT/scripts/install-deps.sh"
  # shellcheck source=/dev/null
  if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
fi
say "ok"

step "2. Hugepages"
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
have=$(cat "$hp" 2>/dev/null || echo 0)
if [ "$have" -lt 1024 ]; then
  say "reserving 1024 x 2 MiB hugepages (had $have); on a real host use dpdk-hugepages.py or the kernel command line (scripts/host/README.md)"
  echo 1024 >"$hp" || true
fi
grep -E 'HugePages_(Total|Free)' /proc/meminfo | sed 's/^/  /'
say "vswitchd runs EAL with --in-memory: no hugetlbfs files are left behind"

step "3. Building rvswitch (cargo build --release -p vswitchd -p ctl)"
if [ -z "${RVSWITCH_BIN:-}${RVSWITCH_BIN_DIR:-}" ] && [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release -p vswitchd -p ctl)
fi
BIN=${RVSWITCH_BIN:-${RVSWITCH_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
if [ ! -x "$BIN/vswitchd" ] || [ ! -x "$BIN/vsctl" ]; then die "no vswitchd/vsctl in $BIN"; fi
say "binaries: $BIN/vswitchd, $BIN/vsctl"

# shellcheck source-path=SCRIPTDIR source=guest/lib.sh
. "$ROOT/scripts/guest/lib.sh"
eval "$("$ROOT/scripts/guest/build-initramfs.sh" 2>/dev/null)"
[ ! -e /sys/class/net/ovsbr0 ] || die "a netdev named ovsbr0 exists: is another rvswitch (or OVS) using that bridge name?"

WORK=$(mktemp -d /tmp/rvswitch-demo.XXXXXX)
chmod 755 "$WORK"
RUN=$WORK/run
mkdir -p "$RUN"
SOCK=$RUN/vswitchd.sock
vsctl() { "$BIN/vsctl" --socket="$SOCK" "$@"; }
vs() { printf '%s$ vsctl %s%s\n' "$D" "$*" "$N"; vsctl "$@"; }

# ---------------------------------------------------------------- switch
step "4. Starting vswitchd (state in $WORK/state, control socket $SOCK)"
run "$BIN/vswitchd" --state-dir "$WORK/state" --socket "$SOCK" \
  --log-file "$WORK/vswitchd.log" --pidfile "$RUN/vswitchd.pid" --detach
SW_PID=$(cat "$RUN/vswitchd.pid")
say "vswitchd is running (pid $SW_PID); every vsctl below talks to it over $SOCK"

step "5. DPDK settings, as in the how-to's 5-4 (main lcore on core 0, the PMD pinned to core $PMD_MASK)"
say "pmd-maxsleep (OVS 3.1) lets an idle PMD sleep up to 500 us, so the guests get CPU on a small machine"
vs --no-wait set Open_vSwitch . other_config:dpdk-init=true
vs --no-wait set Open_vSwitch . other_config:dpdk-lcore-mask="$LCORE_MASK"
vs --no-wait set Open_vSwitch . other_config:pmd-cpu-mask="$PMD_MASK"
vs --no-wait set Open_vSwitch . other_config:pmd-maxsleep=500
vs --no-wait get Open_vSwitch . other_config

step "6. The bridge (how-to step 3)"
vs add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev
for _ in $(seq 50); do [ -e /sys/class/net/ovsbr0 ] && break; sleep 0.1; done
sysctl -qw net.ipv6.conf.ovsbr0.disable_ipv6=1 2>/dev/null || true

step "7. The LACP bond toward the physical switch (how-to step 4)"
say "On the how-to's server dpdk0/dpdk1 are the X540's ports (type=dpdk options:dpdk-devargs=0000:08:00.0)."
say "Here the physical switch is a VM, so they are vhost-user ports to its two NICs."
vs add-bond ovsbr0 bond0 dpdk0 dpdk1 \
  vlan_mode=trunk trunks=11,300-304 \
  bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
  -- set Interface dpdk0 type=dpdkvhostuserclient options:vhost-server-path="$RUN/switch-p0" \
  -- set Interface dpdk1 type=dpdkvhostuserclient options:vhost-server-path="$RUN/switch-p1"

step "8. The VM ports (how-to step 5): an access port on VLAN 300 and a trunk port"
vs add-port ovsbr0 vhuc0 \
  vlan_mode=access tag=300 \
  -- set Interface vhuc0 type=dpdkvhostuserclient \
  options:vhost-server-path="$RUN/vhuc0"
vs add-port ovsbr0 vhuc1 \
  vlan_mode=trunk trunks=300-302 \
  -- set Interface vhuc1 type=dpdkvhostuserclient \
  options:vhost-server-path="$RUN/vhuc1"
vs show

# ---------------------------------------------------------------- guests
# name, NICs, role
GUESTS=(switch guest3 guest4)
declare -A NICS=(
  [switch]="vhost:$RUN/switch-p0,mac=52:54:00:5c:00:01 vhost:$RUN/switch-p1,mac=52:54:00:5c:00:02"
  [guest3]="vhost:$RUN/vhuc0,mac=52:54:00:00:00:03"
  [guest4]="vhost:$RUN/vhuc1,mac=52:54:00:00:00:04"
)
declare -A ROLE=(
  [switch]="rv.bond=eth0,eth1 rv.bond_mode=802.3ad rv.lacp_rate=fast rv.xmit_hash=layer3+4 rv.vlan=300 rv.ip=192.168.30.254/24 rv.wait_lacp=120 rv.ping=192.168.30.1,192.168.30.2 rv.wait_peer=120 rv.count=10 rv.interval=0.2 rv.show_bond=1 rv.listen=1"
  [guest3]="rv.ip=192.168.30.1/24 rv.ping=192.168.30.254,192.168.30.2 rv.wait_peer=120 rv.count=10 rv.interval=0.2 rv.listen=1"
  [guest4]="rv.vlan=300 rv.ip=192.168.30.2/24 rv.ping=192.168.30.254,192.168.30.1 rv.wait_peer=120 rv.count=10 rv.interval=0.2 rv.listen=1"
)

step "9. The VMs' NICs as libvirt XML (how-to step 6: what 'virsh edit' would hold)"
for g in "${GUESTS[@]}"; do
  args=()
  for n in ${NICS[$g]}; do args+=(--nic "$n"); done
  "$ROOT/scripts/guest/run-guest.sh" --name "$g" "${args[@]}" --print-libvirt-xml
done

step "10. Booting the three guests (QEMU/TCG, 1 vCPU, 256 MiB, vhost-user NICs with QEMU as server)"
say "  switch: Linux bond0 (802.3ad, lacp_rate fast, layer3+4) + bond0.300 = 192.168.30.254 (the how-to's 'interface Vlan300')"
say "  guest3: eth0 = 192.168.30.1 on access port vhuc0 (tag 300)"
say "  guest4: eth0.300 = 192.168.30.2 on trunk port vhuc1 (the guest tags VLAN 300 itself)"
for g in "${GUESTS[@]}"; do
  args=()
  for n in ${NICS[$g]}; do args+=(--nic "$n"); done
  GLOG[$g]=$WORK/$g.console.log
  : >"${GLOG[$g]}"
  taskset -c "$GUEST_CPUS" "$ROOT/scripts/guest/run-guest.sh" --name "$g" "${args[@]}" \
    --kernel "$RV_GUEST_KERNEL" --initrd "$RV_GUEST_INITRAMFS" \
    --cmdline "${ROLE[$g]} rv.max_time=900" --log "${GLOG[$g]}" </dev/null >"$WORK/$g.qemu.log" 2>&1 &
  GPID[$g]=$!
  # taskset and run-guest.sh exec QEMU under this pid
  for _ in $(seq 100); do rvguest_alive "${GPID[$g]}" "$g" && break; sleep 0.1; done
done
T0=$SECONDS
for g in "${GUESTS[@]}"; do
  l=$(rvguest_wait "${GLOG[$g]}" "$g" READY 300 "${GPID[$g]}") || die "$g did not boot (see ${GLOG[$g]})"
  say "  $g is up after $((SECONDS - T0)) s: $(rvguest_field "$l" if) $(rvguest_field "$l" ip)"
done

step "11. LACP between rvswitch's bond0 and the switch's port-channel"
l=$(rvguest_wait "${GLOG[switch]}" switch LACP 120 "${GPID[switch]}") || die "no LACP result from the switch guest"
if [ "$(rvguest_field "$l" status)" = up ]; then
  say "${G}the switch's bond0 has both ports in one aggregator, in sync, collecting and distributing ($(rvguest_field "$l" wait_ms) ms after it came up)$N"
else
  say "${R}LACP did not come up on the switch side: $l$N"
fi

step "12. Pings (10 each, 0.2 s apart)"
OK=1
for g in "${GUESTS[@]}"; do
  rvguest_wait "${GLOG[$g]}" "$g" DONE 180 "${GPID[$g]}" >/dev/null || die "$g did not finish its pings"
  while read -r line; do
    [ -n "$line" ] || continue
    dst=$(rvguest_field "$line" dst)
    loss=$(rvguest_field "$line" loss)
    if [ "$loss" = 0% ]; then c=$G; else c=$R; OK=0; fi
    printf '  %-7s -> %-15s %s%s/%s replies, loss %s%s, rtt min/avg/max %s ms\n' "$g" "$dst" "$c" \
      "$(rvguest_field "$line" received)" "$(rvguest_field "$line" sent)" "$loss" "$N" "$(rvguest_field "$line" rtt_ms)"
  done <<<"$(rvguest_lines "${GLOG[$g]}" "$g" PING)"
done
say "guest3 (access) and guest4 (trunk) reach each other on VLAN 300, and both reach the switch's VLAN 300 through the LACP bond."

step "13. What the switch guest's Linux bonding driver says (/proc/net/bonding/bond0)"
rvguest_bond_dump "${GLOG[switch]}" switch "done" |
  grep -E 'Bonding Mode|Transmit Hash|LACP rate|Aggregator ID|Number of ports|Partner Mac|Slave Interface|details (actor|partner)|port state' | sed 's/^/  /'
say "'Partner Mac Address' is rvswitch's LACP system id (the bridge's MAC, see sys_id below)."

step "14. rvswitch's view"
vs show
vs bond/show bond0
vs lacp/show bond0
vs fdb/show ovsbr0
say "The fdb holds guest3 (52:54:00:00:00:03) on vhuc0 and guest4 (52:54:00:00:00:04) on vhuc1 in VLAN 300,"
say "and the switch guest's bond MAC (52:54:00:5c:00:01) behind bond0."

if [ $HOLD = 1 ]; then
  step "Holding: everything keeps running until Ctrl-C"
  say "try: $BIN/vsctl --socket=$SOCK lacp/show bond0"
  while :; do sleep 3600; done
fi
[ $OK = 1 ] || die "some pings failed"
step "${G}Demo complete: rvswitch forwarded access, trunk and LACP-bonded traffic as in the how-to$N"
