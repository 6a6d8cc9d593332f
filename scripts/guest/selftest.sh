#!/usr/bin/env bash
# Self-test of the guest harness, without any switch: four guests joined by
# QEMU socket netdevs, booted in parallel.
#   (a) vlan-a <-> vlan-b over one link: vlan-b pings vlan-a on VLAN 300
#       (must answer, except during a scripted 1 s outage: vlan-b takes its
#       eth0 down 1.5 s after START and up at 2.5 s; the outage must show in
#       the REPLY timestamps and the PING summary), then on a VLAN the peer
#       does not have (must not answer).
#   (b) bond-a <=> bond-b over two links: 802.3ad bonds (lacp_rate fast,
#       layer3+4) that must negotiate one aggregator with both ports, each
#       seeing the other as partner, and ping across.
#   (c) only with RV_SELFTEST_VHOST=1: vhost-a and vhost-b on vhost-user NICs
#       (QEMU as server, as under libvirt), wired together by dpdk-testpmd
#       (two net_vhost client ports, io forwarding; main lcore 0, forwarding
#       lcore 1, --in-memory); vhost-b pings vhost-a. testpmd busy-polls a
#       core while it runs: do not run this next to benchmarks.
# Exits non-zero on failure; kills every guest and removes its temp dir even on
# failure (RV_SELFTEST_KEEP=1 keeps the logs).
#
# Usage: selftest.sh        (env: RV_SELFTEST_TIMEOUT=seconds, default 600)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

TIMEOUT=${RV_SELFTEST_TIMEOUT:-600}
WORK=$(mktemp -d /tmp/rvguest-selftest.XXXXXX)
declare -A PID=() LOG=() T_START=()
FAILS=0
VHOST=${RV_SELFTEST_VHOST:-0}
TESTPMD_PID=

cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  for n in "${!PID[@]}"; do rvguest_stop "${PID[$n]}" "$n"; done
  if [ -n "$TESTPMD_PID" ] && [ "$(cat "/proc/$TESTPMD_PID/comm" 2>/dev/null)" = dpdk-testpmd ]; then
    kill -INT "$TESTPMD_PID" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$TESTPMD_PID" ] || break; sleep 0.1; done
    kill -9 "$TESTPMD_PID" 2>/dev/null || true
    wait "$TESTPMD_PID" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ]; then
    for n in "${!LOG[@]}"; do
      echo "----- last lines of $n console -----" >&2
      tail -n 30 "${LOG[$n]}" 2>/dev/null | tr -d '\r' >&2 || true
    done
    if [ -f "$WORK/testpmd.log" ]; then
      echo "----- last lines of testpmd -----" >&2
      tail -n 20 "$WORK/testpmd.log" >&2 || true
    fi
  fi
  if [ "${RV_SELFTEST_KEEP:-0}" = 1 ]; then
    echo "selftest: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'echo "selftest: command failed at line $LINENO" >&2' ERR
trap 'exit 130' INT TERM

fail() { echo "selftest: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "selftest: ok: $*"; }
ms_now() { date +%s%3N; }

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo $p; return; }
  done
}

# start NAME CMDLINE NIC... (daemonized; listening sockets exist on return;
# with vhost NICs QEMU returns only once the vhost-user client has connected)
start() {
  local name=$1 cmdline=$2 nics=()
  shift 2
  for n in "$@"; do nics+=(--nic "$n"); done
  LOG[$name]=$WORK/$name.log
  T_START[$name]=$(ms_now)
  "$HERE/run-guest.sh" --name "$name" --cmdline "$cmdline rv.max_time=$TIMEOUT" \
    --log "${LOG[$name]}" --pidfile "$WORK/$name.pid" --daemonize "${nics[@]}"
  PID[$name]=$(cat "$WORK/$name.pid")
}

# The archive is built once here, so the parallel starts only read the cache.
"$HERE/build-initramfs.sh" >/dev/null

PA=$(free_port)
PB1=$(free_port)
PB2=$(free_port)
while [ "$PB1" = "$PA" ]; do PB1=$(free_port); done
while [ "$PB2" = "$PA" ] || [ "$PB2" = "$PB1" ]; do PB2=$(free_port); done

