#!/usr/bin/env bash
# Scenario 6: rvswitch INSIDE a QEMU guest on emulated PCI NICs bound to
# vfio-pci, an LACP bond toward a second guest running Linux 802.3ad bonding.
#
#   host: QEMU "sw" (q35, intel-iommu, 2 vCPUs, 2 GiB, TCG), switch image of
#         scripts/guest/build-switch-image.sh; QEMU "pt" (busybox guest)
#
#   sw  0000:01:00.0 virtio-net, kernel driver (eth0, up, 172.16.99.1):
#                    the "management NIC" no port names
#       0000:02:00.0 e1000e sw0 -- socket netdev (a cable) -- pt eth0
#       0000:03:00.0 e1000e sw1 -- socket netdev (a cable) -- pt eth1
#       0000:04:00.0 virtio-net, 2 queues, host TAP backend (third NIC)
#       br0 (internal, tag 300, 172.16.30.1) + bond0 sw0 sw1 balance-tcp,
#       lacp=active, lacp-time=fast, trunks=300
#   pt  bond0 (802.3ad, lacp_rate fast, layer3+4, miimon 10, MTU 9000),
#       bond0.300 172.16.30.2
#
# Inside sw the host is prepared exactly as scripts/host/README.md tells a
# real host (setup-host.sh check / hugepages / bind: its sysfs fallback, as
# the guest has no Python), vswitchd runs with `--detach` and vsctl commands
# are those of the README; the test drives both guests through their command
# channels (second serial port, rv.cmd=1, e2e_gcmd) and their QEMU monitors.
#
# Phases (each check fails the scenario):
#  1. boot, hugepages, bind (timed), vswitchd + EAL (timed from its log),
#     bond, LACP negotiation (timed), first ping; the partner has both ports
#     in one aggregator.
#  2. interface status keys; refusals (absent PCI address, a NIC on its
#     kernel driver and up, an address another port uses): `vsctl: <reason>`,
#     exit 1, `vsctl show` and conf.json unchanged; EAL never probed the
#     management NIC.
#  3. carrier loss at both ends (QEMU set_link off on both monitors) of the
#     member rvswitch transmits on, under a 20 ms ping: outage goal 100 ms,
#     fails only above E2E_S6_CARRIER_LIMIT_MS (1000: TCG timing is noisy);
#     cable back: the member rejoins.
#  4. "silent partner": only the partner's side loses carrier; rvswitch can
#     only notice by LACP expiry (3 s with fast timers): outage <= 4.5 s.
#  5. add-port / del-port of the third NIC (virtio, n_rxq=2, host TAP with 2
#     queues) while the bond carries a ping: both rx queues receive the
#     host's 64 flows; the ping loses at most 200 ms.
#  6. mtu_request=9000 on the members and on the third NIC, re-added on
#     VLAN 300 with its host TAP in a namespace (172.16.30.3, MTU 9000):
#     mtu 9000 everywhere, LACP again, an 8000-byte ping crosses the bond.
#     (br0 cannot carry jumbo frames: DPDK 22.11's net_tap refuses MTUs
#     above 1500.)
#  7. QEMU device_del of the member carrying the replies, under traffic
#     (q35's ACPI hot-plug: the guest ejects at once, vfio-pci asks
#     vswitchd to release the device): vswitchd logs `removed`,
#     `error` says removed, statistics:device_removals >= 1, the daemon
#     lives, pings cross on the other member; device_add at the same address
#     and setup-host.sh bind -> vswitchd re-attaches the device by itself
#     and the member rejoins the aggregate (at MTU 9000).
#  8. (E2E_S6_AB=1, the default) active-backup, lacp=off, with the partner
#     rebooted in active-backup: carrier loss at both ends of the active
#     member, compared with phase 3.
#
# Everything above works under TCG; what TCG changes: RTTs are 2-60 ms and
# timers jitter, so outages are checked against loose limits (the goal is
# printed), throughput is not measured, and slow steps (a jumbo mbuf pool:
# 8-10 s) may exceed vsctl's 10 s wait ("daemon busy", tolerated in phase 6,
# the outcome is checked). The cloud kernel has no e1000e driver, so the
# e1000e NICs (and a re-plugged one) come up unbound. Environment (besides tests/e2e/lib.sh): E2E_S6_CPUS (CPUs for
# both QEMUs, default 0-1), E2E_S6_AB (0 skips phase 8),
# E2E_S6_CARRIER_LIMIT_MS (1000), E2E_S6_PMD_MAXSLEEP (pmd-maxsleep in the
# guest, default 1000 us).
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
# shellcheck disable=SC2034 # variables read by e2e_assert's expressions
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s6-pci-nic

