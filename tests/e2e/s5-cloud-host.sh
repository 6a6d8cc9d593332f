#!/usr/bin/env bash
# Scenario 5: the cloud host of seed 004 (host stack, fake bridge, two
# bridges over active-backup bonds).
#
#   physical switch "sw0"               physical switch "sw1"
#   (netns, Linux bridge, 10.231.0.1)   (netns, Linux bridge, 10.231.0.2)
#        |p0       |p1                       |p2       |p3
#      rve0      rve1     (veth pairs)     rve2      rve3
#   +--[ bond0 ]----------------+       +--[ bond1 ]-----------+
#   | cloudbr0                  |       | cloudbr1             |
#   |  internal cloudbr0        |       |  internal cloudbr1   |
#   |    host 10.231.0.20/24    |       |    (no address)      |
#   |  fake bridge cloudbr100   |       |  vmpub (untagged)    |
#   |    (VLAN 100) host        |       |    10.231.0.40/24    |
#   |    10.231.100.20/24       |       +----------------------+
#   |  vm100 (tag=100)          |
#   |    10.231.100.30/24       |
#   +---------------------------+
#
# The bonds are what seed 004 configures (`add-bond ... bond_mode=
# active-backup other_config:bond-detect-mode=miimon
# other_config:bond-miimon-interval=100`); their members are kernel netdevs
# (veths, opened through AF_PACKET like OVS's userspace datapath does) whose
# peers are ports of a Linux bridge in a namespace: two ports of a physical
# switch. The host end of an internal port (the TAP rvswitch creates) stays
# in the root namespace with a private address (moving it into a namespace
# makes rvswitch see it as link down, see the report), with IPv6 off and
# arp_ignore=1; the veth members get arp_ignore=8: the kernel still sees
# frames arriving on a netdev that rvswitch reads through AF_PACKET, and the
# host stack must not answer ARP there and route between the two networks.
#
# cloudbr1's public network deliberately uses the same IP subnet as the
# management network, so any leak between the two bridges would show up as a
# successful ping; the counters of every interface of one bridge must not
# move while the other bridge floods ARP broadcasts.
#
# Checks: the host reaches the management switch over bond0 (untagged); vm100
# on VLAN 100 pings the host's fake-bridge address; VLAN 100 leaves on bond0
# tagged; the public VM reaches the public switch over bond1; nothing crosses
# between cloudbr0 and cloudbr1; an active-backup failover on bond0 (the
# active member's veth goes down, both ends lose carrier) costs at most 1 s.
# shellcheck disable=SC2016,SC2034 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s5-cloud-host

RUN=$E2E_WORK/run
W=$E2E_TIMEOUT
NS0=rve2e-sw0-$$
NS1=rve2e-sw1-$$
MGMT=10.231.0
STOR=10.231.100
AB_LIMIT=${E2E_AB_OUTAGE_LIMIT_MS:-1000}
for d in cloudbr0 cloudbr1 cloudbr100 rve0 rve1 rve2 rve3; do
  [ ! -e "/sys/class/net/$d" ] || e2e_die "a netdev named $d already exists (another run?)"
done
command -v busybox >/dev/null || e2e_die "busybox is missing (scripts/install-deps.sh)"
e2e_refuse_if_routed "$MGMT.0/24" "$STOR.0/24"
ping_() { busybox ping "$@"; }

# ---- the two physical switches
for ns in "$NS0" "$NS1"; do
  e2e_netns "$ns"
  ip -n "$ns" link add sw type bridge
  ip -n "$ns" link set sw up
done
i=0
for ns in "$NS0" "$NS0" "$NS1" "$NS1"; do
  e2e_veth "rve$i" "p$i"
  ip link set "p$i" netns "$ns"
  ip -n "$ns" link set "p$i" master sw
  ip -n "$ns" link set "p$i" up
  # the member stays a kernel netdev that the host stack also sees (AF_PACKET
  # only taps it): never answer ARP on it, or the host would route between
  # the two networks
  sysctl -qw "net.ipv4.conf.rve$i.arp_ignore=8" >/dev/null
  ip link set "rve$i" up
  i=$((i + 1))