MAC_VA=52:54:00:aa:00:01
MAC_VB=52:54:00:bb:00:01
MAC_BA0=52:54:00:ca:00:01 MAC_BA1=52:54:00:ca:00:02
MAC_BB0=52:54:00:cb:00:01 MAC_BB1=52:54:00:cb:00:02

PING="rv.count=20 rv.interval=0.2 rv.wait_peer=$TIMEOUT"
BOND="rv.bond=eth0,eth1 rv.bond_mode=802.3ad rv.lacp_rate=fast rv.xmit_hash=layer3+4 rv.miimon=100 rv.show_bond=1 rv.wait_lacp=$TIMEOUT"

GUESTS=(vlan-a bond-a vlan-b bond-b)
if [ "$VHOST" = 1 ]; then
  command -v dpdk-testpmd >/dev/null || { echo "selftest: dpdk-testpmd not installed (package dpdk-dev)" >&2; exit 1; }
  # the client ports retry every second until QEMU has created the sockets
  dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --in-memory -m 256 \
    --vdev "net_vhost0,iface=$WORK/vhost-a.sock,client=1" \
    --vdev "net_vhost1,iface=$WORK/vhost-b.sock,client=1" \
    -- --forward-mode=io --auto-start --nb-cores=1 --stats-period=5 \
    </dev/null >"$WORK/testpmd.log" 2>&1 &
  TESTPMD_PID=$!
  GUESTS+=(vhost-a vhost-b)
fi

# listeners first (QEMU refuses to start a connect= netdev with no listener)
start vlan-a "rv.ip=172.16.30.1/24 rv.vlan=300 rv.vlans=302:172.16.31.1/24 rv.listen=1" \
  "socket:listen=127.0.0.1:$PA,mac=$MAC_VA"
start bond-a "$BOND rv.ip=172.16.40.1/24 rv.ping=172.16.40.2 $PING rv.listen=1" \
  "socket:listen=127.0.0.1:$PB1,mac=$MAC_BA0" "socket:listen=127.0.0.1:$PB2,mac=$MAC_BA1"
start vlan-b "rv.ip=172.16.30.2/24 rv.vlan=300 rv.vlans=301:172.16.31.2/24 rv.ping=172.16.30.1,172.16.31.1 $PING rv.ifdown=eth0@1.5 rv.ifup=eth0@2.5" \
  "socket:connect=127.0.0.1:$PA,mac=$MAC_VB"
start bond-b "$BOND rv.ip=172.16.40.2/24 rv.ping=172.16.40.1 $PING rv.listen=1" \
  "socket:connect=127.0.0.1:$PB1,mac=$MAC_BB0" "socket:connect=127.0.0.1:$PB2,mac=$MAC_BB1"
if [ "$VHOST" = 1 ]; then
  start vhost-a "rv.ip=172.16.60.1/24 rv.listen=1" "vhost:$WORK/vhost-a.sock,mac=52:54:00:dd:00:01"
  start vhost-b "rv.ip=172.16.60.2/24 rv.ping=172.16.60.1 $PING" "vhost:$WORK/vhost-b.sock,mac=52:54:00:dd:00:02"
fi

# ---- boot
for n in "${GUESTS[@]}"; do
  line=$(rvguest_wait "${LOG[$n]}" "$n" READY "$TIMEOUT" "${PID[$n]}") || exit 1
  host_ms=$(($(ms_now) - ${T_START[$n]}))
  echo "selftest: $n READY after ${host_ms} ms on the host clock, guest uptime $(rvguest_field "$line" t_ms) ms ($line)"
done

# ---- results
WAIT_DONE=(vlan-b bond-a bond-b)
[ "$VHOST" = 1 ] && WAIT_DONE+=(vhost-b)
for n in "${WAIT_DONE[@]}"; do
  rvguest_wait "${LOG[$n]}" "$n" DONE "$TIMEOUT" "${PID[$n]}" >/dev/null || exit 1
done
for n in "${GUESTS[@]}"; do
  errs=$(rvguest_lines "${LOG[$n]}" "$n" ERROR)
  [ -z "$errs" ] || fail "$n reported errors: $errs"
