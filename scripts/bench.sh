#!/usr/bin/env bash
# Side-by-side benchmark of rvswitch against OVS-DPDK (issue 5).
#
#   scripts/bench.sh [--quick] [--scenarios P1,P3] [--runs N] [--window S]
#                    [--warmup S] [--retries N] [--quiet-wait S] [--switches ovs,rvswitch]
#                    [--bin-dir DIR] [--out FILE.md] [--no-ceiling] [--keep]
#
# For each scenario and run, OVS-DPDK and rvswitch are started in turn (the
# order alternates between runs) in private directories with the same EAL
# main core (0), PMD core (1) and socket memory (512 MiB), driven by net_pcap
# replay ports and testpmd over vhost-user, and measured over a fixed window
# after a warm-up. The medians go into one table, printed and written to
# benches/results/<date>-<host>.md with a PNG bar chart. Everything the
# harness starts or creates is removed on exit or Ctrl-C.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

usage() {
  sed -n '2,/^[^#]/p' "$0" | grep -v '^# shellcheck' | sed -n 's/^# \{0,1\}//p'
  cat <<'EOF'
Options:
  --quick           1 run, 1 s warm-up, 2 s window, no retries, no quiet wait
                    (CI smoke test)
  --scenarios LIST  comma-separated subset of P1..P6 (default: all) and the
                    QoS conformance scenarios Q1..Q3 (run only when listed)
  --runs N          runs per scenario and switch (default 3; median reported)
  --window S        measurement window in seconds (default 5)
  --warmup S        warm-up before each window in seconds (default 3; P6 at least 10)
  --switches LIST   ovs,rvswitch (default both; a missing rvswitch build is skipped)
  --bin-dir DIR     where vswitchd and vsctl are (default: target/release, then
                    $CARGO_TARGET_DIR/release)
  --out FILE        results file (default benches/results/<date>-<host>[-quick].md)
  --retries N       measure a disturbed window again up to N times (default 2;
                    disturbed = another process on the machine used >= 5% of a
                    core, small and short-lived ones >= 10% together, or
                    steal >= 5%)
  --quiet-wait S    before each measurement wait up to S seconds for a quiet
                    machine (default 30)
  --no-ceiling      skip the testpmd io ceiling measurement
  --keep            keep the private work directory and logs
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$REPO/scripts/bench"
TOOL="$BENCH_DIR/tool.py"
# Debian's python3 carries python3-matplotlib (scripts/install-deps.sh).
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

QUICK="" RUNS=3 WINDOW=5 WARMUP=3 RETRIES=2 QUIET_WAIT=30 SCENARIOS="" SWITCHES="ovs,rvswitch" OUT="" KEEP="" CEILING=1
BIN_DIR=""
RUNS_SET="" WINDOW_SET="" WARMUP_SET="" RETRIES_SET="" QUIET_SET=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --scenarios) SCENARIOS=${2:?}; shift ;;
    --scenarios=*) SCENARIOS=${1#*=} ;;
    --runs) RUNS=${2:?}; RUNS_SET=1; shift ;;
    --runs=*) RUNS=${1#*=}; RUNS_SET=1 ;;
    --window) WINDOW=${2:?}; WINDOW_SET=1; shift ;;
    --window=*) WINDOW=${1#*=}; WINDOW_SET=1 ;;
    --warmup) WARMUP=${2:?}; WARMUP_SET=1; shift ;;
    --warmup=*) WARMUP=${1#*=}; WARMUP_SET=1 ;;
    --switches) SWITCHES=${2:?}; shift ;;
    --switches=*) SWITCHES=${1#*=} ;;
    --bin-dir) BIN_DIR=${2:?}; shift ;;
    --bin-dir=*) BIN_DIR=${1#*=} ;;
    --out) OUT=${2:?}; shift ;;
    --out=*) OUT=${1#*=} ;;
    --retries) RETRIES=${2:?}; RETRIES_SET=1; shift ;;
    --retries=*) RETRIES=${1#*=}; RETRIES_SET=1 ;;
    --quiet-wait) QUIET_WAIT=${2:?}; QUIET_SET=1; shift ;;
    --quiet-wait=*) QUIET_WAIT=${1#*=}; QUIET_SET=1 ;;
    --no-ceiling) CEILING="" ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$QUICK" ]; then
  [ -n "$RUNS_SET" ] || RUNS=1
  [ -n "$WINDOW_SET" ] || WINDOW=2
  [ -n "$WARMUP_SET" ] || WARMUP=1
  [ -n "$RETRIES_SET" ] || RETRIES=0
  [ -n "$QUIET_SET" ] || QUIET_WAIT=0