done
ip -n "$NS0" addr add "$MGMT.1/24" dev sw
ip -n "$NS1" addr add "$MGMT.2/24" dev sw
e2e_log "switch sw0 (netns $NS0): $MGMT.1 on ports p0 p1; switch sw1 (netns $NS1): $MGMT.2 on ports p2 p3"

# ---- rvswitch, configured as seed 004 configures OVS
e2e_switch_start
vsx add-br cloudbr0 -- set bridge cloudbr0 datapath_type=netdev
vsx add-br cloudbr1 -- set bridge cloudbr1 datapath_type=netdev
vsx add-bond cloudbr0 bond0 rve0 rve1 bond_mode=active-backup \
  other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100
vsx add-bond cloudbr1 bond1 rve2 rve3 bond_mode=active-backup \
  other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100
vsx add-br cloudbr100 cloudbr0 100
vsx add-port cloudbr0 vnet100 tag=100 \
  -- set Interface vnet100 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vnet100.sock"
vsx add-port cloudbr1 vnetpub \
  -- set Interface vnetpub type=dpdkvhostuserclient options:vhost-server-path="$RUN/vnetpub.sock"
for t in cloudbr0 cloudbr1 cloudbr100; do
  e2e_until 10 test -e "/sys/class/net/$t" || e2e_die "internal port $t did not appear"
  e2e_quiet_if "$t"
  sysctl -qw "net.ipv4.conf.$t.arp_ignore=1" >/dev/null # reply only for its own address
done
ip addr add "$MGMT.20/24" dev cloudbr0
ip addr add "$STOR.20/24" dev cloudbr100
e2e_log "host: $MGMT.20/24 on cloudbr0, $STOR.20/24 on cloudbr100 (fake bridge, VLAN 100)"

e2e_guest vm100 "rv.ip=$STOR.30/24 rv.ping=$STOR.20 rv.count=10 rv.interval=0.2 rv.wait_peer=$W rv.listen=1" \
  "vhost:$RUN/vnet100.sock,mac=52:54:00:00:64:01"
e2e_guest vmpub "rv.ip=$MGMT.40/24 rv.ping=$MGMT.2,$MGMT.1,$MGMT.20 rv.count=10 rv.interval=0.2 rv.wait_peer=$W rv.listen=1" \
  "vhost:$RUN/vnetpub.sock,mac=52:54:00:00:65:01"

has_active() { [ -n "$(e2e_bond_active "$1")" ]; }
for b in bond0 bond1; do e2e_until 10 has_active "$b" || true; done
act0=$(e2e_bond_active bond0)
act1=$(e2e_bond_active bond1)
e2e_log "active members: bond0 $act0, bond1 $act1"
e2e_assert "bond0 and bond1 have an active member" '[ -n "$act0" ] && [ -n "$act1" ]'

# ---- management: host stack over bond0, untagged
out=$(ping_ -c 5 -i 0.2 -W 2 "$MGMT.1" 2>&1) || true
e2e_log "host -> sw0: $(grep -E 'transmitted|round-trip' <<<"$out" | tr '\n' ' ')"
e2e_check "host ($MGMT.20 on internal port cloudbr0) reaches the management switch $MGMT.1 over bond0" \
  grep -q ' 0% packet loss' <<<"$out"

e2e_wait_ready vm100 vmpub
e2e_wait vm100 DONE >/dev/null
e2e_wait vmpub DONE >/dev/null

# ---- storage VLAN 100 through the fake bridge
p=$(e2e_ping_line vm100 "$STOR.20")
e2e_log "$p"
e2e_check "vm100 (tag 100) pings the host's fake-bridge address $STOR.20 without loss" [ "$(e2e_field "$p" loss)" = 0% ]
e2e_result vm100_to_host_vlan100_loss "$(e2e_field "$p" loss)"
e2e_result vm100_to_host_vlan100_rtt_ms "$(e2e_field "$p" rtt_ms)"
# VLAN 100 leaves on bond0 tagged: an ARP broadcast from the host's
# cloudbr100 reaches sw0 with an 802.1Q tag 100
cap=$E2E_WORK/sw0-vlan100.txt
timeout 10 ip netns exec "$NS0" tcpdump -l -nn -e -i sw -c 1 'vlan 100 and arp' >"$cap" 2>/dev/null &
tcpd=$!
E2E_EXTRA_PIDS+=("$tcpd")
sleep 1.5
ping_ -c 2 -W 1 "$STOR.99" >/dev/null 2>&1 || true
wait "$tcpd" 2>/dev/null || true
e2e_log "sw0 saw: $(head -n1 "$cap")"
e2e_check "the fake bridge's VLAN 100 leaves rvswitch on bond0 with an 802.1Q tag 100" grep -q 'vlan 100' "$cap"