done

# expect_ping NAME INDEX DST MIN_RECEIVED MAX_RECEIVED
expect_ping() {
  local name=$1 idx=$2 dst=$3 min=$4 max=$5 line sent recv dups
  line=$(rvguest_line "${LOG[$name]}" "$name" PING "$idx")
  if [ -z "$line" ]; then fail "$name: no PING line #$idx"; return; fi
  echo "selftest: $line"
  sent=$(rvguest_field "$line" sent)
  recv=$(rvguest_field "$line" received)
  dups=$(rvguest_field "$line" dups)
  [ "$(rvguest_field "$line" dst)" = "$dst" ] || fail "$name: PING #$idx is not for $dst"
  [ "$sent" = 20 ] || fail "$name: $dst: sent=$sent, expected 20"
  { [ "$recv" -ge "$min" ] && [ "$recv" -le "$max" ]; } ||
    fail "$name: $dst: received=$recv, expected $min..$max"
  [ "$dups" = 0 ] || fail "$name: $dst: $dups duplicate replies"
  # one REPLY line per received echo
  local replies
  replies=$(rvguest_lines "${LOG[$name]}" "$name" REPLY | grep -c " dst=$dst " || true)
  [ "$replies" = "$recv" ] || fail "$name: $dst: $replies REPLY lines for received=$recv"
}

# (a) VLAN 300 answers (but not during the outage), VLAN 301 (peer has 302)
# must not. 20 requests every 0.2 s, link down from 1.5 s to 2.5 s: the
# requests of about 1.6..2.4 s (4-5 of them) and any sent before ARP is
# resolved again are lost.
expect_ping vlan-b 1 172.16.30.1 12 17
expect_ping vlan-b 2 172.16.31.1 0 0
[ "$(rvguest_field "$(rvguest_line "${LOG[vlan-a]}" vlan-a READY)" if)" = eth0.300 ] ||
  fail "vlan-a: address not on eth0.300"
# the scripted outage: events on time, and visible in the replies
t0=$(rvguest_field "$(rvguest_line "${LOG[vlan-b]}" vlan-b START)" t_ms)
t_down=$(rvguest_field "$(rvguest_lines "${LOG[vlan-b]}" vlan-b EVENT | grep ' action=ifdown ')" t_ms)
t_up=$(rvguest_field "$(rvguest_lines "${LOG[vlan-b]}" vlan-b EVENT | grep ' action=ifup ')" t_ms)
echo "selftest: vlan-b START t_ms=$t0, ifdown t_ms=$t_down, ifup t_ms=$t_up"
if [ -z "$t0" ] || [ -z "$t_down" ] || [ -z "$t_up" ]; then
  fail "vlan-b: START or EVENT lines missing"