fi
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ "$WINDOW" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --window must be a positive integer (seconds)" >&2; exit 2; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "bench: --warmup must be a non-negative integer (seconds)" >&2; exit 2; }
[[ "$RETRIES" =~ ^[0-9]+$ ]] || { echo "bench: --retries must be a non-negative integer" >&2; exit 2; }
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || { echo "bench: --quiet-wait must be a non-negative integer (seconds)" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
# shellcheck source=bench/ovs.sh
. "$BENCH_DIR/ovs.sh"
# shellcheck source=bench/rvswitch.sh
. "$BENCH_DIR/rvswitch.sh"
# shellcheck source=bench/scenarios.sh
. "$BENCH_DIR/scenarios.sh"

if [ -z "$SCENARIOS" ]; then
  SCEN_LIST=("${ALL_SCENARIOS[@]}")
else
  IFS=, read -r -a SCEN_LIST <<<"$SCENARIOS"
  for s in "${SCEN_LIST[@]}"; do
    [ -n "${SCEN_DESC[$s]:-}" ] || { echo "bench: unknown scenario '$s' (P1..P6, Q1..Q3)" >&2; exit 2; }
  done
fi
SW_LIST=()
IFS=, read -r -a _sw <<<"$SWITCHES"
for s in "${_sw[@]}"; do
  case "$s" in
    ovs) SW_LIST+=(ovs) ;;
    rvswitch | rvs) SW_LIST+=(rvs) ;;
    *) echo "bench: unknown switch '$s' (ovs, rvswitch)" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (DPDK, hugepages, tap devices)"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found (package dpdk-dev; scripts/install-deps.sh)"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
[ "$(nproc --all)" -ge 2 ] || die "need at least 2 cores (PMD on core 1)"

# Everything but the PMDs (and the testpmd io ceiling's forwarding lcore)
# runs on core 0: this shell, the daemons' main threads, testpmd peers.
taskset -cp 0 $$ >/dev/null || die "cannot pin the harness to core 0"

WORK=$(mktemp -d /tmp/rvbench.XXXXXX) || die "mktemp failed"
PREFIX="rvbench$$"
PCAPS="$WORK/pcap"
RAW="$WORK/raw.tsv"
BR="rvb$$"
SW="" SW_DIR=""

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  run_cleanup
  if [ -n "$KEEP" ]; then log "kept $WORK"; else rm -rf -- "$WORK"; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# rvswitch binaries.
if [ -z "$BIN_DIR" ]; then
  BIN_DIR="$REPO/target/release"
  if [ ! -x "$BIN_DIR/vswitchd" ] && [ -n "${CARGO_TARGET_DIR:-}" ]; then
    BIN_DIR="$CARGO_TARGET_DIR/release"
  fi
fi
RVS_BIN_DIR=$(cd "$BIN_DIR" 2>/dev/null && pwd || echo "$BIN_DIR")
SKIPPED=""
ACTIVE=()
for s in "${SW_LIST[@]}"; do
  if "${s}_check"; then
    ACTIVE+=("$s")
  else
    SKIPPED="$SKIPPED $s"
    log "skipping $s"
  fi
