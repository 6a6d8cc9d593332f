#!/usr/bin/env bash
# Scenario 7: vhost-user server ports (type=dpdkvhostuser, CloudStack's DPDK
# default): rvswitch creates <run dir>/<vhost-sock-dir>/<name> and the QEMU
# guests connect to it as clients.
#
#   vm1  dpdkvhostuser vm1, tag=300    eth0  172.16.30.1/24
#   vm2  dpdkvhostuser vm2, tag=300    eth0  172.16.30.2/24
#   vm3  dpdkvhostuser vm3, plain -m (no shared memory)
#
# vsctl refuses a vhost-sock-dir that does not exist; vm2 pings vm1; vm2's
# QEMU is killed (link_state goes down) and a new QEMU started on the same
# socket pings vm1 again with no vsctl command; vm3's QEMU cannot share its
# memory, and the port's error column says so. del-port removes the socket.
# shellcheck disable=SC2016 # e2e_assert evaluates its single-quoted expression
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init s8-vhost-server

BR=${E2E_BR:-ovsbr7}
RUN=$E2E_WORK/run
VDIR=$RUN/vhost
[ ! -e "/sys/class/net/$BR" ] || e2e_die "a netdev named $BR already exists (another rvswitch running?)"

link_is() { [ "$(vs get Interface "$1" link_state)" = "$2" ]; }
error_has() { vs get Interface "$1" error | grep -q "$2"; }

e2e_switch_start
# ---- the socket directory must exist (relative to the run directory $RUN)
if out=$(vs set Open_vSwitch . other_config:vhost-sock-dir=vhost 2>&1); then
  e2e_fail "vsctl accepted a vhost-sock-dir that does not exist"
else
  e2e_log "refused: $out"
  e2e_check "the refusal names the directory" grep -q "^vsctl: .*$VDIR does not exist" <<<"$out"
fi
mkdir -m 0750 "$VDIR"
vsx set Open_vSwitch . other_config:vhost-sock-dir=vhost
vsx add-br "$BR" -- set bridge "$BR" datapath_type=netdev
e2e_until 10 test -e "/sys/class/net/$BR" || e2e_die "internal port $BR did not appear"
e2e_quiet_if "$BR"
for vm in vm1 vm2 vm3; do
  vsx add-port "$BR" "$vm" tag=300 -- set Interface "$vm" type=dpdkvhostuser
done
for vm in vm1 vm2 vm3; do
  e2e_until 10 test -S "$VDIR/$vm" || e2e_die "rvswitch did not create $VDIR/$vm"
done
e2e_check "status shows the socket and mode=server" \
  [ "$(vs get Interface vm1 status:socket status:mode | tr '\n' ' ')" = "\"$VDIR/vm1\" server " ]

W=$E2E_TIMEOUT
e2e_guest vm1 "rv.ip=172.16.30.1/24 rv.listen=1" "vhostc:$VDIR/vm1,mac=52:54:00:00:71:01"
e2e_guest vm2 "rv.ip=172.16.30.2/24 rv.ping=172.16.30.1 rv.count=10 rv.interval=0.2 rv.wait_peer=$W" \
  "vhostc:$VDIR/vm2,mac=52:54:00:00:72:01"
e2e_wait_ready vm1 vm2
e2e_wait vm2 DONE >/dev/null
p=$(e2e_ping_line vm2 172.16.30.1)
e2e_log "$p"
e2e_check "vm2 -> vm1 through server ports: no loss" [ "$(e2e_field "$p" loss)" = 0% ]

# ---- QEMU restart: kill vm2's QEMU, start a new one on the same socket
old=${E2E_PID[vm2]}
kill -KILL "$old"
wait "$old" 2>/dev/null || true
if e2e_until 10 link_is vm2 down; then e2e_ok "vm2's link went down with its QEMU"; else e2e_fail "vm2's link stayed up after its QEMU was killed"; fi
e2e_check "the socket stays" test -S "$VDIR/vm2"
t0=$(e2e_ms)
e2e_guest vm2 "rv.ip=172.16.30.2/24 rv.ping=172.16.30.1 rv.count=10 rv.interval=0.2 rv.wait_peer=$W" \
  "vhostc:$VDIR/vm2,mac=52:54:00:00:72:01"
e2e_check "a new QEMU" [ "${E2E_PID[vm2]}" != "$old" ]
e2e_wait_ready vm2
e2e_wait vm2 DONE >/dev/null
e2e_result restart_to_done_ms $(($(e2e_ms) - t0))
p=$(e2e_ping_line vm2 172.16.30.1)
e2e_log "$p"
e2e_check "after the restart vm2 -> vm1 pings again (no vsctl command)" [ "$(e2e_field "$p" loss)" = 0% ]
e2e_check "vm2's link is up again" link_is vm2 up

# ---- a guest without shared memory: QEMU falls back, rvswitch says why
e2e_guest_launch vm3 "rv.ip=172.16.30.3/24 rv.listen=1" "$E2E_GUEST_CPUS" \
  --nic "vhostc:$VDIR/vm3,mac=52:54:00:00:73:01" --no-shared-mem
if e2e_until "$W" error_has vm3 'memory is not shared'; then
  e2e_ok "vm3 error: $(vs get Interface vm3 error)"
else
  e2e_fail "vm3's error column does not explain its down link: $(vs get Interface vm3 error)"
fi
e2e_check "vm3 stays down" link_is vm3 down
e2e_check "the log says it too" grep -q "vm3: vhost-user peer connected but its memory is not shared" "$SWLOG"
e2e_check "the guests with shared memory were never taken for unshared" \
  sh -c "! grep -q 'vm[12]: vhost-user peer connected but' '$SWLOG'"

# ---- del-port removes the socket
vsx del-port "$BR" vm3
e2e_until 10 [ ! -e "$VDIR/vm3" ] || e2e_fail "$VDIR/vm3 is still there after del-port"
vs show
