#!/usr/bin/env bash
# Scenario 7: rvswitch under a real libvirt (Debian 12's libvirt 9.0), as a
# host that runs libvirt without Open vSwitch adopts it.
#
# The test starts its own virtlogd and libvirtd (no systemd here) with a
# directory on PATH that holds `ovs-vsctl` and `ovs-appctl` as links to
# rvswitch's vsctl (what scripts/install-ovs-names.sh installs), and drives
# libvirt only with virsh define/start/destroy/undefine and
# net-define/net-start. Three TCG domains (type='qemu', the e2e guest kernel
# and initramfs through <os><kernel>/<initrd>/<cmdline>, memfd shared
# memory), all on VLAN 300 of ovsbr0:
#
#   lv1  <interface type='vhostuser'> (QEMU the socket server, rvswitch's
#        dpdkvhostuserclient port vm1 with tag=300, added with vsctl)
#   lv2  <interface type='bridge'> <virtualport type='openvswitch'/>
#        <vlan><tag id='300'/></vlan> <bandwidth> on a TAP: libvirt itself
#        runs ovs-vsctl add-port, the QoS and policing commands; the TAP
#        becomes a kernel-netdev port
#   lv3  <interface type='network'> on a libvirt network with portgroups
#        (seed 003: <portgroup name='vlan-300'>)
#
# Checks: all three ping each other; libvirt's port has tag 300 and
# libvirt's external-ids; the <bandwidth> rates are enforced: what passes a
# ping flood from lv2 (outbound -> ingress_policing_rate) and toward lv2
# (inbound -> linux-htb QoS on its port) is within +-10% of the average
# (measured from rvswitch's byte counters over a window, with the flood
# checked to be well above the rate); `virsh destroy` removes libvirt's
# ports (libvirt's own del-port; libvirt 9.0 leaves its QoS and Queue rows,
# unreferenced, as it does with OVS).
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s7-libvirt

for t in virsh libvirtd virtlogd; do
  command -v "$t" >/dev/null || e2e_die "$t is missing (scripts/install-deps.sh installs libvirt-daemon-system and libvirt-clients)"
done
# (zombies of an earlier run do not count)
for p in $(pgrep -x libvirtd); do
  if e2e_pid_running "$p"; then
    e2e_die "a libvirtd is already running (pid $p); s7 starts its own (stop it first)"
  fi
done
id libvirt-qemu >/dev/null 2>&1 || e2e_die "user libvirt-qemu is missing (libvirt-daemon-system)"