CPUS=${E2E_S6_CPUS:-0-1}
RUN_AB=${E2E_S6_AB:-1}
CARRIER_LIMIT=${E2E_S6_CARRIER_LIMIT_MS:-1000}
CARRIER_GOAL=100
SILENT_LIMIT=4500
MAXSLEEP=${E2E_S6_PMD_MAXSLEEP:-1000}
IVL=20 # fast ping interval, ms
IVL_S=0.02
SW_IP=172.16.30.1
PT_IP=172.16.30.2
MGMT=$(rvguest_q35_pci 0) M0=$(rvguest_q35_pci 1) M1=$(rvguest_q35_pci 2) MQ=$(rvguest_q35_pci 3)
TAP=rv6t$$
[ ${#TAP} -le 15 ] || TAP=rv6t$((RANDOM))
command -v ss >/dev/null || e2e_die "ss (iproute2) is missing"

# ---------------------------------------------------------------- helpers

# sw CMD / pt CMD: a shell command in the guest; output on stdout
sw() { e2e_gcmd sw "$1"; }
pt() { e2e_gcmd pt "$1"; }
# swx CMD: the same, echoed, output indented; dies on failure
swx() {
  local out rc=0
  printf '[%s +%ss] sw$ %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$1"
  out=$(e2e_gcmd sw "$1" 2>&1) || rc=$?
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
  [ $rc -eq 0 ] || e2e_die "in sw: '$1' failed (exit $rc)"
}
gvs() { sw "vsctl $*"; }
# swcfg CMD: like swx for a vsctl change that may outlast vsctl's 10 s wait
# under TCG (making a jumbo mbuf pool): "daemon busy" is logged, not fatal;
# the caller checks the outcome
swcfg() {
  local out
  printf '[%s +%ss] sw$ %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$1"
  if ! out=$(e2e_gcmd sw "$1" 2>&1); then
    [[ $out == *"daemon busy"* ]] || e2e_die "in sw: '$1' failed: $out"
    e2e_log "note: $out"
  fi
}

free_port() {
  local p _
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 30000))
    if ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  e2e_die "no free TCP port"
}
listening() { ss -Htln "sport = :$1" | grep -q .; }

# swlog_ms PATTERN [N]: time (ms of day, the guest's clock) of the Nth
# (default last) line of the guest's vswitchd log containing PATTERN
swlog_ms() {
  sw "cat /var/log/rvswitch.log" | grep -F -- "$1" | awk -v n="${2:-0}" '
    { split($1, a, /[:.]/); t[NR] = ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
    END { if (NR == 0) exit 1; print (n > 0 ? t[n] : t[NR]) }'
}
swlog_has() { sw "cat /var/log/rvswitch.log" | grep -qF -- "$1"; }
swlog_count() { sw "cat /var/log/rvswitch.log" | grep -cF -- "$1" || true; }

# lacp_ok MEMBER...: e2e_lacp_ok of bond0, asking the switch in sw
lacp_ok() { E2E_VSCTL=gvs e2e_lacp_ok bond0 "$@"; }
member_enabled() { gvs bond/show bond0 2>/dev/null | grep -Eq "^member $1: enabled"; }
member_disabled() { gvs bond/show bond0 2>/dev/null | grep -Eq "^member $1: disabled"; }

# pt_agg: the partner's bonding state, one line
pt_agg() {
  pt 'b=/sys/class/net/bond0/bonding; echo "agg=$(cat $b/ad_aggregator) ports=$(cat $b/ad_num_ports) partner=$(cat $b/ad_partner_mac)"; for s in $(cat $b/slaves); do p=/sys/class/net/$s/bonding_slave; echo "$s agg=$(cat $p/ad_aggregator_id) actor=$(cat $p/ad_actor_oper_port_state) partner=$(cat $p/ad_partner_oper_port_state)"; done'
}
# pt_agg_ok: both partner ports in the active aggregator, in sync and
# collecting+distributing on both sides
pt_agg_ok() {
  local out
  out=$(pt_agg 2>/dev/null) || return 1
  awk 'NR == 1 { split($1, a, "="); agg = a[2]; split($2, p, "="); n = p[2]; next }
       { split($2, g, "="); split($3, x, "="); split($4, y, "=");
         # 60 = sync + collecting + distributing + aggregation... bits 2-5
         if (g[2] != agg || int(x[2] / 4) % 16 != 15 || int(y[2] / 4) % 16 != 15) bad = 1; k++ }
       END { exit (bad || n != 2 || k != 2) }' <<<"$out"
}

# fast pings from pt to sw's br0: ping_start TAG COUNT [SIZE]; ping_stats TAG
ping_start() {
  pt "ping -c $2 -i $IVL_S -W 2 ${3:+-s $3} $SW_IP >/tmp/$1 2>&1 &" >/dev/null
}
# ping_wait TAG: wait until the run ended; prints
# "sent=N received=M max_lost_run=R lost_tail=T" (R counts the missing
# sequence numbers of the longest run, T those after the last reply)
ping_wait() {
  local end out
  end=$(($(e2e_ms) + E2E_TIMEOUT * 1000))
  while :; do
    out=$(pt "cat /tmp/$1" 2>/dev/null) || out=''
    grep -q 'packets transmitted' <<<"$out" && break
    [ "$(e2e_ms)" -lt "$end" ] || e2e_die "ping run $1 did not end"
    sleep 1
  done
  printf '%s\n' "$out" >"$E2E_WORK/ping-$1.txt"
  awk '/ bytes from .*seq=/ && !/DUP/ { for (i = 1; i <= NF; i++) if ($i ~ /^seq=/) { s = substr($i, 5) + 0; seen[s] = 1 } }
       /packets transmitted/ { sent = $1; recv = $4 }
       END { run = 0; max = 0; last = -1
             for (i = 0; i < sent; i++) if (i in seen) { run = 0; last = i } else if (++run > max) max = run
             printf "sent=%d received=%d max_lost_run=%d lost_tail=%d\n", sent, recv, max, sent - 1 - last }' <<<"$out"
}
kv() { rvguest_field "$1" "$2"; }

# busiest: the bond member rvswitch transmits most on (ping replies), over 1 s
busiest() {
  local out a0 b0 a1 b1
  out=$(sw 'vsctl get interface sw0 statistics:tx_packets; vsctl get interface sw1 statistics:tx_packets; sleep 1; vsctl get interface sw0 statistics:tx_packets; vsctl get interface sw1 statistics:tx_packets')
  read -r a0 b0 a1 b1 <<<"${out//$'\n'/ }"
  if [ $((a1 - a0)) -ge $((b1 - b0)) ]; then echo sw0; else echo sw1; fi
}
nic_of() { case $1 in sw0) echo nic1 ;; sw1) echo nic2 ;; esac; }     # sw's QEMU NIC
pt_nic_of() { case $1 in sw0) echo nic0 ;; sw1) echo nic1 ;; esac; } # partner's end
other_of() { case $1 in sw0) echo sw1 ;; sw1) echo sw0 ;; esac; }

