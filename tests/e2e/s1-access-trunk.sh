#!/usr/bin/env bash
# Scenario 1: access and trunk ports (seed 003, "access port" / "trunk port").
#
#   vm1  access port, tag=300          eth0      172.16.30.1/24
#   vm2  trunk port (all VLANs)        eth0.300  172.16.30.2/24
#   vm3  trunk port, trunks=301        eth0.301  172.16.30.3/24
#
# vm1 and vm2 ping each other (access <-> guest-tagged trunk on VLAN 300).
# vm3 sits in the same IP subnet but on VLAN 301: its pings to vm1 fail, and
# nothing of VLAN 300 reaches it: rvswitch's tx counter toward vm3 stays at 0
# while vm1 and vm2 ARP and ping (vm1 even ARPs for vm3's own address), and
# vm3's ARPs on VLAN 301 never reach vm1 (vm1's tx counter does not move while
# vm3 keeps ARPing). Positive control: moving vm1's port to tag=301 makes
# vm3's running ping succeed, which proves the failure was VLAN isolation.
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s1-access-trunk

BR=${E2E_BR:-ovsbr0}
RUN=$E2E_WORK/run
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"

e2e_switch_start
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
vsx add-port "$BR" vm1 vlan_mode=access tag=300 \
  -- set Interface vm1 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm1.sock"
vsx add-port "$BR" vm2 vlan_mode=trunk \
  -- set Interface vm2 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm2.sock"
vsx add-port "$BR" vm3 vlan_mode=trunk trunks=301 \
  -- set Interface vm3 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm3.sock"

W=$E2E_TIMEOUT
PING="rv.count=10 rv.interval=0.2 rv.wait_peer=$W"
e2e_guest vm1 "rv.ip=172.16.30.1/24 rv.ping=172.16.30.2,172.16.30.3 $PING rv.listen=1" \
  "vhost:$RUN/vm1.sock,mac=52:54:00:00:01:01"
e2e_guest vm2 "rv.vlan=300 rv.ip=172.16.30.2/24 rv.ping=172.16.30.1 $PING rv.listen=1" \
  "vhost:$RUN/vm2.sock,mac=52:54:00:00:02:01"
# vm3 pings vm1's address for up to 150 s, from the moment it is READY
e2e_guest vm3 "rv.vlan=301 rv.ip=172.16.30.3/24 rv.ping=172.16.30.1 rv.count=300 rv.interval=0.5 rv.timeout=200 rv.listen=1" \
  "vhost:$RUN/vm3.sock,mac=52:54:00:00:03:01"

e2e_wait_ready vm1 vm2 vm3
e2e_wait vm1 DONE >/dev/null
e2e_wait vm2 DONE >/dev/null

# ---- VLAN 300: access <-> guest-tagged trunk
p21=$(e2e_ping_line vm2 172.16.30.1)
p12=$(e2e_ping_line vm1 172.16.30.2)
p13=$(e2e_ping_line vm1 172.16.30.3)
e2e_log "$p21"
e2e_log "$p12"
e2e_log "$p13"
e2e_check "vm2 (trunk, eth0.300) -> vm1 (access 300): no loss" [ "$(e2e_field "$p21" loss)" = 0% ]
e2e_check "vm1 -> vm2: no loss" [ "$(e2e_field "$p12" loss)" = 0% ]
e2e_check "no duplicate replies on VLAN 300" [ "$(e2e_field "$p21" dups)$(e2e_field "$p12" dups)" = 00 ]
e2e_result vm2_to_vm1_loss "$(e2e_field "$p21" loss)"
e2e_result vm2_to_vm1_rtt_ms "$(e2e_field "$p21" rtt_ms)"
e2e_check "vm1 -> vm3's address (vm3 is on VLAN 301): 100% loss" [ "$(e2e_field "$p13" received)" = 0 ]
fdb=$(vs fdb/show "$BR")
e2e_check "fdb has vm1's MAC on VLAN 300 at port vm1" grep -Eq '^ +vm1 +300 +52:54:00:00:01:01 ' <<<"$fdb"
e2e_check "fdb has vm2's MAC on VLAN 300 at port vm2" grep -Eq '^ +vm2 +300 +52:54:00:00:02:01 ' <<<"$fdb"

# ---- VLAN 301 is isolated from VLAN 300
e2e_check "vm3 got no reply from vm1's address" [ -z "$(e2e_lines vm3 REPLY)" ]
vm3_tx=$(e2e_stat vm3 tx_packets)
vm3_txd=$(e2e_stat vm3 tx_dropped)
vm3_rx=$(e2e_stat vm3 rx_packets)
vm1_rx=$(e2e_stat vm1 rx_packets)
e2e_log "vm3: tx_packets=$vm3_tx tx_dropped=$vm3_txd rx_packets=$vm3_rx; vm1 rx_packets=$vm1_rx"
e2e_check "vm3 is transmitting (its ARPs for vm1 reach the switch)" [ "$vm3_rx" -gt 0 ]
e2e_assert "nothing was ever forwarded toward vm3 (tx_packets=0, tx_dropped=0) although vm1 and vm2 sent $vm1_rx frames on VLAN 300, vm1 ARPing for vm3's own address" \
  '[ "$vm3_tx" = 0 ] && [ "$vm3_txd" = 0 ]'
# a quiet window: vm1 and vm2 are done, vm3 keeps ARPing on VLAN 301
a_vm1=$(e2e_stat vm1 tx_packets) a_vm3rx=$(e2e_stat vm3 rx_packets) a_vm2=$(e2e_stat vm2 tx_packets)
sleep 4
b_vm1=$(e2e_stat vm1 tx_packets) b_vm3rx=$(e2e_stat vm3 rx_packets) b_vm2=$(e2e_stat vm2 tx_packets)
e2e_log "4 s window: vm3 sent $((b_vm3rx - a_vm3rx)) frames; switch sent $((b_vm1 - a_vm1)) to vm1, $((b_vm2 - a_vm2)) to vm2 (trunk, carries 301)"
e2e_check "vm3's VLAN-301 broadcasts were flooded to the other port carrying 301 (vm2)" [ $((b_vm2 - a_vm2)) -gt 0 ]
e2e_assert "vm3's VLAN-301 frames never reach vm1 (access 300)" '[ $((b_vm3rx - a_vm3rx)) -gt 0 ] && [ "$b_vm1" = "$a_vm1" ]'
e2e_check "still nothing toward vm3" [ "$(e2e_stat vm3 tx_packets)" = 0 ]

# ---- positive control: put vm1 on VLAN 301, vm3's ping must start working
t0=$(e2e_ms)
vsx set port vm1 tag=301
if e2e_until 30 e2e_has vm3 REPLY; then
  e2e_result retag_to_first_reply_ms $(($(e2e_ms) - t0))
  r=$(e2e_line vm3 REPLY)
  e2e_ok "after 'set port vm1 tag=301' vm3 reaches vm1 ($r)"
  e2e_check "vm3's first replies came only after the retag (seq > 0)" [ "$(e2e_field "$r" seq)" -gt 0 ]
else
  e2e_fail "vm3 still cannot reach vm1 30 s after vm1 moved to VLAN 301"
fi
e2e_check "now the switch forwards to vm3" [ "$(e2e_stat vm3 tx_packets)" -gt 0 ]
vs show
