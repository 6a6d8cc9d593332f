#!/usr/bin/env bash
# Scenario 4: restart without touching the VMs.
#
#   vm1  access 300       172.16.30.1
#   vm2  trunk, eth0.300  172.16.30.2   pings vm1 every 0.1 s
#   vm4  802.3ad bond (fast) + VLAN 300, 172.16.30.4, pings vm1 every 0.1 s
#        <-> bond0: balance-tcp, lacp=active, lacp-time=fast, trunks=11,300-304
#
# While the pings run, vswitchd is killed with SIGKILL and started again
# with the same state directory. The configuration must come back from disk
# (`vsctl show` identical), the vhost-user client ports must reconnect to the
# still-running QEMUs, and bond0 must resume from the LACP state the
# previous daemon saved (bonds.json) instead of renegotiating. No guest
# restarts: same QEMU pids, one BOOT line per console.
#
# The goal (issue 12): the guests' outage is at most 1.0 s each, and vm4's
# Linux bond, the LACP partner, never records the restart: every
# LACPWATCH sample of its ports after the kill stays in the aggregator,
# in sync, collecting and distributing, never expired or defaulted.
#
# The outage is measured in guest time from the ping replies (one echo every
# 0.1 s): the largest gap between replies around the restart, minus one ping
# interval, because the last reply before the kill came up to one interval
# before it. So the measurement slack is one interval (100 ms) either way;
# E2E_RESTART_GAP_LIMIT_MS (default 1000) is compared with gap - interval.
#
# The guests' NICs have QEMU's `status=off` (E2E_S4_NIC_OPTS). With QEMU's
# default, QEMU itself tells the guest "link down" the moment a vhost-user
# backend's socket closes (net/vhost-user.c, chr_closed_bh) and "link up"
# when it reconnects: the guest's bonding driver then resets LACP on those
# ports and renegotiates (measured here: bond outage 3.1 s, Linux ports
# defaulted and moved to a new aggregator), and an access guest's queued
# frames wait about 1.1 s. No switch can hide that carrier flap; a VM that
# must not notice a switch restart needs its NIC without link status, and
# detects real failures through LACP's timeout instead (its Linux bond
# uses fast LACPDUs here). E2E_S4_NIC_OPTS= runs it with QEMU's default.
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s4-restart

BR=${E2E_BR:-ovsbr0}
RUN=$E2E_WORK/run
W=$E2E_TIMEOUT
LIMIT=${E2E_RESTART_LIMIT_MS:-5000}
GAP_LIMIT=${E2E_RESTART_GAP_LIMIT_MS:-1000}
INTERVAL_MS=100
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"

e2e_switch_start
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
vsx add-port "$BR" vm1 tag=300 -- set Interface vm1 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm1.sock"
vsx add-port "$BR" vm2 vlan_mode=trunk -- set Interface vm2 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm2.sock"
vsx add-bond "$BR" bond0 vm4a vm4b bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
  vlan_mode=trunk trunks=11,300-304 \
  -- set Interface vm4a type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm4a.sock" \
  -- set Interface vm4b type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm4b.sock"

export RV_GUEST_NIC_OPTS=${E2E_S4_NIC_OPTS-status=off}
e2e_log "guest NIC options: ${RV_GUEST_NIC_OPTS:-QEMU defaults}"
LONG="rv.count=900 rv.interval=0.1 rv.timeout=200 rv.wait_peer=$W"
e2e_guest vm1 "rv.ip=172.16.30.1/24 rv.listen=1" "vhost:$RUN/vm1.sock,mac=52:54:00:00:01:01"
e2e_guest vm2 "rv.vlan=300 rv.ip=172.16.30.2/24 rv.ping=172.16.30.1 $LONG rv.listen=1" \
  "vhost:$RUN/vm2.sock,mac=52:54:00:00:02:01"
e2e_guest vm4 "rv.bond=eth0,eth1 rv.bond_mode=802.3ad rv.lacp_rate=fast rv.xmit_hash=layer3+4 rv.vlan=300 rv.ip=172.16.30.4/24 rv.wait_lacp=$W rv.watch_lacp=1 rv.ping=172.16.30.1 $LONG rv.listen=1" \
  "vhost:$RUN/vm4a.sock,mac=52:54:00:00:04:01" "vhost:$RUN/vm4b.sock,mac=52:54:00:00:04:02"

e2e_wait_ready vm1 vm2 vm4
l=$(e2e_wait vm4 LACP); e2e_log "$l"
l=$(e2e_wait vm4 PEER); e2e_log "$l"
l=$(e2e_wait vm2 PEER); e2e_log "$l"
e2e_until 30 e2e_lacp_ok bond0 vm4a vm4b || e2e_die "bond0 is not negotiated before the restart"
sleep 5
declare -A QPID=()
for n in vm1 vm2 vm4; do QPID[$n]=${E2E_PID[$n]}; done
vs show >"$E2E_WORK/show.before"
old_pid=$E2E_SWITCH_PID