# refusal DESC VSCTL-ARGS...: must print `vsctl: <reason>`, exit 1 and
# change nothing (vsctl show, conf.json)
refusal() {
  local desc=$1 before after out rc=0
  shift
  before=$(sw 'vsctl show; sha256sum /var/lib/rvswitch/conf.json')
  out=$(sw "vsctl $*") || rc=$?
  after=$(sw 'vsctl show; sha256sum /var/lib/rvswitch/conf.json')
  e2e_log "refusal ($desc): exit $rc: $out"
  e2e_assert "refused: $desc: exit 1 with 'vsctl: <reason>'" '[ $rc -eq 1 ] && [[ $out == "vsctl: "* ]]'
  e2e_assert "refused: $desc: vsctl show and conf.json unchanged" '[ "$before" = "$after" ]'
}

s6_evidence() {
  [ -n "${E2E_CMD[sw]:-}" ] && e2e_guest_alive sw || return 0
  echo "----- switch guest: vsctl show, bond/show, lacp/show, interfaces, log"
  rvguest_cmd -t 20 "${E2E_CMD[sw]}" 'vsctl show; vsctl bond/show; vsctl lacp/show; vsctl --columns=name,link_state,mtu,error,status,statistics list interface; vsctl dpif-netdev/pmd-rxq-show; tail -n 80 /var/log/rvswitch.log; dmesg | tail -n 20' || true
  if [ -n "${E2E_CMD[pt]:-}" ] && e2e_guest_alive pt; then
    echo "----- partner: /proc/net/bonding/bond0"
    rvguest_cmd -t 20 "${E2E_CMD[pt]}" 'cat /proc/net/bonding/bond0' || true
  fi
}
E2E_EVIDENCE_HOOKS+=(s6_evidence)

# ---------------------------------------------------------------- 1. boot, host setup, bond

eval "$(RVSWITCH_BIN=$(e2e_bin_dir) "$E2E_ROOT/scripts/guest/build-switch-image.sh" 2>"$E2E_WORK/switch-image.log")" ||
  e2e_die "build-switch-image.sh failed: $(cat "$E2E_WORK/switch-image.log")"
e2e_log "switch image: $RV_SWITCH_INITRAMFS ($(stat -c %s "$RV_SWITCH_INITRAMFS") bytes)"
P0=$(free_port)
P1=$(free_port)
[ "$P0" != "$P1" ] || P1=$((P0 + 1))
E2E_VETHS+=("$TAP") # QEMU creates it; removed on exit if QEMU left it