done
[ ${#ACTIVE[@]} -gt 0 ] || die "no switch to measure"

ensure_hugepages
log "generating pcaps in $PCAPS"
make_pcaps "$PCAPS" || die "pcap generation failed"

# ---------------------------------------------------------------------------
# Metadata for the report.

META="$WORK/meta.env"
{
  echo "date=$(date +%F)"
  echo "time=$(date '+%F %T %Z')"
  echo "host=$(hostname -s)"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "cores=$(nproc --all)"
  echo "cpu_mhz=$(awk -F': *' '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo)"
  echo "tsc_mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | head -1)"
  echo "kernel=$(uname -sr)"
  echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo '?') ($(dpkg-query -W -f='${Version}' dpdk 2>/dev/null))"
  echo "testpmd=$(command -v "$TESTPMD")"
  echo "ovs=$(ovs_version)"
  if [[ " ${ACTIVE[*]} " == *" rvs "* ]]; then
    echo "rvs=$(rvs_version)"
    if [ "$RVS_WIDE_AFFINITY" = 1 ]; then
      echo "rvs_affinity=vswitchd started with all cores allowed, then every thread but its PMD moved to core 0 (its PMD core choice follows the process affinity: vswitchd/src/control.rs host_cores uses available_parallelism)"
    fi
  fi
  echo "skipped=${SKIPPED# }"
  echo "runs=$RUNS"
  echo "window=$WINDOW"
  echo "warmup=$WARMUP"
  echo "quick=${QUICK:-0}"
  echo "retries=$RETRIES"
  echo "quiet_wait=$QUIET_WAIT"
  echo "scenarios=${SCEN_LIST[*]}"
  echo "hugepages=$(awk '/^HugePages_Total:/ {t=$2} /^HugePages_Free:/ {f=$2} END {print t " total, " f " free at start"}' /proc/meminfo)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$META"

# ---------------------------------------------------------------------------
# One measurement: start SW, configure scenario, warm up, measure, stop.

printf 'scenario\tswitch\trun\tmpps\tbusy_cyc\tcyc\tbusy_pct\trx_mpps\tpmd_share\tpeer_rx\tpeer_tx\tothers\tper_iface\tplacement\tnote\n' >"$RAW"

# A measurement leaves its raw line in REC and sets DISTURBED; the caller
# appends the line it keeps to RAW.
REC="" DISTURBED=0
record() { # scenario switch run mpps busy cyc busy_pct rx_mpps share peer_rx peer_tx others per_iface placement note
  local IFS=$'\t'
  REC="$*"
}

# is_disturbed SHARE OTHERS: other processes (or the hypervisor) took CPU
# time during the window. A low PMD share alone is not a disturbance: OVS's
# PMD blocks on its own locks during upcalls (P6).
is_disturbed() { [ "$2" != "-" ]; }

sink_total() { # file -> sum of counts (nan if any missing)
  awk '$3 == "nan" {bad = 1} {s += $3} END {if (bad || NR == 0) print "nan"; else printf "%.0f\n", s}' "$1"
}

# iface_errors: "name: error" for every interface whose error column is
# set (a device that failed to attach), from "show".
iface_errors() {
  sw_vsctl show 2>/dev/null | awk '
    $1 == "Interface" {name = $2}
    $1 == "error:" {sub(/^[[:space:]]*error:[[:space:]]*/, ""); printf "%s%s: %s", sep, name, $0; sep = "; "}'
}

# wait_for_traffic: the sinks' counters move (ports attached, peers
# connected), within 60 s; gives up early when an interface reports an
# attach error.
wait_for_traffic() {
  local a b start deadline
  start=$(date +%s)
  deadline=$((start + 60))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ $(($(date +%s) - start)) -ge 5 ] && [ -n "$(iface_errors)" ]; then return 1; fi
    "${SW}_tx_sample" "$M/ready.a" "${SINKS[@]}"
    sleep 0.5
    "${SW}_tx_sample" "$M/ready.b" "${SINKS[@]}"
    a=$(sink_total "$M/ready.a")
    b=$(sink_total "$M/ready.b")
    if [ "$a" != nan ] && [ "$b" != nan ] && [ "$b" -gt "$a" ]; then return 0; fi
  done
  return 1
}

measure_once() {
  local scen=$1 sw=$2 run=$3 warm=$WARMUP rate parts share others peer_rx=nan peer_tx=nan pids pid0 fail="" placement
  SW=$sw
  SW_DIR="$WORK/$sw-$scen-$run"
  M="$SW_DIR/m"
  SINKS=() NOTE="" PEER="" DISTURBED=0
  [ "$scen" = P6 ] && [ -z "$QUICK" ] && [ "$warm" -lt 10 ] && warm=10
  mkdir -p "$M"
  log "$scen run $run: $sw"
  if ! "${sw}_start" "$SW_DIR"; then
    fail="start failed"
  elif ! "scen_$scen"; then
    fail="configuration failed"
  elif ! wait_for_traffic; then
    fail="no traffic at the sinks"
    local errs
    errs=$(iface_errors)
    [ -n "$errs" ] && fail="$fail; interface errors: $errs"
  fi
  if [ -n "$fail" ]; then
    log "$scen $sw run $run: $fail"
    [ -n "$KEEP" ] && cp -r "$SW_DIR" "$WORK/failed-$sw-$scen-$run" 2>/dev/null
    record "$scen" "$sw" "$run" nan nan nan nan nan nan nan nan - - - "$fail"
    run_cleanup
    return 0
  fi
  "${sw}_settle"
  sleep "$warm"
  mapfile -t pids < <("${sw}_pids" | grep .)
  pid0=${pids[0]:-0}
  placement=$("$PY" "$TOOL" placement "$pid0")
  case "$placement" in
    "pmd-c01@1;"*"-others@0") ;;
    *) log "warning: $sw thread placement is $placement (want the PMD alone on core 1, the rest on core 0)" ;;
  esac
  sw_appctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1
  "${sw}_tx_sample" "$M/tx.a" "${SINKS[@]}"
  # CPU snapshots bracket only the sleep, so our own short commands do not
  # count as busy neighbours.
  cpu_snap "$M/cpu.a"
  sleep "$WINDOW"
  cpu_snap "$M/cpu.b"
  "${sw}_tx_sample" "$M/tx.b" "${SINKS[@]}"
  sw_appctl dpif-netdev/pmd-stats-show >"$M/pmd.txt" 2>&1
  [ -n "$PEER" ] && read -r peer_rx peer_tx <<<"$("$PY" "$TOOL" testpmd-avg "$WORK/$PEER.log" "$WINDOW")"
  read -r rate parts <<<"$("$PY" "$TOOL" rate "$M/tx.a" "$M/tx.b")"
  read -r rx busy cyc busy_pct <<<"$("$PY" "$TOOL" pmd "$M/pmd.txt" 1)"
  read -r share others <<<"$("$PY" "$TOOL" cpudiff "$M/cpu.a" "$M/cpu.b" "$pid0" $$ "${pids[@]}")"
  local rx_mpps
  rx_mpps=$(awk -v r="$rx" -v w="$WINDOW" 'BEGIN {if (r == "nan") print "nan"; else printf "%.3f", r / w / 1e6}')
  log "$scen $sw run $run: $rate Mpps ($parts), busy cycles/packet $busy, PMD got ${share} of core 1${others:+, busy neighbours: $others}"
  if is_disturbed "$share" "$others"; then
    DISTURBED=1
    log "warning: disturbed window (PMD share $share, busy neighbours: $others)"
  fi
  record "$scen" "$sw" "$run" "$rate" "$busy" "$cyc" "$busy_pct" "$rx_mpps" "$share" "$peer_rx" "$peer_tx" "$others" "${parts:--}" "$placement" "${NOTE:--}"
  if [ -n "$KEEP" ]; then
    cp "$M/pmd.txt" "$WORK/pmd-$sw-$scen-$run.txt" 2>/dev/null
    [ -n "$PEER" ] && cp "$WORK/$PEER.log" "$WORK/$PEER-$sw-$scen-$run.log" 2>/dev/null
    for f in "$SW_DIR"/*.log; do [ -e "$f" ] && cp "$f" "$WORK/$(basename "$f" .log)-$sw-$scen-$run.log"; done
  fi
  run_cleanup
}

# wait_quiet: before each measurement, wait up to QUIET_WAIT seconds for one
# second with no busy neighbours (nothing of ours runs at this point).
wait_quiet() {
  local deadline=$(($(date +%s) + QUIET_WAIT)) others
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  while [ "$(date +%s)" -lt "$deadline" ]; do
    cpu_snap "$WORK/quiet.a"
    sleep 1
    cpu_snap "$WORK/quiet.b"
    read -r _ others <<<"$("$PY" "$TOOL" cpudiff "$WORK/quiet.a" "$WORK/quiet.b" 0 $$)"
    [ "$others" = "-" ] && return 0
  done
  log "the machine stayed busy ($others); measuring anyway"
}

# measure SCENARIO SWITCH RUN: a disturbed window is measured again (after
# waiting for a quiet machine), up to RETRIES times; the first undisturbed
# (or the last) sample is kept.
measure() {
  local attempt
  for ((attempt = 0; attempt <= RETRIES; attempt++)); do
    wait_quiet
    measure_once "$@"
    if [ "$DISTURBED" != 1 ] || [ "$attempt" -ge "$RETRIES" ]; then break; fi
    log "re-measuring $1 $2 run $3 (attempt $((attempt + 2)) of $((RETRIES + 1)))"
  done
  echo "$REC" >>"$RAW"
}

# ---------------------------------------------------------------------------
# testpmd io ceilings, once per invocation: over the P1 pcap ports, and over
# the P6 pcaps (100,000 stored frames on A) when P6 is measured: what the
# sources and sinks alone allow on the PMD core, with no switching at all.

# ceiling NAME PCAP-A PCAP-B [MEM-MB MBUFS]: sets CEIL, CEIL_SHARE, CEIL_OTHERS.
ceiling() {
  local name=$1 attempt
  shift
  CEIL=nan CEIL_SHARE=nan CEIL_OTHERS=-
  for ((attempt = 0; attempt <= RETRIES; attempt++)); do
    wait_quiet
    log "testpmd io ceiling over the $name pcaps (forwarding lcore on core 1)"
    testpmd_io_ceiling "$1" "$2" "$WARMUP" "$WINDOW" "${3:-}" "${4:-}" >"$WORK/ceiling.out"
    read -r CEIL CEIL_SHARE CEIL_OTHERS <"$WORK/ceiling.out"
    run_cleanup
    log "testpmd io ceiling ($name): $CEIL Mpps (forwarding lcore got $CEIL_SHARE of core 1; busy neighbours: $CEIL_OTHERS)"
    if ! is_disturbed "$CEIL_SHARE" "$CEIL_OTHERS" || [ "$attempt" -ge "$RETRIES" ]; then break; fi
    log "re-measuring the ceiling (disturbed window)"
  done
}

if [ -n "$CEILING" ]; then
  ceiling P1 "$PCAPS/p1_a.pcap" "$PCAPS/p1_b.pcap"
  {
    echo "ceiling=$CEIL"
    echo "ceiling_share=$CEIL_SHARE"
    echo "ceiling_others=$CEIL_OTHERS"
  } >>"$META"
  if [[ " ${SCEN_LIST[*]} " == *" P6 "* ]]; then
    # The replay holds every stored frame in an mbuf of its own.
    ceiling P6 "$PCAPS/p6_a.pcap" "$PCAPS/p6_b.pcap" 1024 $((2 * P6_MACS + 65536))
    {
      echo "ceiling_p6=$CEIL"
      echo "ceiling_p6_share=$CEIL_SHARE"
      echo "ceiling_p6_others=$CEIL_OTHERS"
    } >>"$META"
  fi
else
  echo "ceiling=nan" >>"$META"
fi

for scen in "${SCEN_LIST[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    # Alternate which switch goes first, so slow drift hits both alike.
    if ((run % 2 == 1)); then order=("${ACTIVE[@]}"); else order=(); for ((k = ${#ACTIVE[@]} - 1; k >= 0; k--)); do order+=("${ACTIVE[k]}"); done; fi
    for sw in "${order[@]}"; do
      measure "$scen" "$sw" "$run"
    done
  done
done
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"

# ---------------------------------------------------------------------------
# Report.

mkdir -p "$REPO/benches/results"
if [ -z "$OUT" ]; then
  OUT="$REPO/benches/results/$(date +%F)-$(hostname -s)${QUICK:+-quick}.md"
fi
"$PY" "$BENCH_DIR/report.py" --raw "$RAW" --meta "$META" --out "$OUT" || die "report failed (raw data in $RAW)"
log "results: $OUT"
