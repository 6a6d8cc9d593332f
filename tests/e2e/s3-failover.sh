#!/usr/bin/env bash
# Scenario 3: bond failover while traffic flows.
#
#   vm1  access 300          172.16.30.1   pings vm4 every 0.1 s
#   vm2  trunk, eth0.300     172.16.30.2   pings vm4 every 0.1 s
#   vm4  802.3ad bond (lacp_rate fast, layer3+4) + VLAN 300, 172.16.30.4,
#        pings vm1 every 0.1 s         <-> bond0: balance-tcp, lacp=active,
#                                          lacp-time=fast, trunks=11,300-304
#   vm5  active-backup bond (miimon 100) + VLAN 300, 172.16.30.5, pings vm1
#                                      <-> bond1: active-backup, lacp=off,
#                                          bond-detect-mode=miimon, 100 ms
#
# A. LACP: vm4 takes its eth1 down (10 s after START) and up (18 s), then
#    eth0 (30 s / 38 s), with `ip link set` inside the guest: rvswitch still
#    sees carrier, so only the LACP timeout (3 s with lacp-time=fast) can
#    tell it; every flow crossing the member must resume within 3 s. Each
#    flow is on one of the two members, so one of the two episodes cuts it.
#    After each `up` the member must rejoin (lacp/show).
# B. After the rejoin, traffic spreads over both members again: the tx
#    counters of vm4a and vm4b both grow. A member that comes back gets
#    buckets at the next rebalance (every 10 s), and, as in OVS, only when the
#    load difference is worth it (>= 100 kB per interval): hence the 1400-byte
#    pings.
# C. `vsctl set interface <member> admin_state=down` on the member vm4 sends
#    on (the partner learns it from LACP): outage at most 3 s; back up: it
#    rejoins.
# D. Active-backup: a cable pull (QEMU `set_link off`, both ends lose
#    carrier) of the active member: outage at most 1 s; cable back: nothing
#    breaks.
# Outages are measured in the guests from the REPLY timestamps of the pings:
# outage = largest gap between consecutive replies - ping interval.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s3-failover

BR=${E2E_BR:-ovsbr0}
RUN=$E2E_WORK/run
W=$E2E_TIMEOUT
IVL=100                        # ping interval (ms)
LACP_LIMIT=${E2E_LACP_OUTAGE_LIMIT_MS:-3000}
AB_LIMIT=${E2E_AB_OUTAGE_LIMIT_MS:-1000}
SLACK=$((2 * IVL))             # measurement granularity: two ping intervals
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"

e2e_switch_start
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
vhu() { echo "-- set Interface $1 type=dpdkvhostuserclient options:vhost-server-path=$RUN/$1.sock"; }
# shellcheck disable=SC2046
vsx add-port "$BR" vm1 tag=300 $(vhu vm1)
# shellcheck disable=SC2046
vsx add-port "$BR" vm2 vlan_mode=trunk $(vhu vm2)
# shellcheck disable=SC2046
vsx add-bond "$BR" bond0 vm4a vm4b bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
  vlan_mode=trunk trunks=11,300-304 $(vhu vm4a) $(vhu vm4b)
# shellcheck disable=SC2046
vsx add-bond "$BR" bond1 vm5a vm5b bond_mode=active-backup \
  other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100 \
  vlan_mode=trunk trunks=11,300-304 $(vhu vm5a) $(vhu vm5b)

# 1400-byte pings: rebalancing (phase B) only moves load when a member
# carries at least 100 kB more than another over an interval (OVS's rule).
LONG="rv.count=1000 rv.interval=0.1 rv.size=1400 rv.timeout=200 rv.wait_peer=$W"
e2e_guest vm1 "rv.ip=172.16.30.1/24 rv.ping=172.16.30.4 $LONG rv.listen=1" \
  "vhost:$RUN/vm1.sock,mac=52:54:00:00:01:01"
e2e_guest vm2 "rv.vlan=300 rv.ip=172.16.30.2/24 rv.ping=172.16.30.4 $LONG rv.listen=1" \
  "vhost:$RUN/vm2.sock,mac=52:54:00:00:02:01"
e2e_guest vm4 "rv.bond=eth0,eth1 rv.bond_mode=802.3ad rv.lacp_rate=fast rv.xmit_hash=layer3+4 rv.vlan=300 rv.ip=172.16.30.4/24 rv.wait_lacp=$W rv.ping=172.16.30.1 $LONG rv.events=ifdown:eth1@10,ifup:eth1@18,ifdown:eth0@30,ifup:eth0@38 rv.listen=1" \
  "vhost:$RUN/vm4a.sock,mac=52:54:00:00:04:01" "vhost:$RUN/vm4b.sock,mac=52:54:00:00:04:02"
