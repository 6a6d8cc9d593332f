#!/usr/bin/env bash
# Scenario 2: an LACP bond toward a Linux 802.3ad partner (seed 003's
# port-channel: trunk 11,300-304, LACP active, fast).
#
# Three guests play the physical switch's port-channel, each with two NICs
# bonded by Linux in 802.3ad mode (xmit_hash_policy layer3+4) and VLAN 300
# on top; they boot in parallel, one per rvswitch bond:
#
#   bond0 <-> vm4f  lacp_rate fast, LACP active   172.16.30.41
#   bond1 <-> vm4s  lacp_rate slow, LACP active   172.16.30.42
#   bond2 <-> vm4p  lacp_rate fast, LACP passive  172.16.30.43
#
# Every rvswitch bond is `bond_mode=balance-tcp lacp=active
# other_config:lacp-time=fast vlan_mode=trunk trunks=11,300-304`. vm1 is an
# access VM on VLAN 300 (172.16.30.1). For each pair the test asserts that
# LACP is negotiated on both sides (the guest's /proc/net/bonding/bond0 shows
# rvswitch's system MAC as partner and one aggregator holding both ports, with
# the expected actor/partner states; `vsctl lacp/show` says negotiated, both
# members current and collecting/distributing, with the guest as partner) and
# that the guest pings vm1 without loss.
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s2-lacp

BR=${E2E_BR:-ovsbr0}
RUN=$E2E_WORK/run
W=$E2E_TIMEOUT
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"

e2e_switch_start
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
vsx add-port "$BR" vm1 vlan_mode=access tag=300 \
  -- set Interface vm1 type=dpdkvhostuserclient options:vhost-server-path="$RUN/vm1.sock"

# variant: guest bond, rvswitch bond, lacp_rate, lacp_active, last IP byte,
# MAC byte, expected guest actor state, expected rvswitch partner-state words
VARIANTS=(
  "vm4f bond0 fast 1 41 41 63"
  "vm4s bond1 slow 1 42 42 61"
  "vm4p bond2 fast 0 43 43 62"
)
for v in "${VARIANTS[@]}"; do
  read -r g bond rate act ip mb _ <<<"$v"
  vsx add-bond "$BR" "$bond" "${g}a" "${g}b" \
    bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
    vlan_mode=trunk trunks=11,300-304 \
    -- set Interface "${g}a" type=dpdkvhostuserclient options:vhost-server-path="$RUN/${g}a.sock" \
    -- set Interface "${g}b" type=dpdkvhostuserclient options:vhost-server-path="$RUN/${g}b.sock"
done

e2e_guest vm1 "rv.ip=172.16.30.1/24 rv.listen=1" "vhost:$RUN/vm1.sock,mac=52:54:00:00:01:01"
for v in "${VARIANTS[@]}"; do
  read -r g bond rate act ip mb _ <<<"$v"
  e2e_guest "$g" "rv.bond=eth0,eth1 rv.bond_mode=802.3ad rv.lacp_rate=$rate rv.lacp_active=$act rv.xmit_hash=layer3+4 rv.miimon=100 rv.vlan=300 rv.ip=172.16.30.$ip/24 rv.wait_lacp=$W rv.ping=172.16.30.1 rv.wait_peer=$W rv.count=20 rv.interval=0.2 rv.show_bond=1 rv.listen=1" \
    "vhost:$RUN/${g}a.sock,mac=52:54:00:00:$mb:01" "vhost:$RUN/${g}b.sock,mac=52:54:00:00:$mb:02"
done

e2e_wait_ready vm1 vm4f vm4s vm4p