e2e_guest_ex sw "rv.if=eth0 rv.ip=172.16.99.1/24 rv.dpdk=1 rv.hold=1 rv.max_time=0" --cpus "$CPUS" \
  --q35 --smp 2 --mem 2048 --initrd "$RV_SWITCH_INITRAMFS" --kernel-args "intel_iommu=on iommu=pt" \
  --nic none,mac=52:54:00:06:00:10 \
  --nic "socket:listen=127.0.0.1:$P0,model=e1000e,mac=52:54:00:06:00:11" \
  --nic "socket:listen=127.0.0.1:$P1,model=e1000e,mac=52:54:00:06:00:12" \
  --nic "tap:$TAP,queues=2,mac=52:54:00:06:00:13"
{ e2e_until 30 listening "$P0" && e2e_until 5 listening "$P1"; } ||
  e2e_die "the switch guest's QEMU does not listen on $P0/$P1: $(cat "$E2E_WORK/sw.qemu.log")"
PT_COMMON="rv.bond=eth0,eth1 rv.lacp_rate=fast rv.xmit_hash=layer3+4 rv.miimon=10 rv.mtu=9000 rv.vlan=300 rv.ip=$PT_IP/24 rv.hold=1 rv.max_time=0"
PT_NICS=(--nic "socket:connect=127.0.0.1:$P0,mac=52:54:00:06:01:01" --nic "socket:connect=127.0.0.1:$P1,mac=52:54:00:06:01:02")
e2e_guest_ex pt "$PT_COMMON" --cpus "$CPUS" "${PT_NICS[@]}"
e2e_wait_ready sw pt
l=$(e2e_wait sw DPDK 5)
e2e_log "$l"
e2e_assert "the switch guest runs the vswitchd just built" '[ "$(e2e_field "$l" switch)" = "$(sha256sum "$VSWITCHD" | cut -c1-16)" ]'