BR=${E2E_BR:-ovsbr0}
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"
W=$E2E_TIMEOUT
VIRSH=(virsh -q -c qemu:///system)
PFX=rvs7$$ # domain and network names
NET=${PFX}net
# <bandwidth> averages in kB/s (libvirt's unit, 1000 bytes): the flood from
# lv2 is policed at OUT_KBS, what goes toward lv2 limited to IN_KBS.
OUT_KBS=${E2E_S7_OUT_KBS:-100}
IN_KBS=${E2E_S7_IN_KBS:-80}
FLOOD_S=${E2E_S7_FLOOD_S:-8}

# ------------------------------------------------------------ libvirt

LV=$E2E_WORK/libvirt # files QEMU (libvirt-qemu:kvm) reads and writes
mkdir -p "$LV/img" "$LV/g" "$E2E_WORK/ovsbin"
cp "$RV_GUEST_KERNEL" "$LV/img/vmlinuz"
cp "$RV_GUEST_INITRAMFS" "$LV/img/initrd"
chown -R libvirt-qemu:kvm "$LV"
chmod 755 "$LV" "$LV/img" "$LV/g"
# one directory per vhost-user socket, owned by QEMU's user, writable by it
# only (rvswitch's vhost_trust checks)
install -d -o libvirt-qemu -g kvm -m 0750 "$LV/vhost-lv1"
ln -s "$VSCTL" "$E2E_WORK/ovsbin/ovs-vsctl"
ln -s "$VSCTL" "$E2E_WORK/ovsbin/ovs-appctl"

LIBVIRTD_PID=$E2E_WORK/run/libvirtd.pid
VIRTLOGD_PID=$E2E_WORK/run/virtlogd.pid
s7_cleanup() {
  local d f p _
  for d in lv1 lv2 lv3; do
    "${VIRSH[@]}" destroy "$PFX-$d" >/dev/null 2>&1 || true
    "${VIRSH[@]}" undefine "$PFX-$d" >/dev/null 2>&1 || true
    unset "E2E_PID[$d]"
  done
  "${VIRSH[@]}" net-destroy "$NET" >/dev/null 2>&1 || true
  "${VIRSH[@]}" net-undefine "$NET" >/dev/null 2>&1 || true
  for f in "$LIBVIRTD_PID" "$VIRTLOGD_PID"; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null || continue
    for _ in $(seq 100); do # the next test may start its own at once
      e2e_pid_running "$p" || break
      sleep 0.1
    done
  done
}
s7_evidence() {
  echo "----- libvirtd log (last 40 lines)"
  tail -n 40 "$E2E_WORK/libvirtd.log" 2>/dev/null
  echo "----- ovs-vsctl calls (last 40)"
  tail -n 40 "$E2E_WORK/ovs-vsctl-calls.log" 2>/dev/null
  local d
  for d in lv1 lv2 lv3; do
    echo "----- QEMU log of $PFX-$d"
    tail -n 20 "/var/log/libvirt/qemu/$PFX-$d.log" 2>/dev/null
  done
}
E2E_CLEANUP_HOOKS+=(s7_cleanup)
E2E_EVIDENCE_HOOKS+=(s7_evidence)

# libvirt calls ovs-vsctl by name, from its PATH: the links above, with the
# control socket in the environment. A wrapper logs each call (evidence).
cat >"$E2E_WORK/ovsbin/ovs-vsctl.logged" <<EOF
#!/bin/bash
printf '%s\n' "\$*" >>"$E2E_WORK/ovs-vsctl-calls.log"
exec -a ovs-vsctl "$VSCTL" "\$@"
EOF
chmod 755 "$E2E_WORK/ovsbin/ovs-vsctl.logged"
rm "$E2E_WORK/ovsbin/ovs-vsctl"
mv "$E2E_WORK/ovsbin/ovs-vsctl.logged" "$E2E_WORK/ovsbin/ovs-vsctl"

e2e_switch_start
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
ip link set "$BR" up

virtlogd -d -p "$VIRTLOGD_PID" || e2e_die "virtlogd did not start"
env PATH="$E2E_WORK/ovsbin:$PATH" RVSWITCH_SOCKET="$SOCK" \
  LIBVIRT_LOG_OUTPUTS="3:file:$E2E_WORK/libvirtd.log" \
  libvirtd -d -p "$LIBVIRTD_PID" || e2e_die "libvirtd did not start"
e2e_until 30 "${VIRSH[@]}" version || e2e_die "libvirtd does not answer"
e2e_ok "$(libvirtd --version) runs with ovs-vsctl = rvswitch's vsctl"

# ------------------------------------------------------------ network

cat >"$E2E_WORK/net.xml" <<EOF
<network>
  <name>$NET</name>
  <forward mode='bridge'/>
  <bridge name='$BR'/>
  <virtualport type='openvswitch'/>
  <portgroup name='vlan-300'>
    <vlan><tag id='300'/></vlan>
  </portgroup>
  <portgroup name='vlan-all' default='yes'/>
</network>
EOF
"${VIRSH[@]}" net-define "$E2E_WORK/net.xml" >/dev/null || e2e_die "virsh net-define failed"
"${VIRSH[@]}" net-start "$NET" >/dev/null || e2e_die "virsh net-start failed"
e2e_ok "libvirt network $NET (bridge $BR, portgroup vlan-300) started"

# ------------------------------------------------------------ domains

# s7_domain NAME IP PINGS INTERFACE-XML: define a domain.
s7_domain() {
  local name=$1 ip=$2 pings=$3 iface=$4
  cat >"$E2E_WORK/$name.xml" <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$PFX-$name</name>
  <memory unit='MiB'>256</memory>
  <vcpu cpuset='$E2E_GUEST_CPUS'>1</vcpu>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LV/img/vmlinuz</kernel>
    <initrd>$LV/img/initrd</initrd>
    <cmdline>console=ttyS0,115200 loglevel=4 panic=-1 rv.name=$name rv.ip=$ip/24 rv.ping=$pings rv.count=10 rv.interval=0.2 rv.wait_peer=$W rv.listen=1 rv.cmd=1</cmdline>
  </os>
  <features><acpi/><apic/></features> <!-- without ACPI a TCG guest's clock can run 20x fast -->
  <cpu mode='maximum' match='exact'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
$iface
    <serial type='file'><source path='$LV/g/$name.console.log'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='$LV/g/$name.cmd'/><target port='1'/></serial>
    <memballoon model='none'/>
  </devices>
  <qemu:override>
    <qemu:device alias='ua-net0'>
      <qemu:frontend><qemu:property name='vectors' type='unsigned' value='0'/></qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
EOF
  "${VIRSH[@]}" define "$E2E_WORK/$name.xml" >/dev/null || e2e_die "virsh define $name failed"
  E2E_LOG[$name]=$LV/g/$name.console.log
  E2E_CMD[$name]=$LV/g/$name.cmd
}

# s7_start NAME: virsh start; record QEMU's pid for the console waits.
s7_start() {
  E2E_TLAUNCH[$1]=$(e2e_ms)
  "${VIRSH[@]}" start "$PFX-$1" >/dev/null || e2e_die "virsh start $1 failed (see $E2E_WORK/libvirtd.log and /var/log/libvirt/qemu/$PFX-$1.log)"
  E2E_PID[$1]=$(cat "/run/libvirt/qemu/$PFX-$1.pid")
  e2e_log "virsh start $PFX-$1: QEMU pid ${E2E_PID[$1]}"
}

BW_XML="      <bandwidth>
        <inbound average='$IN_KBS'/>
        <outbound average='$OUT_KBS'/>
      </bandwidth>"
MAC1=52:54:00:07:00:01 MAC2=52:54:00:07:00:02 MAC3=52:54:00:07:00:03
IP1=172.16.30.71 IP2=172.16.30.72 IP3=172.16.30.73

vsx add-port "$BR" vm1 vlan_mode=access tag=300 \
  -- set Interface vm1 type=dpdkvhostuserclient options:vhost-server-path="$LV/vhost-lv1/vm1.sock"

s7_domain lv1 $IP1 "$IP2,$IP3" "    <interface type='vhostuser'>
      <mac address='$MAC1'/>
      <source type='unix' path='$LV/vhost-lv1/vm1.sock' mode='server'/>
      <model type='virtio'/>
      <alias name='ua-net0'/>
    </interface>"
s7_domain lv2 $IP2 "$IP1,$IP3" "    <interface type='bridge'>
      <mac address='$MAC2'/>
      <source bridge='$BR'/>
      <virtualport type='openvswitch'/>
      <vlan><tag id='300'/></vlan>
$BW_XML
      <model type='virtio'/>
      <alias name='ua-net0'/>
    </interface>"
s7_domain lv3 $IP3 "$IP1,$IP2" "    <interface type='network'>
      <mac address='$MAC3'/>
      <source network='$NET' portgroup='vlan-300'/>
      <model type='virtio'/>
      <alias name='ua-net0'/>
    </interface>"

s7_start lv1
s7_start lv2
s7_start lv3

# libvirt's ports: found by the MAC libvirt records in external-ids
s7_port_of() {
  vs --bare --columns=name find Interface "external_ids:attached-mac=\"$1\""
}
P2=$(s7_port_of $MAC2)
P3=$(s7_port_of $MAC3)
e2e_log "libvirt's ports: lv2 -> ${P2:-none}, lv3 -> ${P3:-none}"
if [ -z "$P2" ] || [ -z "$P3" ]; then e2e_die "libvirt's add-port did not reach rvswitch"; fi
e2e_check "lv2's port ($P2) has tag 300 (<vlan><tag id='300'/>)" [ "$(vs get port "$P2" tag)" = 300 ]
e2e_check "lv3's port ($P3) has tag 300 (portgroup vlan-300)" [ "$(vs get port "$P3" tag)" = 300 ]
e2e_check "libvirt's external-ids on $P2 (iface-id, vm-id)" \
  sh -c "'$VSCTL' --socket='$SOCK' get interface '$P2' external_ids | grep -q iface-id= && '$VSCTL' --socket='$SOCK' get interface '$P2' external_ids | grep -q vm-id="

e2e_wait_ready lv1 lv2 lv3
for n in lv1 lv2 lv3; do e2e_wait "$n" DONE >/dev/null; done
for pair in "lv1 $IP2" "lv1 $IP3" "lv2 $IP1" "lv2 $IP3" "lv3 $IP1" "lv3 $IP2"; do
  g=${pair% *} dst=${pair#* }
  p=$(e2e_ping_line "$g" "$dst")
  e2e_log "$p"
  e2e_assert "$g -> $dst: no loss" '[ -n "$p" ] && [ "$(e2e_field "$p" loss)" = 0% ]'
done
fdb=$(vs fdb/show "$BR")
e2e_check "fdb: lv2's MAC on VLAN 300 at $P2" grep -Eq "^ *$P2 +300 +$MAC2 " <<<"$fdb"
e2e_check "fdb: lv3's MAC on VLAN 300 at $P3" grep -Eq "^ *$P3 +300 +$MAC3 " <<<"$fdb"

# ------------------------------------------------------------ bandwidth

# What libvirt configured (its units: kB/s -> ingress_policing_rate kbit/s,
# linux-htb other_config:min-rate bit/s).
e2e_check "outbound average $OUT_KBS kB/s -> ingress_policing_rate=$((OUT_KBS * 8))" \
  [ "$(vs get interface "$P2" ingress_policing_rate)" = $((OUT_KBS * 8)) ]
qos=$(vs get port "$P2" qos)
e2e_check "inbound average -> a linux-htb QoS row on $P2" [ "$(vs get qos "$qos" type)" = linux-htb ]
e2e_log "QoS of $P2: $(vs --columns=type,other_config,queues list qos "$qos" | tr '\n' ' ')"

# s7_rate GUEST SRC-PORT DST DST-PORT: flood pings from GUEST to DST (two
# pings of 1,400-byte payloads every 2 ms; larger ones would leave the TAP
# as oversize GSO frames) for FLOOD_S seconds;
# print "offered delivered" in bytes/s: what rvswitch received on SRC-PORT
# and transmitted on DST-PORT in the middle of the flood (its first 3 s left
# out: OVS's default ingress_policing_burst, 8,000 kbit = 1 MB, lets the
# start of the flood through at once), counted as the policers count:
# bytes of IP packets (frame length - 14), as OVS defines its rates.
s7_rate() {
  local g=$1 sp=$2 dst=$3 dp=$4 r0 r1 b0 b1 t0 t1
  e2e_gcmd -t 10 "$g" "for i in 1 2; do (ping -q -s 1400 -i 0.002 -w $((FLOOD_S + 5)) $dst >/dev/null 2>&1 &); done" >/dev/null
  sleep 3
  r0=$(s7_ip_bytes "$sp" rx) b0=$(s7_ip_bytes "$dp" tx) t0=$(e2e_ms)
  sleep "$FLOOD_S"
  r1=$(s7_ip_bytes "$sp" rx) b1=$(s7_ip_bytes "$dp" tx) t1=$(e2e_ms)
  sleep 3
  echo $(((r1 - r0) * 1000 / (t1 - t0))) $(((b1 - b0) * 1000 / (t1 - t0)))
}

# s7_ip_bytes IFACE rx|tx: its byte counter less 14 bytes per frame.
s7_ip_bytes() {
  echo $(($(e2e_stat "$1" "$2_bytes") - 14 * $(e2e_stat "$1" "$2_packets")))
}

# s7_within MEASURED GOAL: |measured - goal| <= 10% of goal
s7_within() { [ $((($1 - $2) * 10)) -le "$2" ] && [ $((($2 - $1) * 10)) -le "$2" ]; }

goal=$((OUT_KBS * 1000))
pol0=$(e2e_stat "$P2" rx_dropped_qos)
read -r offered got < <(s7_rate lv2 "$P2" $IP1 vm1)
pol1=$(e2e_stat "$P2" rx_dropped_qos)
e2e_result outbound_goal_Bps "$goal"
e2e_result outbound_offered_Bps "$offered"
e2e_result outbound_measured_Bps "$got"
e2e_log "lv2 -> lv1 flood: lv2 sent $offered B/s, $got B/s reached vm1 (policing $goal B/s); $((pol1 - pol0)) frames policed"
e2e_check "the flood from lv2 was above the rate (offered >= 1.5 x $goal B/s)" [ "$offered" -ge $((goal * 3 / 2)) ]
e2e_check "outbound (ingress policing) within 10% of $goal B/s: $got B/s" s7_within "$got" "$goal"
e2e_check "the policer dropped frames" [ $((pol1 - pol0)) -gt 0 ]

goal=$((IN_KBS * 1000))
qd0=$(e2e_stat "$P2" tx_dropped_qos)
read -r offered got < <(s7_rate lv1 vm1 $IP2 "$P2")
qd1=$(e2e_stat "$P2" tx_dropped_qos)
e2e_result inbound_goal_Bps "$goal"
e2e_result inbound_offered_Bps "$offered"
e2e_result inbound_measured_Bps "$got"
e2e_log "lv1 -> lv2 flood: lv1 sent $offered B/s, $got B/s went out on $P2 (linux-htb limit $goal B/s); $((qd1 - qd0)) frames dropped by QoS"
e2e_check "the flood from lv1 was above the rate (offered >= 1.5 x $goal B/s)" [ "$offered" -ge $((goal * 3 / 2)) ]
e2e_check "inbound (linux-htb on $P2) within 10% of $goal B/s: $got B/s" s7_within "$got" "$goal"
e2e_check "the QoS dropped frames" [ $((qd1 - qd0)) -gt 0 ]

# ------------------------------------------------------------ destroy

"${VIRSH[@]}" destroy "$PFX-lv2" >/dev/null || e2e_fail "virsh destroy lv2 failed"
unset "E2E_PID[lv2]"
e2e_check "virsh destroy lv2 removed its port $P2 (libvirt's del-port)" \
  e2e_until 20 sh -c "! '$VSCTL' --socket='$SOCK' list-ports '$BR' | grep -qx '$P2'"
# libvirt 9.0 runs only del-port on destroy: the QoS and Queue rows it
# created stay (they are root rows, as in OVS), unreferenced.
e2e_check "libvirt's QoS row stays, referenced by no port (as with OVS)" \
  sh -c "[ -n \"\$('$VSCTL' --socket='$SOCK' --bare --columns=_uuid list qos)\" ] && [ -z \"\$('$VSCTL' --socket='$SOCK' --bare --columns=qos list port)\" ]"
"${VIRSH[@]}" destroy "$PFX-lv3" >/dev/null || e2e_fail "virsh destroy lv3 failed"
unset "E2E_PID[lv3]"
e2e_check "virsh destroy lv3 removed its port $P3" \
  e2e_until 20 sh -c "! '$VSCTL' --socket='$SOCK' list-ports '$BR' | grep -qx '$P3'"
e2e_check "ovs-vsctl was libvirt's: its calls were logged" [ -s "$E2E_WORK/ovs-vsctl-calls.log" ]
e2e_log "libvirt ran $(wc -l <"$E2E_WORK/ovs-vsctl-calls.log") ovs-vsctl commands"
vs show
