# shellcheck shell=bash
# shellcheck disable=SC2034 # ALL_SCENARIOS, SCEN_DESC, PEER, SINKS, NOTE are read by bench.sh
# The benchmark scenarios, written once in the ovs-vsctl/ovs-appctl language
# and run unchanged against both switches (sw_vsctl/sw_appctl dispatch to the
# driver selected by SW). Each scen_<ID> configures the running switch and
# sets SINKS (the interfaces whose transmitted frames are counted) and NOTE.
#
# "Physical" ports are net_pcap vdevs: sources replay a pcap forever
# (infinite_rx=1); with no tx_pcap/tx_iface a pcap port counts and drops
# what it transmits. A port that only sinks replays an empty pcap.

ALL_SCENARIOS=(P1 P2 P3 P4 P5 P6)
# QoS conformance, run only when asked for (--scenarios Q1,Q2,Q3).
QOS_SCENARIOS=(Q1 Q2 Q3)

declare -A SCEN_DESC=(
  [P1]="phy A <-> phy B, untagged, 1 flow each way, MACs learned"
  [P2]="A access 300 (1,000 flows) <-> B trunk 300,301 (1,000 flows)"
  [P3]="phy (1,000 flows) -> vhost-user -> testpmd rxonly"
  [P4]="testpmd txonly -> vhost-user -> phy sink"
  [P5]="P2 with B a bond of two pcap members"
  [P6]="P2 with 100,000 source MACs on A"
  [Q1]="phy A -> phy sink with an egress-policer, 64-byte frames"
  [Q2]="phy A -> phy sink with an egress-policer, 1,500-byte frames"
  [Q3]="phy A with ingress policing -> phy sink, 64-byte frames"
)

MAC_A=02:00:00:00:0a:01
MAC_B=02:00:00:00:0b:01
MAC_VM=02:00:00:00:0c:01
MAC_VMTX=02:00:00:00:0c:02
MAC_SINK=02:00:00:00:0d:01
MAC_A6_BASE=02:00:0a:00:00:00
# P6_MACS may be overridden from the environment for experiments; the
# scenario as specified (and the goal) is 100,000.
P6_MACS=${P6_MACS:-100000}
P6_TABLE_SIZE=200000
# Q1..Q3: the configured rate, in bytes of IP packets per second (OVS's
# unit for cir and ingress_policing_rate), far below what the source
# offers; the depth is 10 ms of it. Q3 sets ingress_policing_rate in kbit/s.
QOS_CIR=${QOS_CIR:-10000000}
QOS_CBS=$((QOS_CIR / 100))

sw_vsctl() { "${SW}_vsctl" "$@"; }
sw_appctl() { "${SW}_appctl" "$@"; }

# make_pcaps DIR: every pcap the scenarios replay.
make_pcaps() {
  local d=$1 g="$PY $BENCH_DIR/mkpcap.py"
  mkdir -p "$d"
  $g "$d/p1_a.pcap" --src-mac $MAC_A --dst-mac $MAC_B --flows 1 --dir 0 &&
    $g "$d/p1_b.pcap" --src-mac $MAC_B --dst-mac $MAC_A --flows 1 --dir 1 &&
    $g "$d/p2_a.pcap" --src-mac $MAC_A --dst-mac $MAC_B --flows 1000 --dir 0 &&
    $g "$d/p2_b.pcap" --src-mac $MAC_B --dst-mac $MAC_A --flows 1000 --dir 1 --vlan 300 &&
    $g "$d/p3_a.pcap" --src-mac $MAC_A --dst-mac $MAC_VM --flows 1000 --dir 0 &&
    $g "$d/p5_b1.pcap" --src-mac $MAC_B --dst-mac $MAC_A --flows 1000 --dir 1 --vlan 300 &&
    $g "$d/p5_b2.pcap" --src-mac $MAC_B --dst-mac $MAC_A --flows 1000 --dir 2 --vlan 300 &&
    $g "$d/p6_a.pcap" --src-mac $MAC_A6_BASE --src-macs "$P6_MACS" --dst-mac $MAC_B --flows 1000 --dir 0 &&
    $g "$d/p6_b.pcap" --src-mac $MAC_B --dst-mac $MAC_A6_BASE --dst-macs $((P6_MACS < 1000 ? P6_MACS : 1000)) \
      --dst-mac-step $((P6_MACS < 1000 ? 1 : P6_MACS / 1000)) --flows 1000 --dir 1 --vlan 300 &&
    $g "$d/q_a60.pcap" --src-mac $MAC_A --dst-mac $MAC_SINK --flows 1 --dir 0 &&
    $g "$d/q_a1500.pcap" --src-mac $MAC_A --dst-mac $MAC_SINK --flows 1 --dir 0 --size 1500 &&
    $g "$d/empty.pcap" --empty
}

# pcap_port NAME INDEX PCAP [infinite]: "-- add-port" words for a pcap port.
# Quoted value: the device string holds commas and '='.
pcap_iface() {
  local name=$1 idx=$2 pcap=$3 inf=${4:-1} dev
  dev="net_pcap$idx,rx_pcap=$PCAPS/$pcap"
  [ "$inf" = 1 ] && dev="$dev,infinite_rx=1"
  echo "$name" "type=dpdk" "options:dpdk-devargs=\"$dev\""
}

add_br() { sw_vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev; }

# add_pcap_port NAME INDEX PCAP INFINITE [PORT-COLUMNS...]
add_pcap_port() {
  local name=$1 idx=$2 pcap=$3 inf=$4 iface
  shift 4
  read -r -a iface <<<"$(pcap_iface "$name" "$idx" "$pcap" "$inf")"
  sw_vsctl add-port "$BR" "$name" "$@" -- set Interface "${iface[@]}"
}

