# shellcheck shell=bash
# rvswitch driver for scripts/bench.sh (same interface as ovs.sh), following
# the vswitchd/vsctl contract: vswitchd with a private state dir and control
# socket, then the same globals OVS gets (EAL main lcore 0, PMD core 1,
# 512 MiB socket memory, a private --file-prefix).

RVS_BIN_DIR=${RVS_BIN_DIR:-}
RVS_DIR=""

rvs_vswitchd() { echo "$RVS_BIN_DIR/vswitchd"; }
rvs_vsctl() { "$RVS_BIN_DIR/vsctl" --socket="$RVS_DIR/sock" -t 60 "$@"; }
rvs_appctl() { rvs_vsctl "$@"; }

rvs_check() {
  if [ -z "$RVS_BIN_DIR" ] || [ ! -x "$RVS_BIN_DIR/vswitchd" ] || [ ! -x "$RVS_BIN_DIR/vsctl" ]; then
    log "rvswitch: vswitchd/vsctl not found in ${RVS_BIN_DIR:-<none>} (cargo build --release -p vswitchd -p ctl, or --bin-dir DIR)"
    return 1
  fi
}

rvs_version() {
  local v commit
  v=$("$RVS_BIN_DIR/vswitchd" --version 2>/dev/null | head -1)
  commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
  if [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null | head -1)" ]; then commit="$commit+dirty"; fi
  echo "${v:-vswitchd} (git $commit, binaries $RVS_BIN_DIR, built $(date -r "$RVS_BIN_DIR/vswitchd" +'%F %T' 2>/dev/null))"
}

rvs_start() {
  RVS_DIR=$1
  mkdir -p "$RVS_DIR"
  on_cleanup rvs_stop
  "$RVS_BIN_DIR/vswitchd" --state-dir "$RVS_DIR" --socket "$RVS_DIR/sock" \
    --log-file "$RVS_DIR/vswitchd.log" --pidfile "$RVS_DIR/pid" --detach || {
    tail -20 "$RVS_DIR/vswitchd.log" >&2 2>/dev/null
    return 1
  }
  wait_until 30 test -S "$RVS_DIR/sock" || return 1
  rvs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    other_config:dpdk-socket-mem=512 \
    "other_config:dpdk-extra=\"--file-prefix=$PREFIX-rvs\"" || {
    tail -20 "$RVS_DIR/vswitchd.log" >&2
    return 1
  }
}

rvs_stop() {
  [ -n "$RVS_DIR" ] || return 0
  local pid
  pid=$(pidfile_pid "$RVS_DIR/pid")
  # SIGTERM stops cleanly (sockets and hugepage files removed).
  [ -n "$pid" ] && kill_pid "$pid" 15
  dpdk_remove_prefix_files "$PREFIX-rvs"
  [ -n "${KEEP:-}" ] || rm -rf -- "$RVS_DIR"
  RVS_DIR=""
}

rvs_pids() {
  pidfile_pid "$RVS_DIR/pid"
  echo
}

# Live interface counters, one read per interface, each stamped with the
# midpoint of its own command.
rvs_tx_sample() {
  local out=$1 iface t0 t1 v
  shift
  : >"$out"
  for iface in "$@"; do
    t0=$(now)
    v=$(rvs_vsctl get Interface "$iface" statistics:tx_packets 2>/dev/null | tr -dc '0-9')
    t1=$(now)
    echo "$iface $(echo "$t0 $t1" | awk '{printf "%.6f", ($1 + $2) / 2}') ${v:-nan}" >>"$out"
  done
}
