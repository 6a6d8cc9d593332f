# shellcheck shell=bash
# shellcheck disable=SC2153 # PREFIX, WORK, PY, TOOL come from bench.sh
# Shared machinery for scripts/bench.sh: logging, cleanup registry, process
# control, hugepages, testpmd peers and the measurement window.
# Sourced, never run. Expects: WORK (private directory), PREFIX (unique name
# for DPDK file prefixes), PY (python3 with matplotlib if available), TOOL
# (scripts/bench/tool.py).

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }

# ---------------------------------------------------------------------------
# Cleanup registry. Every resource the harness creates is registered here and
# released by run_cleanup (on exit, Ctrl-C, or between measurements).

CLEANUP_PIDS=()       # processes we started (pid)
CLEANUP_PATHS=()      # files/dirs we created
CLEANUP_HOOKS=()      # shell commands (stop a switch gracefully first)

on_cleanup() { CLEANUP_HOOKS+=("$1"); }
own_pid() { CLEANUP_PIDS+=("$1"); }
own_path() { CLEANUP_PATHS+=("$1"); }

# pid_alive PID: running (a zombie does not count).
pid_alive() {
  local state
  state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# kill_pid PID [grace-seconds]: SIGTERM, wait, then SIGKILL; reaps it if it
# is our child. Only for pids we started ourselves.
kill_pid() {
  local pid=$1 grace=${2:-5} i
  [ -n "$pid" ] || return 0
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
    if pid_alive "$pid"; then
      log "pid $pid did not stop on SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 30; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
      done
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

pidfile_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

# run_cleanup: release everything registered so far (reverse order of hooks),
# and remove DPDK runtime directories/hugepage files with our prefix.
run_cleanup() {
  local i pid p
  for ((i = ${#CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUP_HOOKS[i]}" || true
  done
  CLEANUP_HOOKS=()
  for pid in "${CLEANUP_PIDS[@]}"; do kill_pid "$pid" 5; done
  CLEANUP_PIDS=()
  for p in "${CLEANUP_PATHS[@]}"; do rm -rf -- "$p"; done
  CLEANUP_PATHS=()
  dpdk_remove_prefix_files "$PREFIX"
}

# DPDK leaves /var/run/dpdk/<file-prefix>/ and, without --in-memory,
# /dev/hugepages/<file-prefix>map_* behind.
dpdk_remove_prefix_files() {
  local prefix=$1 d
  [ -n "$prefix" ] || return 0
  for d in /var/run/dpdk/"$prefix"*; do [ -e "$d" ] && rm -rf -- "$d"; done
  for d in /dev/hugepages/"$prefix"*; do [ -e "$d" ] && rm -f -- "$d"; done
  return 0
}

# wait_until TIMEOUT-SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
  local timeout=$1 deadline
  shift
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------
# Hugepages: 1024 x 2 MiB covers one switch (512 MiB) plus testpmd (256 MiB).

HUGEPAGES_WANT=1024
ensure_hugepages() {
  local total free
  total=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
  if [ "${total:-0}" -lt "$HUGEPAGES_WANT" ]; then
    log "reserving $HUGEPAGES_WANT x 2 MiB hugepages (had ${total:-0})"
    echo "$HUGEPAGES_WANT" >/proc/sys/vm/nr_hugepages 2>/dev/null ||
      die "cannot reserve hugepages (need root): echo $HUGEPAGES_WANT > /proc/sys/vm/nr_hugepages"
  fi
  mountpoint -q /dev/hugepages 2>/dev/null || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
    log "warning: /dev/hugepages is not a hugetlbfs mount"
  free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
  if [ "${free:-0}" -lt 384 ]; then
    log "warning: only ${free:-0} free hugepages (a switch with 512 MiB plus testpmd need 384); other processes hold the rest"
  fi
}

# ---------------------------------------------------------------------------
# testpmd peers.

TESTPMD=${TESTPMD:-dpdk-testpmd}

# testpmd_vhost_peer NAME SOCK MAC MODE [EXTRA-ARGS...]: start testpmd as the
# "VM": net_virtio_user in server mode (like QEMU under libvirt's
# mode='server'), forwarding lcore on core 0 next to the main lcore, run in
# the background; stats every second go to $WORK/NAME.log.
testpmd_vhost_peer() {
  local name=$1 sock=$2 mac=$3 mode=$4 pid
  shift 4
  # --single-file-segments: vhost-user takes at most 8 memory regions.
  "$TESTPMD" --lcores 0@0,1@0 --main-lcore 0 --no-pci --in-memory --single-file-segments \
    -m 256 --file-prefix "$PREFIX-tp" \
    --vdev "net_virtio_user0,path=$sock,server=1,queue_size=1024,mac=$mac" \
    -- --forward-mode="$mode" --auto-start --nb-cores=1 --rxd=1024 --txd=1024 \
    --total-num-mbufs=32768 --stats-period=1 "$@" </dev/null >"$WORK/$name.log" 2>&1 &
  pid=$!
  own_pid "$pid"
  echo "$pid" >"$WORK/$name.pid"
  # The server socket appears once EAL is up; testpmd then waits for the
  # switch to connect.
  wait_until 30 test -S "$sock" || {
    tail -20 "$WORK/$name.log" >&2
    die "testpmd ($name) did not create $sock"
  }
}

testpmd_stop() {
  local name=$1 pid
  pid=$(pidfile_pid "$WORK/$name.pid") || return 0
  kill_pid "$pid" 10
  rm -f "$WORK/$name.pid"
}

# testpmd_io_ceiling PCAP-A PCAP-B WARMUP WINDOW [MEM-MB MBUFS]: testpmd io
# forwarding between two pcap replay ports, forwarding lcore on core 1 (the
# switches' PMD core), main lcore on core 0. MEM-MB (default 256) and MBUFS
# (default: testpmd's own count) make room for a pcap of many frames, which
# the replay keeps in mbufs. Prints the sum of both ports' Tx-pps over the
# window as measured by testpmd between two "show port stats all", then the
# forwarding lcore's share of core 1 and the busy neighbours.
testpmd_io_ceiling() {
  local a=$1 b=$2 warmup=$3 window=$4 mem=${5:-256} mbufs=${6:-}
  local fifo="$WORK/testpmd-io.fifo" log="$WORK/testpmd-io.log" pid
  rm -f "$fifo"
  mkfifo "$fifo"
  own_path "$fifo"
  "$TESTPMD" --lcores 0@0,1@1 --main-lcore 0 --no-pci --in-memory -m "$mem" \
    --file-prefix "$PREFIX-io" \
    --vdev "net_pcap0,rx_pcap=$a,infinite_rx=1" --vdev "net_pcap1,rx_pcap=$b,infinite_rx=1" \
    -- -i --forward-mode=io --nb-cores=1 ${mbufs:+--total-num-mbufs=$mbufs} <"$fifo" >"$log" 2>&1 &
  pid=$!
  own_pid "$pid"
  exec {tp_fd}>"$fifo"
  if ! wait_until 30 grep -q "testpmd>" "$log"; then
    exec {tp_fd}>&-
    kill_pid "$pid"
    tail -20 "$log" >&2
    log "testpmd io ceiling: testpmd did not start"
    echo "nan nan -"
    return 0
  fi
  echo "start" >&"$tp_fd"
  sleep "$warmup"
  echo "show port stats all" >&"$tp_fd"
  cpu_snap "$WORK/testpmd-io.cpu.a"
  sleep "$window"
  cpu_snap "$WORK/testpmd-io.cpu.b"
  echo "show port stats all" >&"$tp_fd"
  sleep 0.5
  echo "stop" >&"$tp_fd"
  echo "quit" >&"$tp_fd"
  exec {tp_fd}>&-
  wait_until 15 eval "! pid_alive $pid" || true
  kill_pid "$pid"
  echo "$("$PY" "$TOOL" testpmd-pps "$log") $("$PY" "$TOOL" cpudiff "$WORK/testpmd-io.cpu.a" "$WORK/testpmd-io.cpu.b" "$pid" $$ "$pid")"
}

# ---------------------------------------------------------------------------
# Busy neighbours: snapshots of every process's CPU time, to tell whether the
# PMD had its core to itself during the window.

cpu_snap() { "$PY" "$TOOL" cpusnap "$1"; }