e2e_guest vm5 "rv.bond=eth0,eth1 rv.bond_mode=active-backup rv.miimon=100 rv.vlan=300 rv.ip=172.16.30.5/24 rv.ping=172.16.30.1 rv.count=1500 rv.interval=0.1 rv.timeout=250 rv.wait_peer=$W rv.listen=1" \
  "vhost:$RUN/vm5a.sock,mac=52:54:00:00:05:01" "vhost:$RUN/vm5b.sock,mac=52:54:00:00:05:02"

e2e_wait_ready vm1 vm2 vm4 vm5
l=$(e2e_wait vm4 LACP); e2e_log "$l"
e2e_wait vm4 START >/dev/null
e2e_until 30 e2e_lacp_ok bond0 vm4a vm4b || e2e_die "bond0 is not negotiated"
for n in vm1 vm2 vm5; do l=$(e2e_wait "$n" PEER); e2e_log "$l"; done

# e2e_wait_event NAME ACTION ARG: wait (polling every 50 ms) for the guest's
# EVENT line; prints it.
wait_event() {
  local end l
  end=$(($(e2e_ms) + 60000))
  while :; do
    l=$(e2e_lines "$1" EVENT | { grep -F " action=$2 arg=$3 " || true; } | head -n1)
    [ -n "$l" ] && { printf '%s\n' "$l"; return 0; }
    [ "$(e2e_ms)" -lt "$end" ] || e2e_die "$1: no EVENT $2 $3"
    sleep 0.05
  done
}

member_disabled() { ! e2e_bond_enabled "$1" "$2"; }

# check_outages LABEL LIMIT "NAME DST FROM TO"...: measure and check each flow.
check_outages() {
  local label=$1 limit=$2 spec name dst from to gap out worst=-1
  shift 2
  for spec in "$@"; do
    read -r name dst from to <<<"$spec"
    gap=$(e2e_gap "$name" "$dst" "$from" "$to")
    if [ "$gap" -lt 0 ]; then
      e2e_fail "$label: $name -> $dst: no reply at all after the event"
      continue
    fi
    out=$((gap - IVL))
    [ $out -lt 0 ] && out=0
    [ $out -gt $worst ] && worst=$out
    e2e_log "$label: flow $name -> $dst: largest reply gap ${gap} ms, outage ~${out} ms"
    e2e_check "$label: $name -> $dst outage ${out} ms <= ${limit} ms (+${SLACK} ms measurement slack)" \
      [ $out -le $((limit + SLACK)) ]
  done
  e2e_result "outage_ms_$label" "$worst"
}

# ---- A. LACP member down inside the guest (LACP timeout path)
for ep in "1 eth1 vm4b" "2 eth0 vm4a"; do
  read -r k ifc mem <<<"$ep"
  ev=$(wait_event vm4 ifdown "$ifc")
  h_down=$(e2e_ms)
  c1=$(e2e_guest_now vm1) c2=$(e2e_guest_now vm2)
  td=$(e2e_field "$ev" t_ms)
  e2e_log "A$k: $ev"
  if e2e_until 10 member_disabled bond0 "$mem"; then
    e2e_result "lacp_detect_ms_A$k" $(($(e2e_ms) - h_down))
    e2e_ok "A$k: rvswitch disabled $mem (no LACPDUs since vm4's $ifc went down)"
  else
    e2e_fail "A$k: rvswitch still has $mem enabled 10 s after vm4 took $ifc down"
  fi
  ev=$(wait_event vm4 ifup "$ifc")
  h_up=$(e2e_ms)
  tu=$(e2e_field "$ev" t_ms)
  c1u=$(e2e_guest_now vm1) c2u=$(e2e_guest_now vm2)
  e2e_log "A$k: $ev"
  if e2e_until 20 e2e_lacp_ok bond0 vm4a vm4b; then
    e2e_result "lacp_rejoin_ms_A$k" $(($(e2e_ms) - h_up))
    e2e_ok "A$k: $mem rejoined: lacp/show negotiated with both members collecting/distributing"
  else
    e2e_fail "A$k: $mem did not rejoin within 20 s of vm4's $ifc coming back"
  fi
  check_outages "A$k" "$LACP_LIMIT" "vm4 172.16.30.1 $((td - 50)) $tu" \
    "vm1 172.16.30.4 $((c1 - 500)) $c1u" "vm2 172.16.30.4 $((c2 - 500)) $c2u"
done
vs lacp/show-stats bond0 | sed 's/^/    /'