# ---- public network on cloudbr1
p=$(e2e_ping_line vmpub "$MGMT.2")
e2e_log "$p"
e2e_check "vmpub (cloudbr1) reaches the public switch $MGMT.2 over bond1 without loss" [ "$(e2e_field "$p" loss)" = 0% ]
e2e_result vmpub_to_sw1_loss "$(e2e_field "$p" loss)"

# ---- separation of cloudbr0 and cloudbr1
for dst in "$MGMT.1" "$MGMT.20"; do
  p=$(e2e_ping_line vmpub "$dst")
  e2e_log "$p"
  e2e_check "vmpub (cloudbr1) cannot reach $dst on cloudbr0 although it is in the same subnet" [ "$(e2e_field "$p" received)" = 0 ]
done
BR0_IFS=(rve0 rve1 vnet100 cloudbr0 cloudbr100)
BR1_IFS=(rve2 rve3 vnetpub cloudbr1)
tx_list() {
  local i
  for i in "$@"; do printf '%s=%s ' "$i" "$(e2e_stat "$i" tx_packets)"; done
}
# quiet IFACE...: wait until their tx counters stay still for 2 s (earlier
# traffic, e.g. the kernel's last ARP retries, has died out); prints them.
quiet() {
  local a b end
  end=$(($(e2e_ms) + 30000))
  a=$(tx_list "$@")
  while :; do
    sleep 2
    b=$(tx_list "$@")
    [ "$a" = "$b" ] && { printf '%s\n' "$b"; return 0; }
    [ "$(e2e_ms)" -lt "$end" ] || { printf '%s\n' "$b"; return 1; }
    a=$b
  done
}
# capture NS FILE: record what reaches that switch from rvswitch's bond
capture() {
  timeout 30 ip netns exec "$1" tcpdump -l -nn -e -i sw >"$2" 2>/dev/null &
  E2E_EXTRA_PIDS+=("$!")
  CAP_PID=$!
  sleep 1
}
stop_capture() {
  kill "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
}
# X: cloudbr0 floods ARP for vmpub's address; nothing may come out of cloudbr1
before=$(quiet "${BR1_IFS[@]}") || e2e_log "cloudbr1 never went quiet: $before"
capture "$NS1" "$E2E_WORK/sw1-during-X.txt"
rx0=$(e2e_stat "$act0" rx_packets)
o1=$(ip netns exec "$NS0" busybox ping -c 3 -W 1 "$MGMT.40" 2>&1 || true)
o2=$(ping_ -c 3 -W 1 "$MGMT.40" 2>&1 || true)
sleep 1
after=$(tx_list "${BR1_IFS[@]}")
stop_capture
e2e_log "cloudbr0 side ARPed for $MGMT.40: bond0 received $(($(e2e_stat "$act0" rx_packets) - rx0)) frames; cloudbr1 tx before: $before; after: $after"
e2e_assert "sw0 and the host cannot reach vmpub ($MGMT.40) on cloudbr1" \
  'grep -q "100% packet loss" <<<"$o1" && grep -q "100% packet loss" <<<"$o2"'
if [ "$before" = "$after" ]; then
  e2e_ok "no frame left any cloudbr1 interface meanwhile"
else
  e2e_fail "frames left cloudbr1 interfaces while only cloudbr0 had traffic; sw1 received:"
  cat "$E2E_WORK/sw1-during-X.txt" >&2
