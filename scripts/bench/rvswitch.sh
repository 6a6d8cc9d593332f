# shellcheck shell=bash
# rvswitch driver for scripts/bench.sh (same interface as ovs.sh), following
# the vswitchd/vsctl contract: vswitchd with a private state dir and control
# socket, then the same globals OVS gets (EAL main lcore 0, PMD core 1,
# 512 MiB socket memory, a private --file-prefix). OVS 3.1 always adds
# --in-memory to its EAL arguments; rvswitch leaves it out when dpdk-extra
# has --file-prefix, so it is passed explicitly. The daemon adds the
# "-a 0000:00:00.0" allow-list itself.

RVS_BIN_DIR=${RVS_BIN_DIR:-}
RVS_DIR=""
# vswitchd sizes its PMD slots with available_parallelism(), which follows
# the process's CPU affinity: started under "taskset -c 0" it cannot place a
# PMD on core 1 and falls back to core 0 (vswitchd/src/control.rs
# host_cores). Until that is fixed, start it with every core allowed and,
# once its PMD runs, move every other thread to core 0 (rvs_settle), which
# gives the same placement OVS gets. RVS_WIDE_AFFINITY=0 starts it on core 0
# like OVS.
RVS_WIDE_AFFINITY=${RVS_WIDE_AFFINITY:-1}

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
  local pin=(taskset -c 0)
  [ "$RVS_WIDE_AFFINITY" = 1 ] && pin=(taskset -c "0-$(($(nproc --all) - 1))")
  "${pin[@]}" "$RVS_BIN_DIR/vswitchd" --state-dir "$RVS_DIR" --socket "$RVS_DIR/sock" \
    --log-file "$RVS_DIR/vswitchd.log" --pidfile "$RVS_DIR/pid" --detach || {
    tail -20 "$RVS_DIR/vswitchd.log" >&2 2>/dev/null
    return 1
  }
  wait_until 30 test -S "$RVS_DIR/sock" || return 1
  rvs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
    other_config:dpdk-socket-mem=512 \
    "other_config:dpdk-extra=\"--file-prefix=$PREFIX-rvs --in-memory\"" || {
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

# rvs_settle: called once the scenario runs; see RVS_WIDE_AFFINITY.
rvs_settle() {
  local pid tid
  [ "$RVS_WIDE_AFFINITY" = 1 ] || return 0
  pid=$(pidfile_pid "$RVS_DIR/pid") || return 0
  for tid in $("$PY" "$TOOL" non-pmd-tids "$pid"); do
    taskset -cp 0 "$tid" >/dev/null 2>&1 || true
  done
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
