# shellcheck shell=bash
# shellcheck disable=SC2153 # PREFIX, PY, TOOL come from bench.sh
# OVS-DPDK 3.1 driver for scripts/bench.sh, run the way /work/shared/NOTES.md
# and DEVELOPERS.md describe: ovsdb-server and ovs-vswitchd-dpdk in a private
# directory, /var/run/openvswitch present, dpdk-extra with --file-prefix and
# "-a 0000:00:00.0", datapath_type=netdev. A test tool only.
#
# Interface shared with rvswitch.sh (SW=ovs|rvs selects the driver):
#   <sw>_start DIR      start the daemon(s) with the common EAL/PMD settings
#   <sw>_stop           stop them and remove what they left (idempotent)
#   <sw>_vsctl ARGS     ovs-vsctl language
#   <sw>_appctl ARGS    ovs-appctl runtime commands (fdb/add, pmd-stats-*, ...)
#   <sw>_tx_sample OUT IFACE...   write "iface t tx_packets" lines (live counters)
#   <sw>_settle         after the scenario is running: fix thread placement if needed
#   <sw>_pids           pids of the switch's processes (first: the datapath)
#   <sw>_version        one line

OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVS_DIR=""
OVS_MADE_RUNDIR=""

ovs_vsctl() { ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=60 "$@"; }
ovs_appctl() { ovs-appctl -t "$OVS_DIR/vswitchd.ctl" --timeout=30 "$@"; }

ovs_check() {
  [ -x "$OVS_VSWITCHD" ] || { log "OVS: $OVS_VSWITCHD not found (package openvswitch-switch-dpdk)"; return 1; }
  local tool
  for tool in ovsdb-server ovs-vsctl ovs-appctl ovsdb-tool; do
    command -v "$tool" >/dev/null || { log "OVS: $tool not found (package openvswitch-switch)"; return 1; }
  done
  [ -r "$OVS_SCHEMA" ] || { log "OVS: schema $OVS_SCHEMA not found"; return 1; }
}

ovs_version() {
  local v
  v=$("$OVS_VSWITCHD" --version 2>/dev/null | head -1)
  echo "${v:-unknown} ($(basename "$OVS_VSWITCHD"), DPDK $(pkg-config --modversion libdpdk 2>/dev/null || echo '?'))"
}

ovs_start() {
  OVS_DIR=$1
  mkdir -p "$OVS_DIR"
  on_cleanup ovs_stop
  if [ ! -d /var/run/openvswitch ]; then
    mkdir -p /var/run/openvswitch
    OVS_MADE_RUNDIR=1
  fi
  # Keep OVS's run-time files (bridge .mgmt/.snoop sockets, default vhost
  # socket dir) in the private directory too.
  export OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR
  ovsdb-tool create "$OVS_DIR/conf.db" "$OVS_SCHEMA" || return 1
  ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
    --unixctl="$OVS_DIR/ovsdb.ctl" --pidfile="$OVS_DIR/ovsdb.pid" \
    --log-file="$OVS_DIR/ovsdb.log" --detach 2>"$OVS_DIR/ovsdb.stderr" || {
    cat "$OVS_DIR/ovsdb.stderr" >&2
    return 1
  }
  ovs_vsctl --no-wait init || return 1
  ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    other_config:dpdk-socket-mem=512 \
    "other_config:dpdk-extra=\"--file-prefix=$PREFIX-ovs -a 0000:00:00.0\"" || return 1
  "$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" --detach --pidfile="$OVS_DIR/vswitchd.pid" \
    --unixctl="$OVS_DIR/vswitchd.ctl" --log-file="$OVS_DIR/vswitchd.log" \
    2>"$OVS_DIR/vswitchd.stderr" || {
    tail -20 "$OVS_DIR/vswitchd.log" >&2
    return 1
  }
  wait_until 60 ovs_appctl version || return 1
  grep -q "DPDK Enabled - initialized" "$OVS_DIR/vswitchd.log" || {
    tail -20 "$OVS_DIR/vswitchd.log" >&2
    log "OVS: DPDK did not initialise"
    return 1
  }
}

ovs_stop() {
  [ -n "$OVS_DIR" ] || return 0
  local pid
  pid=$(pidfile_pid "$OVS_DIR/vswitchd.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then
    # "exit --cleanup" returns before OVS has deleted its ports (and the
    # bridge's persistent internal tap); let it finish before any signal.
    timeout 20 ovs-appctl -t "$OVS_DIR/vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
    wait_until 20 eval "! pid_alive $pid" || log "OVS: ovs-vswitchd did not exit within 20 s"
    kill_pid "$pid" 10
  fi
  pid=$(pidfile_pid "$OVS_DIR/ovsdb.pid")
  if [ -n "$pid" ] && pid_alive "$pid"; then
    timeout 10 ovs-appctl -t "$OVS_DIR/ovsdb.ctl" exit >/dev/null 2>&1 || true
    wait_until 10 eval "! pid_alive $pid" || true
    kill_pid "$pid" 5
  fi
  if [ -n "$OVS_MADE_RUNDIR" ]; then
    rmdir /var/run/openvswitch 2>/dev/null || true
    OVS_MADE_RUNDIR=""
  fi
  # The bridge's internal port is a persistent tap named after the bridge
  # (unique to this harness run); remove it if OVS could not.
  if [ -n "${BR:-}" ] && ip link show "$BR" >/dev/null 2>&1; then
    ip link delete "$BR" 2>/dev/null || ip tuntap del dev "$BR" mode tap 2>/dev/null || true
  fi
  dpdk_remove_prefix_files "$PREFIX-ovs"
  [ -n "${KEEP:-}" ] || rm -rf -- "$OVS_DIR"
  unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR
  OVS_DIR=""
}

# ovs_settle: nothing to do; ovs-vswitchd runs under the harness's
# "taskset -c 0" and pins its PMD to core 1 itself.
ovs_settle() { :; }

ovs_pids() {
  pidfile_pid "$OVS_DIR/vswitchd.pid"
  echo
  pidfile_pid "$OVS_DIR/ovsdb.pid"
  echo
}

# The ovsdb "statistics" column is refreshed only every 5 s
# (stats-update-interval cannot go lower), so read the live device counters
# with dpctl/show -s: the same netdev statistics the column is filled from.
ovs_tx_sample() {
  local out=$1 t0 t1 raw="$1.raw"
  shift
  t0=$(now)
  ovs_appctl dpctl/show -s >"$raw" 2>&1
  t1=$(now)
  "$PY" "$TOOL" ovs-dpctl "$raw" "$@" |
    awk -v t="$(echo "$t0 $t1" | awk '{printf "%.6f", ($1 + $2) / 2}')" '{print $1, t, $2}' >"$out"
}