else
  d1=$((t_down - t0)) d2=$((t_up - t0))
  { [ $d1 -ge 1500 ] && [ $d1 -le 2000 ]; } || fail "vlan-b: ifdown ran ${d1} ms after START, expected 1500"
  { [ $d2 -ge 2500 ] && [ $d2 -le 3000 ]; } || fail "vlan-b: ifup ran ${d2} ms after START, expected 2500"
  # no reply may arrive while the link is down; the largest gap between
  # replies spans the outage
  in_outage=$(rvguest_lines "${LOG[vlan-b]}" vlan-b REPLY |
    awk -v a="$t_down" -v b="$t_up" '{ for (i = 1; i <= NF; i++) if ($i ~ /^t_ms=/) { t = substr($i, 6) + 0 } }
      t > a + 50 && t < b { n++ } END { print n + 0 }')
  [ "$in_outage" = 0 ] || fail "vlan-b: $in_outage replies while eth0 was down"
  line=$(rvguest_line "${LOG[vlan-b]}" vlan-b PING 1)
  gap=$(rvguest_field "$line" max_gap_ms)
  run=$(rvguest_field "$line" max_lost_run)
  [ "${gap:-0}" -ge 1000 ] || fail "vlan-b: max_gap_ms=$gap does not cover the 1 s outage"
  [ "${run:-0}" -ge 4 ] || fail "vlan-b: max_lost_run=$run, expected >= 4"
fi
[ $FAILS -eq 0 ] && ok "(a) ping over VLAN 300 sub-interfaces with a timed outage, nothing across mismatched VLANs"

# (b) bonds
f0=$FAILS
expect_ping bond-a 1 172.16.40.2 20 20
expect_ping bond-b 1 172.16.40.1 20 20

# check_bond NAME PEER_SYSTEM_MAC: raw /proc/net/bonding/bond0 at DONE
check_bond() {
  local name=$1 peer=$2 dump agg ports pmac slave_aggs nslaves
  dump=$(rvguest_bond_dump "${LOG[$name]}" "$name" "done")
  if [ -z "$dump" ]; then fail "$name: no bond dump"; return; fi
  grep -q "^Bonding Mode: IEEE 802.3ad" <<<"$dump" || fail "$name: not in 802.3ad mode"
  grep -q "^LACP rate: fast" <<<"$dump" || fail "$name: LACP rate is not fast"
  grep -q "^Transmit Hash Policy: layer3+4" <<<"$dump" || fail "$name: hash policy is not layer3+4"
  agg=$(awk '/^Active Aggregator Info:/{a=1} a && /Aggregator ID:/{print $3; exit}' <<<"$dump")
  ports=$(awk '/^Active Aggregator Info:/{a=1} a && /Number of ports:/{print $4; exit}' <<<"$dump")
  pmac=$(awk '/^Active Aggregator Info:/{a=1} a && /Partner Mac Address:/{print $4; exit}' <<<"$dump")
  nslaves=$(grep -c "^Slave Interface:" <<<"$dump" || true)
  slave_aggs=$(awk '/^Slave Interface:/{s=1} s && /^Aggregator ID:/{print $3}' <<<"$dump" | sort -u | tr '\n' ' ')
  [ "$nslaves" = 2 ] || fail "$name: $nslaves slaves, expected 2"
  [ "$ports" = 2 ] || fail "$name: active aggregator has '$ports' ports, expected 2"
  [ "$pmac" = "$peer" ] || fail "$name: partner MAC '$pmac', expected $peer"
  [ "$slave_aggs" = "$agg " ] || fail "$name: slaves in aggregators '$slave_aggs', active is $agg"
  # every slave's partner is the peer, and both sides collect+distribute
  local partner_macs states
  partner_macs=$(awk '/details partner lacp pdu:/{p=1} p && /system mac address:/{print $4; p=0}' <<<"$dump" | sort -u)
  [ "$partner_macs" = "$peer" ] || fail "$name: per-slave partner MACs '$partner_macs', expected $peer"
  states=$(awk '/port state:/{print $3}' <<<"$dump" | sort -u | tr '\n' ' ')
  [ "$states" = "63 " ] || fail "$name: LACP port states '$states', expected all 63 (fast, in sync, collecting, distributing)"
  echo "selftest: $name: aggregator $agg with $ports ports, partner $pmac, port states $states"
  echo "selftest: $(rvguest_line "${LOG[$name]}" "$name" BOND-STATE)"
}
for n in bond-a bond-b; do
  line=$(rvguest_line "${LOG[$n]}" "$n" LACP)
  echo "selftest: $line"
  [ "$(rvguest_field "$line" status)" = up ] && [ "$(rvguest_field "$line" ports)" = 2 ] ||
    fail "$n: LACP did not come up with 2 ports"
done
# the bond takes the MAC of its first slave
check_bond bond-a "$MAC_BB0"
check_bond bond-b "$MAC_BA0"
[ $FAILS -eq $f0 ] && ok "(b) 802.3ad bond negotiated (one aggregator, both ports, partner seen) and pinged across"

if [ "$VHOST" = 1 ]; then
  f0=$FAILS
  expect_ping vhost-b 1 172.16.60.1 20 20
  [ $FAILS -eq $f0 ] && ok "(c) ping across vhost-user NICs through dpdk-testpmd"
fi

if [ $FAILS -ne 0 ]; then
  echo "selftest: $FAILS failure(s)" >&2
  exit 1
fi
echo "selftest: PASS"