scen_P1() {
  add_br &&
    add_pcap_port pa 0 p1_a.pcap 1 &&
    add_pcap_port pb 1 p1_b.pcap 1 || return 1
  SINKS=(pa pb)
}

scen_P2() {
  add_br &&
    add_pcap_port pa 0 p2_a.pcap 1 tag=300 &&
    add_pcap_port pb 1 p2_b.pcap 1 trunks=300,301 || return 1
  SINKS=(pa pb)
}

scen_P3() {
  local sock="$SW_DIR/vm-rx.sock"
  testpmd_vhost_peer peer "$sock" $MAC_VM rxonly || return 1
  PEER=peer
  # The VM never sends: give the switch its MAC before traffic starts.
  add_br &&
    sw_vsctl add-port "$BR" vhu0 -- set Interface vhu0 type=dpdkvhostuserclient \
      "options:vhost-server-path=\"$sock\"" &&
    sw_appctl fdb/add "$BR" vhu0 0 $MAC_VM >/dev/null &&
    add_pcap_port pa 0 p3_a.pcap 1 || return 1
  SINKS=(vhu0)
}

scen_P4() {
  local sock="$SW_DIR/vm-tx.sock"
  testpmd_vhost_peer peer "$sock" $MAC_VMTX txonly --txpkts=60 --eth-peer=0,$MAC_SINK || return 1
  PEER=peer
  # The sink never sends: static FDB entry for the frames' destination.
  add_br &&
    add_pcap_port ps 0 empty.pcap 0 &&
    sw_appctl fdb/add "$BR" ps 0 $MAC_SINK >/dev/null &&
    sw_vsctl add-port "$BR" vhu0 -- set Interface vhu0 type=dpdkvhostuserclient \
      "options:vhost-server-path=\"$sock\"" || return 1
  SINKS=(ps)
}

# P5: balance-tcp needs negotiated LACP on both switches; a pcap port never
# answers LACPDUs. The first run on each switch tries balance-tcp with
# active fast LACP and records what lacp/show says; every run then measures
# balance-slb without LACP (lacp-fallback-ab would give active-backup, which
# is not the point).
declare -A P5_PROBED=()
scen_P5() {
  local b1 b2 status
  read -r -a b1 <<<"$(pcap_iface b1 1 p5_b1.pcap 1)"
  read -r -a b2 <<<"$(pcap_iface b2 2 p5_b2.pcap 1)"
  add_br &&
    add_pcap_port pa 0 p2_a.pcap 1 tag=300 || return 1
  if [ -z "${P5_PROBED[$SW]:-}" ]; then
    sw_vsctl add-bond "$BR" bond0 b1 b2 trunks=300,301 bond_mode=balance-tcp lacp=active \
      other_config:lacp-time=fast -- set Interface "${b1[@]}" -- set Interface "${b2[@]}" || return 1
    sleep 4
    status=$(sw_appctl lacp/show bond0 2>&1 | awk -F': *' '/^[[:space:]]*status:/ {print $2; exit}')
    P5_PROBED[$SW]=${status:-unknown}
    log "P5 $SW: balance-tcp with lacp=active against pcap members: lacp/show status '${P5_PROBED[$SW]}'"
    # Start the measured bond afresh: OVS 3.1 leaves both members disabled
    # (may_enable false) after "set Port bond0 lacp=off".
    sw_vsctl del-port "$BR" bond0 || return 1
  fi
  sw_vsctl add-bond "$BR" bond0 b1 b2 trunks=300,301 bond_mode=balance-slb lacp=off \
    -- set Interface "${b1[@]}" -- set Interface "${b2[@]}" || return 1
  SINKS=(pa b1 b2)
  NOTE="balance-slb (balance-tcp probe: LACP status '${P5_PROBED[$SW]}')"
}

scen_P6() {
  sw_vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev \
    other_config:mac-table-size=$P6_TABLE_SIZE &&
    add_pcap_port pa 0 p6_a.pcap 1 tag=300 &&
    add_pcap_port pb 1 p6_b.pcap 1 trunks=300,301 || return 1
  SINKS=(pa pb)
  NOTE="$P6_MACS source MACs, mac-table-size=$P6_TABLE_SIZE"
}

# q_topology LEN: source pa replaying LEN-byte frames to MAC_SINK, sink ps
# (known by a static FDB entry, so nothing floods).
q_topology() {
  add_br &&
    add_pcap_port ps 1 empty.pcap 0 &&
    sw_appctl fdb/add "$BR" ps 0 $MAC_SINK >/dev/null &&
    add_pcap_port pa 0 "q_a$1.pcap" 1 || return 1
  SINKS=(ps)
}

# q_egress_policer: OVS's egress-policer on the sink's port.
q_egress_policer() {
  sw_vsctl set port ps qos=@q -- --id=@q create qos type=egress-policer \
    "other_config:cir=$QOS_CIR" "other_config:cbs=$QOS_CBS" >/dev/null
}

# NOTE carries what report.py needs: the configured rate and frame length.
scen_Q1() {
  q_topology 60 && q_egress_policer || return 1
  NOTE="qos cir=$QOS_CIR len=60"
}

scen_Q2() {
  q_topology 1500 && q_egress_policer || return 1
  NOTE="qos cir=$QOS_CIR len=1500"
}

scen_Q3() {
  q_topology 60 &&
    sw_vsctl set interface pa ingress_policing_rate=$((QOS_CIR * 8 / 1000)) \
      ingress_policing_burst=$((QOS_CBS * 8 / 1000)) || return 1
  NOTE="qos cir=$QOS_CIR len=60"
}