# the devices are where run-guest.sh puts them
ids=$(sw "for d in $MGMT $M0 $M1 $MQ; do echo \$d \$(cat /sys/bus/pci/devices/\$d/vendor /sys/bus/pci/devices/\$d/device); done")
ids=${ids//$'\n'/ }
e2e_log "PCI: $ids"
e2e_assert "PCI addresses: management virtio at $MGMT, e1000e at $M0 and $M1, virtio at $MQ" \
  '[ "$ids" = "$MGMT 0x1af4 0x1041 $M0 0x8086 0x10d3 $M1 0x8086 0x10d3 $MQ 0x1af4 0x1041" ]'

out=$(sw 'setup-host.sh check' 2>&1) || true
printf '%s\n' "$out" | sed 's/^/    /'
e2e_assert "setup-host.sh check: IOMMU enabled and vfio-pci available in the guest" \
  'grep -q "^ok: IOMMU enabled" <<<"$out" && grep -q "^ok: vfio-pci available" <<<"$out"'
swx 'setup-host.sh hugepages 1G'
e2e_assert "1 GiB of 2 MiB hugepages reserved and mounted" \
  '[ "$(sw "cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")" = 512 ] && sw "grep -q \" /dev/hugepages hugetlbfs\" /proc/mounts"'
t0=$(e2e_ms)
swx "setup-host.sh bind $M0 $M1"
e2e_result bind_ms $(($(e2e_ms) - t0))
drv=$(sw "for d in $M0 $M1 $MGMT; do basename \$(readlink /sys/bus/pci/devices/\$d/driver); done")
drv=${drv//$'\n'/ }
e2e_assert "$M0 and $M1 bound to vfio-pci, the management NIC still on virtio-pci" '[ "$drv" = "vfio-pci vfio-pci virtio-pci" ]'

swx 'vswitchd --pidfile=/run/rvswitch/vswitchd.pid --detach --log-file=/var/log/rvswitch.log'
swx "vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 other_config:pmd-maxsleep=$MAXSLEEP"
if a=$(swlog_ms 'initializing DPDK') && b=$(swlog_ms 'DPDK initialized'); then
  e2e_result eal_init_ms $((b - a))
else
  e2e_fail "the vswitchd log has no 'initializing DPDK' / 'DPDK initialized' lines"
fi
eal=$(sw 'grep -F "initializing DPDK" /var/log/rvswitch.log')
e2e_log "$eal"
e2e_assert "EAL started with an allow-list naming no real device (-a 0000:00:00.0)" \
  '[[ $eal == *"-a 0000:00:00.0"* ]] && [[ $eal != *"$MGMT"* ]]'

swx 'vsctl add-br br0 -- set bridge br0 datapath_type=netdev'
swx 'vsctl set port br0 tag=300'
swx "ip addr add $SW_IP/24 dev br0 && ip link set br0 up"
t_bond=$(e2e_ms)
swx "vsctl add-bond br0 bond0 sw0 sw1 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast vlan_mode=trunk trunks=300 -- set Interface sw0 type=dpdk options:dpdk-devargs=$M0 -- set Interface sw1 type=dpdk options:dpdk-devargs=$M1"
if e2e_until 30 lacp_ok sw0 sw1; then
  e2e_result lacp_negotiation_host_ms $(($(e2e_ms) - t_bond))
  e2e_ok "LACP negotiated: lacp/show bond0 negotiated, sw0 and sw1 current, collecting and distributing"
else
  e2e_die "bond0 did not negotiate LACP within 30 s"
fi
t_neg=$(e2e_ms)
if a=$(swlog_ms 'bond bond0: configured') && b=$(swlog_ms 'enabled (lacp)' 2); then
  e2e_result lacp_negotiation_ms $((b - a))
fi
e2e_check "partner: both ports in one aggregator, in sync, collecting and distributing" e2e_until 20 pt_agg_ok
pt_agg | sed 's/^/    /'
sysid=$(gvs lacp/show bond0 | sed -n 's/^  sys_id: //p' | head -n1)
e2e_assert "partner's bond names rvswitch ($sysid) as its partner" 'pt_agg | head -n1 | grep -qi "partner=$sysid"'
if e2e_until 30 pt "ping -c 1 -W 1 $SW_IP"; then
  e2e_result first_ping_ms $(($(e2e_ms) - t_neg))
else
  e2e_die "no ping across VLAN 300 within 30 s of the negotiation"
fi
out=$(pt "ping -c 20 -i 0.05 $SW_IP")
e2e_assert "20 pings across VLAN 300 (pt bond0.300 -> bond0 -> br0 tag 300), no loss" '[[ $out == *" 0% packet loss"* ]]'

# ---------------------------------------------------------------- 2. status, refusals, no stray probe

st=$(gvs get interface sw0 status)
e2e_log "sw0 status: $st"
e2e_assert "status of a PCI member: driver_name=net_e1000_em" '[[ $st == *"driver_name=net_e1000_em"* ]]'
for k in n_rxq n_txq offloads; do
  e2e_assert "status of a PCI member has $k" '[[ $st == *"$k="* ]]'
done
refusal "PCI address with no device" "add-port br0 bad0 -- set Interface bad0 type=dpdk options:dpdk-devargs=0000:1f:00.0"
refusal "the management NIC, on its kernel driver and up" "add-port br0 bad1 -- set Interface bad1 type=dpdk options:dpdk-devargs=$MGMT"
refusal "an address sw0 already uses" "add-port br0 bad2 -- set Interface bad2 type=dpdk options:dpdk-devargs=$M0"

mgmt_kernel_ok() {
  local o
  o=$(sw "basename \$(readlink /sys/bus/pci/devices/$MGMT/driver); cat /sys/class/net/eth0/operstate; ip -o -4 addr show dev eth0")
  [[ $o == virtio-pci*up*172.16.99.1/24* ]]
}

# ---------------------------------------------------------------- 3. carrier loss, both ends

# cable EVENT: pull (off) or plug (on) the wire of MEMBER at both ends
cable() { e2e_monitor sw set_link "$(nic_of "$2")" "$1" >/dev/null; e2e_monitor pt set_link "$(pt_nic_of "$2")" "$1" >/dev/null; }

rejoin() { # LABEL: both members back in the aggregate, on both sides
  local t0
  t0=$(e2e_ms)
  if e2e_until 30 lacp_ok sw0 sw1 && e2e_until 15 pt_agg_ok; then
    e2e_result "rejoin_ms_$1" $(($(e2e_ms) - t0))
    e2e_ok "$1: both members back in the aggregate (lacp/show, and the partner's bond)"
  else
    e2e_fail "$1: the member did not rejoin the aggregate within 45 s"
  fi
}

ping_start carrier 400
sleep 2
V=$(busiest)
e2e_log "3. rvswitch sends the replies on $V: pulling its cable at both ends"
down0=$(swlog_count "$V: link down")
t0=$(e2e_ms)
cable off "$V"
if e2e_until 10 member_disabled "$V"; then
  e2e_result carrier_detect_host_ms $(($(e2e_ms) - t0))
else
  e2e_fail "3. rvswitch still has $V enabled 10 s after the cable pull"
fi
e2e_assert "3. rvswitch saw the carrier go down (log: '$V: link down'), not only an LACP expiry" \
  '[ "$(swlog_count "$V: link down")" -gt "$down0" ]'
r=$(ping_wait carrier)
e2e_log "3. ping: $r"
out_ms=$(($(kv "$r" max_lost_run) * IVL))
e2e_result carrier_outage_ms_both_ends "$out_ms"
e2e_assert "3. outage ${out_ms} ms <= ${CARRIER_LIMIT} ms (goal ${CARRIER_GOAL} ms)" '[ "$(kv "$r" lost_tail)" -eq 0 ] && [ $out_ms -le $CARRIER_LIMIT ]'
[ $out_ms -le $CARRIER_GOAL ] || e2e_log "3. note: outage ${out_ms} ms is above the ${CARRIER_GOAL} ms goal"
cable on "$V"
rejoin carrier

# ---------------------------------------------------------------- 4. silent partner

ping_start silent 500
sleep 2
V=$(busiest)
e2e_log "4. rvswitch sends the replies on $V: only the partner's end goes down"
t0=$(e2e_ms)
e2e_monitor pt set_link "$(pt_nic_of "$V")" off >/dev/null
if e2e_until 10 member_disabled "$V"; then
  e2e_result silent_detect_host_ms $(($(e2e_ms) - t0))
else
  e2e_fail "4. rvswitch still has $V enabled 10 s after the partner went silent"
fi
r=$(ping_wait silent)
e2e_log "4. ping: $r"
out_ms=$(($(kv "$r" max_lost_run) * IVL))
e2e_result silent_partner_outage_ms "$out_ms"
e2e_assert "4. silent partner: outage ${out_ms} ms <= ${SILENT_LIMIT} ms (LACP expiry, fast timers)" \
  '[ "$(kv "$r" lost_tail)" -eq 0 ] && [ $out_ms -le $SILENT_LIMIT ]'
e2e_monitor pt set_link "$(pt_nic_of "$V")" on >/dev/null
rejoin silent

# ---------------------------------------------------------------- 5. third NIC: add-port / del-port, 2 rx queues

swx "setup-host.sh bind $MQ"
# the host end of the third NIC lives in a namespace of its own (it gets an
# address in phase 6)
NS=rv6ns$$
e2e_netns "$NS"
ip link set "$TAP" netns "$NS" || e2e_die "cannot move $TAP into $NS"
ip -n "$NS" link set "$TAP" up
ping_start hotport 600
sleep 1
swx "vsctl add-port br0 mq0 tag=301 -- set Interface mq0 type=dpdk options:dpdk-devargs=$MQ options:n_rxq=2"
e2e_check "5. mq0 (virtio, vfio-pci) is up" e2e_until 20 eval '[ "$(gvs get interface mq0 link_state)" = up ]'
rxq=$(gvs dpif-netdev/pmd-rxq-show)
printf '%s\n' "$rxq" | sed 's/^/    /'
e2e_assert "5. pmd-rxq-show polls mq0 queues 0 and 1" \
  'grep -Eq "port: mq0 +queue-id: +0 " <<<"$rxq" && grep -Eq "port: mq0 +queue-id: +1 " <<<"$rxq"'
# 64 UDP flows into the TAP: the kernel spreads them over the TAP's 2 queues,
# QEMU hands queue i to the NIC's rx queue i
ip netns exec "$NS" python3 - "$TAP" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
for n in range(2000):
    f = n % 64
    src = bytes([10, 99, 0, 1 + f])
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 18, n, 0, 64, 17, 0, src, bytes([10, 99, 1, 1]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", 1000 + f, 2000, 8 + 18, 0) + b"rvswitch s6 flows."
    eth = b"\xff" * 6 + bytes([0x02, 0, 0, 0x66, 0, f]) + b"\x08\x00"
    s.send(eth + ip + udp)
    if n % 50 == 49:
        time.sleep(0.02)
PY
sleep 2
stats=$(gvs get interface mq0 statistics)
e2e_log "5. mq0 statistics: $stats"
# per-queue xstats: rx_q<N>_packets, or virtio's rx_q<N>_good_packets
qstat() { sed -n "s/.*[{ ]rx_q$1_\(good_\)\{0,1\}packets=\([0-9]*\).*/\2/p" <<<"$stats" | head -n1; }
q0=$(qstat 0)
q1=$(qstat 1)
rxp=$(sed -n 's/.*[{ ]rx_packets=\([0-9]*\).*/\1/p' <<<"$stats")
e2e_result mq_rx_q0_packets "${q0:-none}"
e2e_result mq_rx_q1_packets "${q1:-none}"
e2e_assert "5. mq0 received the host's frames (rx_packets ${rxp:-none} >= 1000 of 2000)" '[ "${rxp:-0}" -ge 1000 ]'
e2e_assert "5. both rx queues received (statistics rx_q0/rx_q1 packets: ${q0:-absent}/${q1:-absent})" \
  '[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ]'
swx 'vsctl del-port br0 mq0'
e2e_assert "5. mq0 is gone from vsctl show" '! gvs show | grep -q "Port mq0"'
r=$(ping_wait hotport)
e2e_log "5. ping across the bond during add-port/del-port: $r"
out_ms=$(($(kv "$r" max_lost_run) * IVL))
e2e_result hotport_outage_ms "$out_ms"
e2e_assert "5. pings kept crossing the bond during add-port/del-port (longest loss ${out_ms} ms <= 200 ms)" \
  '[ "$(kv "$r" lost_tail)" -eq 0 ] && [ $out_ms -le 200 ]'

# ---------------------------------------------------------------- 6. jumbo frames

# The 8000-byte ping goes pt -> bond (MTU 9000) -> mq0 (the virtio NIC again,
# tag 300, MTU 9000) -> the host TAP in its namespace (172.16.30.3, MTU 9000):
# br0 cannot be the peer, DPDK 22.11's net_tap caps its MTU at 1500 (with
# mtu_request=9000 it reports "could not set MTU 9000 ... Invalid argument"
# and drops jumbo frames as tx errors).
ip -n "$NS" link set "$TAP" mtu 9000
ip -n "$NS" addr add 172.16.30.3/24 dev "$TAP"
# n_rxq=2 again: with one rx queue on this 2-queue virtio NIC, QEMU keeps the
# TAP's second queue attached and the host kernel sends most replies there,
# where nobody polls (measured: 1 of 6 replies arrived)
# a ping across the whole phase: the first jumbo port makes vswitchd create
# its jumbo mbuf pool, and the members reopen for their new MTU (measured,
# reported, not checked)
ping_start mtu 1800
sleep 1
t0=$(e2e_ms)
swcfg "vsctl add-port br0 mq0 tag=300 -- set Interface mq0 type=dpdk options:dpdk-devargs=$MQ options:n_rxq=2 mtu_request=9000"
e2e_result jumbo_port_add_ms $(($(e2e_ms) - t0))
t0=$(e2e_ms)
swcfg 'vsctl set interface sw0 mtu_request=9000 -- set interface sw1 mtu_request=9000'
mtu9k() { [ "$(gvs get interface sw0 mtu)" = 9000 ] && [ "$(gvs get interface sw1 mtu)" = 9000 ] && [ "$(gvs get interface mq0 mtu)" = 9000 ]; }
e2e_check "6. vsctl get interface sw0/sw1/mq0 mtu: 9000" e2e_until 60 mtu9k
if e2e_until 60 lacp_ok sw0 sw1; then
  e2e_result mtu_change_ms $(($(e2e_ms) - t0))
  e2e_ok "6. LACP negotiated again on both members"
else
  e2e_fail "6. LACP not negotiated within 60 s of the MTU change"
fi
r=$(ping_wait mtu)
e2e_log "6. ping (56 bytes) across the jumbo port's add-port and the MTU change: $r"
e2e_result mtu_phase_outage_ms $(($(kv "$r" max_lost_run) * IVL))
e2e_until 30 pt "ping -c 1 -W 2 172.16.30.3" || e2e_fail "6. no small ping to the host TAP (mq0) within 30 s"
out=$(pt "ping -c 5 -i 0.3 -W 2 -s 8000 172.16.30.3") || true
printf '%s\n' "$out" | tail -n 2 | sed 's/^/    /'
e2e_assert "6. 8000-byte pings cross the bond and mq0 at MTU 9000 (>= 4 of 5)" \
  '[ "$(sed -n "s/.* \([0-9]*\) packets received.*/\1/p" <<<"$out")" -ge 4 ]'
swx 'vsctl del-port br0 mq0'

# ---------------------------------------------------------------- 7. device_del / device_add of a member

ping_start unplug 1200
sleep 2
# the member rvswitch sends the replies on: a real removal under traffic
V=$(busiest)
case $V in sw0) VPCI=$M0 ;; *) VPCI=$M1 ;; esac
VNIC=$(nic_of "$V")
rm0=$(swlog_count removed)
t0=$(e2e_ms)
e2e_monitor sw device_del "$VNIC" >/dev/null
e2e_log "7. device_del $VNIC ($V, $VPCI, carrying the replies) under traffic"
removed_logged() { [ "$(swlog_count removed)" -gt "$rm0" ] && sw "cat /var/log/rvswitch.log" | grep -F removed | grep -qF "$V"; }
if e2e_until 20 removed_logged; then
  e2e_result unplug_detect_ms $(($(e2e_ms) - t0))
  e2e_ok "7. vswitchd logged the removal of $V: $(sw 'grep -F removed /var/log/rvswitch.log' | grep -F "$V" | tail -n1)"
else
  e2e_fail "7. vswitchd logged no 'removed' line naming $V within 20 s of device_del"
fi
e2e_assert "7. vswitchd is still running" 'sw "pidof vswitchd" >/dev/null'
err=$(gvs get interface "$V" error 2>&1) || true
e2e_assert "7. vsctl get interface $V error mentions removed ($err)" '[[ $err == *removed* ]]'
nrm=$(gvs get interface "$V" statistics:device_removals 2>&1) || true
e2e_assert "7. statistics:device_removals of $V >= 1 ($nrm)" '[[ $nrm =~ ^[0-9]+$ ]] && [ "$nrm" -ge 1 ]'
gone() { ! sw "test -e /sys/bus/pci/devices/$VPCI"; }
released=0
if e2e_until 30 gone; then
  released=1
  e2e_ok "7. the guest kernel completed the unplug (vswitchd released the vfio device)"
else
  e2e_fail "7. $VPCI is still in the guest 30 s after device_del: vfio-pci waits for vswitchd to release it ($(sw 'dmesg | grep -F "Relaying device request" | tail -n1'))"
fi
e2e_check "7. $(other_of "$V") still enabled" member_enabled "$(other_of "$V")"
r=$(ping_wait unplug)
e2e_log "7. ping during the unplug: $r"
out_ms=$(($(kv "$r" max_lost_run) * IVL))
e2e_result unplug_outage_ms "$out_ms"
e2e_assert "7. pings cross on $(other_of "$V") after the unplug (no loss at the end of the run)" '[ "$(kv "$r" lost_tail)" -eq 0 ]'
if [ $released = 1 ]; then
  add=$(sed -n "s/^$VNIC device_add //p" "${E2E_HOTPLUG[sw]}")
  e2e_monitor sw device_add "$add" >/dev/null
  e2e_log "7. device_add $add"
  e2e_check "7. $VPCI is back in the guest" e2e_until 20 sw "test -e /sys/bus/pci/devices/$VPCI"
  swx "setup-host.sh bind $VPCI"
  t0=$(e2e_ms)
  # No vsctl command: the interface kept its configuration, and vswitchd
  # re-attaches a removed device once it is back on vfio-pci.
  if e2e_until 30 lacp_ok sw0 sw1 && e2e_until 15 pt_agg_ok; then
    e2e_result replug_rejoin_ms $(($(e2e_ms) - t0))
    e2e_ok "7. $V rejoined the aggregate after device_add + bind, with no vsctl command"
  else
    e2e_fail "7. $V did not rejoin the aggregate within 45 s of the bind"
  fi
  e2e_check "7. vswitchd logged the re-attach of $V" swlog_has "$V: its device is back; re-attached"
  e2e_assert "7. $V is back at MTU 9000" '[ "$(gvs get interface "$V" mtu)" = 9000 ]'
  e2e_assert "7. $V error cleared" '[ "$(gvs get interface "$V" error)" = "[]" ]'
else
  e2e_log "7. skipping device_add: the device was never released"
fi

# EAL never probed a device no port names
e2e_check "the management NIC is still a kernel NIC (virtio-pci, eth0 up, 172.16.99.1/24)" mgmt_kernel_ok
e2e_assert "vsctl show names no port on the management NIC" '! gvs show | grep -qF "$MGMT"'

# ---------------------------------------------------------------- 8. active-backup, lacp=off

if [ "$RUN_AB" = 1 ] && [ $released = 1 ]; then
  swx 'vsctl set port bond0 bond_mode=active-backup lacp=off'
  e2e_guest_stop pt
  e2e_guest_ex pt "$PT_COMMON rv.bond_mode=active-backup" --cpus "$CPUS" "${PT_NICS[@]}"
  e2e_wait_ready pt
  e2e_check "8. pings cross the active-backup bonds" e2e_until 60 pt "ping -c 1 -W 1 $SW_IP"
  ping_start ab 400
  sleep 2
  V=$(sw 'vsctl bond/show bond0' | sed -n 's/^active member mac: .*(\(.*\))$/\1/p')
  pa=$(pt 'cat /sys/class/net/bond0/bonding/active_slave')
  e2e_log "8. active members: rvswitch $V, partner $pa: pulling the cable of $V at both ends"
  t0=$(e2e_ms)
  cable off "$V"
  active_is() { [ "$(gvs bond/show bond0 | sed -n 's/^active member mac: .*(\(.*\))$/\1/p')" = "$1" ]; }
  if e2e_until 10 active_is "$(other_of "$V")"; then
    e2e_result ab_switch_host_ms $(($(e2e_ms) - t0))
  else
    e2e_fail "8. rvswitch did not make $(other_of "$V") active within 10 s"
  fi
  r=$(ping_wait ab)
  e2e_log "8. ping: $r"
  out_ms=$(($(kv "$r" max_lost_run) * IVL))
  e2e_result ab_carrier_outage_ms "$out_ms"
  e2e_assert "8. active-backup outage ${out_ms} ms <= ${CARRIER_LIMIT} ms" '[ "$(kv "$r" lost_tail)" -eq 0 ] && [ $out_ms -le $CARRIER_LIMIT ]'
  cable on "$V"
  e2e_check "8. $V enabled again after the cable is back" e2e_until 10 member_enabled "$V"
elif [ "$RUN_AB" = 1 ]; then
  e2e_log "8. skipped: the unplugged member never came back"
fi

sw 'vsctl show; vsctl bond/show bond0' | sed 's/^/    /'
# keep the guest's vswitchd log with the scenario's logs
sw 'cat /var/log/rvswitch.log' >"$SWLOG" 2>&1 || true