for v in "${VARIANTS[@]}"; do
  read -r g bond rate act ip mb actor <<<"$v"
  e2e_log "---- $g ($bond): guest lacp_rate=$rate lacp_active=$act"
  lacp=$(e2e_wait "$g" LACP)
  e2e_log "$lacp"
  e2e_assert "$g: guest reports its LACP bond up with 2 ports" \
    '[ "$(e2e_field "$lacp" status)" = up ] && [ "$(e2e_field "$lacp" ports)" = 2 ]'
  e2e_result "guest_lacp_wait_ms_$g" "$(e2e_field "$lacp" wait_ms)"
  e2e_until 30 e2e_lacp_ok "$bond" "${g}a" "${g}b" || true
  e2e_check "$g: vsctl lacp/show $bond: negotiated, ${g}a and ${g}b current and collecting/distributing" \
    e2e_lacp_ok "$bond" "${g}a" "${g}b"
  # rvswitch side: from the vhost link coming up (the guest's virtio driver
  # started) to the member being enabled by LACP; includes the guest's
  # time to set up its bond, so it is an upper bound of the negotiation
  t_up=$(e2e_swlog_ms "${g}b: link up" 1 || echo 0)
  t_en=$(e2e_swlog_ms "bond $bond: member ${g}b: LACP enabled" 1 || echo 0)
  if [ "$t_up" -gt 0 ] && [ "$t_en" -ge "$t_up" ]; then
    e2e_result "switch_link_up_to_lacp_enabled_ms_$g" $((t_en - t_up))
  fi

  sysid=$(e2e_lacp_sysid "$bond")
  show=$(vs lacp/show "$bond")
  e2e_check "$g: rvswitch sees the guest (52:54:00:00:$mb:01) as partner on both members" \
    [ "$(grep -c "^  partner sys_id: 52:54:00:00:$mb:01" <<<"$show")" = 2 ]
  pstate=$(grep '^  partner state:' <<<"$show" | head -n1)
  case $rate in fast) want_t=1 ;; *) want_t=0 ;; esac
  have_t=0
  grep -qw timeout <<<"$pstate" && have_t=1
  e2e_check "$g: partner state in lacp/show matches lacp_rate=$rate ($pstate)" [ $have_t = $want_t ]
  have_a=0
  grep -qw activity <<<"$pstate" && have_a=1
  e2e_check "$g: partner state in lacp/show matches lacp_active=$act" [ $have_a = "$act" ]

  done_line=$(e2e_wait "$g" DONE)
  state=$(e2e_line "$g" BOND-STATE)
  e2e_log "$state"
  e2e_check "$g: guest's partner MAC is rvswitch's LACP system id $sysid" \
    [ "$(e2e_field "$state" partner_mac)" = "$sysid" ]
  e2e_assert "$g: guest has one active aggregator holding both ports" \
    '[ "$(e2e_field "$state" ports)" = 2 ] && [ "$(e2e_field "$state" active_agg)" != - ]'
  agg=$(e2e_field "$state" active_agg)
  for s in $(e2e_lines "$g" BOND-SLAVE | grep -F ' reason=done ' | tr ' ' '\n' | sed -n 's/^if=//p'); do
    sl=$(e2e_lines "$g" BOND-SLAVE | { grep -F " reason=done if=$s " || true; } | head -n1)
    e2e_log "$sl"
    e2e_assert "$g/$s: in aggregator $agg, actor state $actor, partner (rvswitch, active+fast) state 63" \
      '[ "$(e2e_field "$sl" agg)" = "$agg" ] && [ "$(e2e_field "$sl" actor_state)" = "$actor" ] &&
       [ "$(e2e_field "$sl" partner_state)" = 63 ]'
  done
  dump=$(rvguest_bond_dump "${E2E_LOG[$g]}" "$g" "done")
  e2e_check "$g: /proc/net/bonding/bond0 names $sysid as partner of the aggregator and of both ports" \
    [ "$(grep -ci "mac address: $sysid" <<<"$dump")" -ge 3 ]
  e2e_check "$g: /proc/net/bonding/bond0 shows 'Number of ports: 2'" grep -q 'Number of ports: 2' <<<"$dump"
  p=$(e2e_ping_line "$g" 172.16.30.1)
  e2e_log "$p"
  e2e_check "$g pings vm1 through $bond without loss" [ "$(e2e_field "$p" loss)" = 0% ]
  e2e_result "ping_loss_$g" "$(e2e_field "$p" loss)"
  e2e_result "ping_rtt_ms_$g" "$(e2e_field "$p" rtt_ms)"
  [ "$(e2e_field "$done_line" status)" = ok ] || e2e_fail "$g: guest reported configuration errors"
done

# The three bonds share the bridge's system id, so they must differ in
# their aggregation keys, or a switch facing two of them could aggregate the
# links of both into one port-channel (OVS: key = port id of the first
# member, port ids = the bridge's OpenFlow port numbers).
e2e_log "---- distinct LACP identities of bonds on one bridge"
ids=$(for b in bond0 bond1 bond2; do
  vs lacp/show "$b" | awk -v b="$b" '/^  sys_id:/ { s = $2 } /^  aggregation key:/ { print b, s, $3 }'
done)
e2e_log "$(tr '\n' ';' <<<"$ids")"
e2e_check "bonds sharing system id $(e2e_lacp_sysid bond0) use distinct aggregation keys" \
  [ -z "$(awk '{ print $2, $3 }' <<<"$ids" | sort | uniq -d)" ]
pids=$(for b in bond0 bond1 bond2; do vs lacp/show "$b" | sed -n 's/^  port_id: //p'; done)
e2e_check "members of different bonds on one bridge use distinct LACP port ids ($(tr '\n' ' ' <<<"$pids"))" \
  [ -z "$(sort <<<"$pids" | uniq -d)" ]

vs lacp/show bond0
vs bond/show bond0