fi
# Y: cloudbr1 floods ARP for the management addresses; nothing on cloudbr0
before=$(quiet "${BR0_IFS[@]}") || e2e_log "cloudbr0 never went quiet: $before"
capture "$NS0" "$E2E_WORK/sw0-during-Y.txt"
rx1=$(e2e_stat "$act1" rx_packets)
o1=$(ip netns exec "$NS1" busybox ping -c 3 -W 1 "$MGMT.20" 2>&1 || true)
o2=$(ip netns exec "$NS1" busybox ping -c 3 -W 1 "$MGMT.1" 2>&1 || true)
sleep 1
after=$(tx_list "${BR0_IFS[@]}")
stop_capture
e2e_log "cloudbr1 side ARPed for $MGMT.20 and $MGMT.1: bond1 received $(($(e2e_stat "$act1" rx_packets) - rx1)) frames; cloudbr0 tx before: $before; after: $after"
e2e_assert "sw1 cannot reach the host ($MGMT.20) or sw0 ($MGMT.1)" \
  'grep -q "100% packet loss" <<<"$o1" && grep -q "100% packet loss" <<<"$o2"'
if [ "$before" = "$after" ]; then
  e2e_ok "no frame left any cloudbr0 interface meanwhile"
else
  e2e_fail "frames left cloudbr0 interfaces while only cloudbr1 had traffic; sw0 received:"
  cat "$E2E_WORK/sw0-during-Y.txt" >&2
fi
no_br0_macs() {
  ! vs fdb/show cloudbr1 | grep -Eiq "52:54:00:00:64:01|$(cat /sys/class/net/cloudbr0/address)|$(cat /sys/class/net/cloudbr100/address)"
}
e2e_check "the fdb of cloudbr1 holds no MAC of cloudbr0's side (vm100, host TAPs)" no_br0_macs

# ---- active-backup failover on bond0: the active member's link goes down
case $act0 in rve0) other=rve1 ;; *) other=rve0 ;; esac
plog=$E2E_WORK/failover-ping.txt
ping_ -i 0.1 -c 100 -W 1 "$MGMT.1" >"$plog" 2>&1 &
pp=$!
E2E_EXTRA_PIDS+=("$pp")
sleep 3
h=$(e2e_ms)
ip link set "$act0" down
e2e_log "bond0: $act0 (active) link down"
active_is() { [ "$(e2e_bond_active "$1")" = "$2" ]; }
if e2e_until 5 active_is bond0 "$other"; then
  e2e_result ab_switch_ms $(($(e2e_ms) - h))
  e2e_ok "rvswitch made $other the active member of bond0"
else
  e2e_fail "bond0 did not move to $other within 5 s: the kernel says $act0 is $(cat "/sys/class/net/$act0/operstate"), rvswitch says link_state=$(vs get Interface "$act0" link_state); bond/show: $(vs bond/show bond0 | grep -A1 '^member' | tr '\n' ' ')"
fi
sleep 3
ip link set "$act0" up
e2e_log "bond0: $act0 link up again"
both_enabled() { e2e_bond_enabled bond0 rve0 && e2e_bond_enabled bond0 rve1; }
e2e_check "both members of bond0 enabled again" e2e_until 10 both_enabled
wait "$pp" 2>/dev/null || true
seqs=$(sed -n 's/.*seq=\([0-9]*\).*/\1/p' "$plog")
# largest distance between received sequence numbers, counting the start
# (-1) and the end (100) of the run, times the 100 ms interval
gap=$( (echo -1; echo "$seqs"; echo 100) | awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g * 100 }')
lost=$((100 - $(grep -c . <<<"$seqs" || true)))
e2e_log "host -> sw0 during the failover: $(grep -E 'transmitted' "$plog"), largest gap ${gap} ms"
e2e_result ab_failover_lost_pings "$lost"
e2e_result outage_ms_ab_failover $((gap - 100))
e2e_check "failover of bond0 cost at most $AB_LIMIT ms (lost $lost pings at 0.1 s, largest gap $gap ms)" [ $((gap - 100)) -le "$AB_LIMIT" ]
grep -F 'learning packets' "$SWLOG" | sed 's/^/    /' || true

vs show
vs bond/show bond0
vs fdb/show cloudbr0