# ---- B. traffic spreads over both members again
a0=$(e2e_stat vm4a tx_packets) b0=$(e2e_stat vm4b tx_packets)
t0=$(e2e_ms)
spread() {
  local a b
  a=$(e2e_stat vm4a tx_packets) b=$(e2e_stat vm4b tx_packets)
  [ $((a - a0)) -ge 10 ] && [ $((b - b0)) -ge 10 ]
}
if e2e_until 30 spread; then
  e2e_result spread_after_rejoin_ms $(($(e2e_ms) - t0))
  e2e_ok "B: both members carry traffic again (vm4a +$(($(e2e_stat vm4a tx_packets) - a0)), vm4b +$(($(e2e_stat vm4b tx_packets) - b0)) frames)"
else
  e2e_fail "B: after the rejoin traffic did not spread over both members within 30 s (vm4a +$(($(e2e_stat vm4a tx_packets) - a0)), vm4b +$(($(e2e_stat vm4b tx_packets) - b0)))"
  vs bond/show bond0 >&2
fi

# ---- C. admin_state=down on the member the guest sends on
ra0=$(e2e_stat vm4a rx_packets) rb0=$(e2e_stat vm4b rx_packets)
sleep 2
ra=$(($(e2e_stat vm4a rx_packets) - ra0)) rb=$(($(e2e_stat vm4b rx_packets) - rb0))
victim=vm4a
[ $rb -gt $ra ] && victim=vm4b
e2e_log "C: in 2 s vm4 sent $ra frames on vm4a and $rb on vm4b: taking $victim down"
c4=$(e2e_guest_now vm4) c1=$(e2e_guest_now vm1) c2=$(e2e_guest_now vm2)
dropped0=$(e2e_stat "$victim" rx_dropped_admin_down)
vsx set interface "$victim" admin_state=down
e2e_check "C: bond/show: $victim disabled at once" e2e_until 2 member_disabled bond0 "$victim"
sleep 6
c4u=$(e2e_guest_now vm4) c1u=$(e2e_guest_now vm1) c2u=$(e2e_guest_now vm2)
e2e_log "C: $victim rx_dropped_admin_down +$(($(e2e_stat "$victim" rx_dropped_admin_down) - dropped0))"
h_up=$(e2e_ms)
vsx set interface "$victim" admin_state=up
if e2e_until 20 e2e_lacp_ok bond0 vm4a vm4b; then
  e2e_result lacp_rejoin_ms_C $(($(e2e_ms) - h_up))
  e2e_ok "C: $victim rejoined after admin_state=up"
else
  e2e_fail "C: $victim did not rejoin within 20 s of admin_state=up"
fi
check_outages C "$LACP_LIMIT" "vm4 172.16.30.1 $((c4 - 300)) $c4u" \
  "vm1 172.16.30.4 $((c1 - 300)) $c1u" "vm2 172.16.30.4 $((c2 - 300)) $c2u"

# ---- D. active-backup, miimon 100: cable pull on the active member
act=$(e2e_bond_active bond1)
ra0=$(e2e_stat vm5a rx_packets) rb0=$(e2e_stat vm5b rx_packets)
sleep 2
ra=$(($(e2e_stat vm5a rx_packets) - ra0)) rb=$(($(e2e_stat vm5b rx_packets) - rb0))
e2e_log "D: bond1 active member: $act; in 2 s vm5 sent $ra frames on vm5a, $rb on vm5b"
guest_act=vm5a
[ $rb -gt $ra ] && guest_act=vm5b
e2e_check "D: rvswitch and the guest use the same link ($act)" [ "$act" = "$guest_act" ]
case $act in vm5a) nic=nic0 other=vm5b ;; *) nic=nic1 other=vm5a ;; esac
c5=$(e2e_guest_now vm5)
h=$(e2e_ms)
e2e_monitor vm5 set_link "$nic" off
e2e_log "D: cable pulled: set_link $nic off on vm5 ($act)"
active_is() { [ "$(e2e_bond_active "$1")" = "$2" ]; }
if e2e_until 5 active_is bond1 "$other"; then
  e2e_result ab_switch_ms $(($(e2e_ms) - h))
  e2e_ok "D: rvswitch made $other the active member"
else
  e2e_fail "D: rvswitch did not move to $other within 5 s"
fi
sleep 4
c5u=$(e2e_guest_now vm5)
e2e_monitor vm5 set_link "$nic" on
e2e_log "D: cable back: set_link $nic on"
e2e_check "D: $act is enabled again" e2e_until 10 e2e_bond_enabled bond1 "$act"
sleep 4
c5b=$(e2e_guest_now vm5)
check_outages D "$AB_LIMIT" "vm5 172.16.30.1 $((c5 - 300)) $c5u"
check_outages D_restore "$AB_LIMIT" "vm5 172.16.30.1 $c5u $c5b"
grep -F 'learning packets' "$SWLOG" | sed 's/^/    /' || true

vs bond/show