# ---- kill -9 and start again
tk=$(e2e_ms)
e2e_switch_kill9
e2e_log "vswitchd (pid $old_pid) killed with SIGKILL (gone after $(($(e2e_ms) - tk)) ms)"
n2=$(e2e_lines vm2 REPLY | wc -l)
n4=$(e2e_lines vm4 REPLY | wc -l)
t0=$(e2e_ms)
e2e_switch_launch
e2e_log "vswitchd started again (pid $E2E_SWITCH_PID, same state dir) in $(($(e2e_ms) - t0)) ms"
# Where the time goes, as the switch sees it: the first frame it takes from
# vm2 and the first it gives vm1 after the restart.
first_rx='' first_tx=''
firsts() {
  [ -n "$first_rx" ] || { [ "$(e2e_stat vm2 rx_packets 2>/dev/null || echo 0)" -gt 0 ] && first_rx=$(($(e2e_ms) - t0)); }
  [ -n "$first_tx" ] || { [ "$(e2e_stat vm1 tx_packets 2>/dev/null || echo 0)" -gt 0 ] && first_tx=$(($(e2e_ms) - t0)); }
  [ -n "$first_rx" ] && [ -n "$first_tx" ]
}
e2e_until 10 firsts || true
e2e_log "after the restart the switch took vm2's first frame at ${first_rx:-?} ms and gave vm1 its first at ${first_tx:-?} ms"

declare -A RESUMED=()
resumed() {
  local n=$1 base=$2
  [ -n "${RESUMED[$n]:-}" ] && return 0
  if [ "$(e2e_lines "$n" REPLY | wc -l)" -gt "$base" ]; then
    RESUMED[$n]=$(($(e2e_ms) - t0))
    return 0
  fi
  return 1
}
lacp_ms=''
both() {
  resumed vm2 "$n2" || true
  resumed vm4 "$n4" || true
  if [ -z "$lacp_ms" ] && e2e_lacp_ok bond0 vm4a vm4b; then lacp_ms=$(($(e2e_ms) - t0)); fi
  [ -n "${RESUMED[vm2]:-}" ] && [ -n "${RESUMED[vm4]:-}" ] && [ -n "$lacp_ms" ]
}
e2e_until 30 both || true
for n in vm2 vm4; do
  if [ -n "${RESUMED[$n]:-}" ]; then
    e2e_result "ping_resumed_ms_$n" "${RESUMED[$n]}"
    e2e_check "$n's ping to vm1 resumed ${RESUMED[$n]} ms after the restart (<= $LIMIT ms)" [ "${RESUMED[$n]}" -le "$LIMIT" ]
  else
    e2e_fail "$n's ping to vm1 did not resume within 30 s of the restart"
  fi
done
if [ -n "$lacp_ms" ]; then
  e2e_result lacp_back_ms "$lacp_ms"
  e2e_ok "bond0 carrying on both members ${lacp_ms} ms after the restart"
else
  e2e_fail "bond0 did not come back within 30 s of the restart"
fi
e2e_check "bond0 resumed from the saved LACP state (log)" \
  grep -q 'resuming LACP' "$SWLOG"


vs show >"$E2E_WORK/show.after"
e2e_check "configuration came back from disk (vsctl show identical)" \
  diff -u "$E2E_WORK/show.before" "$E2E_WORK/show.after"
for i in vm1 vm2 vm4a vm4b; do
  e2e_check "$i reconnected (link_state up)" [ "$(vs get Interface "$i" link_state)" = up ]
done
for n in vm1 vm2 vm4; do
  e2e_assert "$n not restarted: same QEMU pid ${QPID[$n]}, alive, one BOOT line" \
    'e2e_guest_alive "$n" && [ "${E2E_PID[$n]}" = "${QPID[$n]}" ] && [ "$(e2e_lines "$n" BOOT | wc -l)" = 1 ]'
done
# the outage as the guests saw it
kill_c4=$(e2e_lines vm4 REPLY | sed -n "${n4}p" | sed 's/.* t_ms=//')
kill_c2=$(e2e_lines vm2 REPLY | sed -n "${n2}p" | sed 's/.* t_ms=//')
for n in vm2 vm4; do
  if [ $n = vm2 ]; then k=$kill_c2; else k=$kill_c4; fi
  gap=$(e2e_gap $n 172.16.30.1 "$k" "$((k + 1))")
  e2e_result "ping_gap_ms_$n" "$gap"
  out=$((gap - INTERVAL_MS))
  e2e_result "outage_ms_$n" "$out"
  e2e_assert "$n's outage ${out} ms (reply gap ${gap} ms minus one ${INTERVAL_MS} ms interval) <= ${GAP_LIMIT} ms" \
    '[ "$gap" -ge 0 ] && [ "$out" -le "$GAP_LIMIT" ]'
done
# The partner's view: vm4's Linux bond samples its ports every 50 ms.
watch=$(e2e_lines vm4 LACPWATCH | awk -v from="$kill_c4" '
  { t = $NF; sub(/^t_ms=/, "", t) }
  t + 0 >= from + 0 { print }')
e2e_log "vm4 LACPWATCH samples after the kill: $(printf '%s\n' "$watch" | grep -c . || true)"
bad=$(printf '%s\n' "$watch" | awk '
  /LACPWATCH/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    a = v["actor_state"] + 0
    # in sync (8), collecting (16), distributing (32); not defaulted (64)
    # or expired (128)
    if (int(a / 8) % 8 != 7 || a >= 64) print
  }')
e2e_check "vm4's bond never left the aggregate or expired after the kill${bad:+: $bad}" [ -z "$bad" ]
aggs=$(e2e_lines vm4 LACPWATCH | sed -n 's/.* agg=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')
e2e_check "vm4's ports stayed in one aggregator (seen: $aggs)" [ "$(wc -w <<<"$aggs")" -eq 1 ]
e2e_log "vswitchd log shows $(grep -c 'vswitchd .* starting' "$SWLOG") starts"
