# shellcheck shell=bash
# Shared helpers of the rvswitch end-to-end scenarios (source this file).
#
# Every scenario runs one vswitchd (its own state dir, control socket and
# --in-memory EAL) and QEMU guests from scripts/guest/ (TCG, 1 vCPU,
# 256 MiB, vhost-user NICs with QEMU as server). Everything a scenario
# starts or creates (processes, sockets, namespaces, veths) is removed by an
# EXIT trap, also on failure or Ctrl-C. On failure the evidence (vsctl
# show, bond/show, lacp/show, fdb/show, interface statistics, vswitchd log,
# guest consoles) is printed and the logs are kept.
#
# Environment:
#   RVSWITCH_BIN       where vswitchd and vsctl are (RVSWITCH_BIN_DIR works
#                      too; default ${CARGO_TARGET_DIR:-target}/release)
#   E2E_TIMEOUT        seconds any single wait may take (default 120)
#   E2E_KEEP=1         keep the work directory (logs) even on success
#   E2E_RESULTS=FILE   append "RESULT <scenario> <key>=<value>" lines there
#   E2E_GUEST_CPUS     CPU list QEMU guests are pinned to (default 0)
#   E2E_PMD_MASK       pmd-cpu-mask (default 0x2), E2E_LCORE_MASK (default 0x1)
#   E2E_PMD_MAXSLEEP   pmd-maxsleep in microseconds (default 500)
#
# Helpers (all print to stdout; failures go to stderr):
#   e2e_init NAME                 work dir, traps, binaries, guest images
#   e2e_log MSG / e2e_ok MSG / e2e_fail MSG / e2e_die MSG
#   e2e_check DESC CMD...         ok if CMD succeeds, FAIL otherwise
#   e2e_assert DESC 'EXPR'        ok if the shell expression is true
#   e2e_result KEY VALUE          a measured number for the summary
#   e2e_switch_start / e2e_switch_stop / e2e_switch_kill9
#   vs ARGS...                    vsctl on this scenario's socket
#   vsx ARGS...                   the same, echoing the command first
#   e2e_guest NAME CMDLINE NIC... start a guest in the background
#   e2e_guest_ex NAME CMDLINE [--cpus LIST] [RUN-GUEST OPTION]...
#                                 the same with any run-guest.sh options
#                                 (--q35, --smp, --mem, --initrd, --nic, ...),
#                                 a command channel (rv.cmd=1) and a
#                                 hot-plug file (--q35)
#   e2e_gcmd [-t S] NAME COMMAND  run a shell command inside guest NAME
#                                 (e2e_guest_ex only); its output and status
#   e2e_wait NAME KIND [TIMEOUT]  wait for a console line (dies on timeout)
#   e2e_stat IFACE COUNTER        one interface statistic
#   e2e_until TIMEOUT CMD...      poll CMD every 0.1 s until it succeeds
#   e2e_lacp_ok BOND MEMBER...    lacp/show: negotiated, members distributing
#   e2e_gap NAME DST FROM TO      largest gap between REPLY lines in a window
#   e2e_netns NAME / e2e_veth A B track namespaces and veths for cleanup
#   E2E_CLEANUP_HOOKS+=(FN)       FN runs first on exit (e.g. virsh destroy)

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/guest/lib.sh
. "$E2E_ROOT/scripts/guest/lib.sh"

E2E_TIMEOUT=${E2E_TIMEOUT:-120}
E2E_GUEST_CPUS=${E2E_GUEST_CPUS:-0}
E2E_PMD_MASK=${E2E_PMD_MASK:-0x2}
E2E_LCORE_MASK=${E2E_LCORE_MASK:-0x1}
E2E_PMD_MAXSLEEP=${E2E_PMD_MAXSLEEP:-500}

E2E_NAME=''
E2E_WORK=''
E2E_FAILS=0
E2E_T0=0
E2E_SWITCH_PID=''
E2E_NETNS=()
E2E_VETHS=()
E2E_EXTRA_PIDS=()
E2E_EVIDENCE_HOOKS=() # functions e2e_evidence calls (their output goes with it)
E2E_CLEANUP_HOOKS=()  # functions e2e_cleanup calls first (before guests stop)
declare -A E2E_PID=() E2E_LOG=() E2E_MON=() E2E_TLAUNCH=() E2E_CMD=() E2E_HOTPLUG=()

e2e_ms() { date +%s%3N; }

e2e_elapsed() {
  local ms=$(($(e2e_ms) - E2E_T0))
  printf '%d.%01d' $((ms / 1000)) $(((ms % 1000) / 100))
}

e2e_log() { printf '[%s +%ss] %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$*"; }
e2e_ok() { printf '[%s +%ss] ok: %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$*"; }

e2e_fail() {
  printf '[%s +%ss] FAIL: %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$*" >&2
  E2E_FAILS=$((E2E_FAILS + 1))
}

# Fatal: the scenario cannot go on. The EXIT trap prints the evidence.
e2e_die() {
  e2e_fail "$*"
  exit 1
}

# e2e_check DESCRIPTION CMD...: ok if CMD succeeds, FAIL otherwise.
e2e_check() {
  local what=$1
  shift
  if "$@"; then e2e_ok "$what"; else e2e_fail "$what"; fi
}

# e2e_assert DESCRIPTION 'EXPRESSION': ok if the shell expression (which may
# combine tests with && and ||) is true, FAIL otherwise.
e2e_assert() {
  local _e2e_what=$1
  shift
  if eval "$*"; then e2e_ok "$_e2e_what"; else e2e_fail "$_e2e_what"; fi
}

e2e_result() {
  printf '[%s +%ss] result: %s=%s\n' "$E2E_NAME" "$(e2e_elapsed)" "$1" "$2"
  printf 'RESULT %s %s=%s\n' "$E2E_NAME" "$1" "$2" >>"$E2E_WORK/results"
  if [ -n "${E2E_RESULTS:-}" ]; then
    printf 'RESULT %s %s=%s\n' "$E2E_NAME" "$1" "$2" >>"$E2E_RESULTS"
  fi
}

e2e_bin_dir() {
  local d=${RVSWITCH_BIN:-${RVSWITCH_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}}
  case $d in /*) ;; *) d=$E2E_ROOT/$d ;; esac
  printf '%s\n' "$d"
}

e2e_init() {
  E2E_NAME=$1
  E2E_T0=$(e2e_ms)
  [ "$(id -u)" = 0 ] || { echo "$E2E_NAME: must run as root (namespaces, TAP devices, hugepages)" >&2; exit 2; }
  local bin
  bin=$(e2e_bin_dir)
  VSWITCHD=$bin/vswitchd
  VSCTL=$bin/vsctl
  for b in "$VSWITCHD" "$VSCTL"; do
    [ -x "$b" ] || { echo "$E2E_NAME: $b not found: run 'cargo build --release -p vswitchd -p ctl' or set RVSWITCH_BIN" >&2; exit 2; }
  done
  for t in qemu-system-x86_64 taskset ip python3; do
    command -v "$t" >/dev/null || { echo "$E2E_NAME: $t is missing (scripts/install-deps.sh)" >&2; exit 2; }
  done
  E2E_WORK=$(mktemp -d "/tmp/rve2e-$E2E_NAME.XXXXXX")
  chmod 755 "$E2E_WORK"
  mkdir -p "$E2E_WORK/run" "$E2E_WORK/state"
  : >"$E2E_WORK/results"
  SOCK=$E2E_WORK/run/vswitchd.sock
  SWLOG=$E2E_WORK/vswitchd.log
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # build (or find cached) guest kernel + initramfs once, before parallel boots
  eval "$("$E2E_ROOT/scripts/guest/build-initramfs.sh" 2>/dev/null)"
  export RV_GUEST_KERNEL RV_GUEST_INITRAMFS
  e2e_log "work dir $E2E_WORK, binaries $bin"
}

vs() { "$VSCTL" --socket="$SOCK" "$@"; }

vsx() {
  printf '[%s +%ss] $ vsctl %s\n' "$E2E_NAME" "$(e2e_elapsed)" "$*"
  "$VSCTL" --socket="$SOCK" "$@"
}

# ---------------------------------------------------------------- switch

e2e_switch_launch() {
  "$VSWITCHD" --state-dir "$E2E_WORK/state" --socket "$SOCK" \
    --log-file "$SWLOG" --pidfile "$E2E_WORK/run/vswitchd.pid" --detach ||
    e2e_die "vswitchd did not start (see $SWLOG)"
  E2E_SWITCH_PID=$(cat "$E2E_WORK/run/vswitchd.pid")
}

# Start vswitchd and give it the globals every scenario uses.
e2e_switch_start() {
  local t0
  e2e_switch_launch
  t0=$(e2e_ms)
  vsx --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-lcore-mask="$E2E_LCORE_MASK" \
    other_config:pmd-cpu-mask="$E2E_PMD_MASK" \
    other_config:pmd-maxsleep="$E2E_PMD_MAXSLEEP" ||
    e2e_die "could not set the Open_vSwitch globals"
  # the command returns once EAL is up (dpdk-init=true)
  e2e_result dpdk_init_ms $(($(e2e_ms) - t0))
  e2e_log "vswitchd pid $E2E_SWITCH_PID"
}

# A pid is alive while it exists and is not a zombie (--detach re-parents the
# daemon to pid 1, which may reap it late).
e2e_pid_running() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ] && [ "$st" != X ]
}

e2e_switch_alive() {
  [ -n "$E2E_SWITCH_PID" ] && e2e_pid_running "$E2E_SWITCH_PID" &&
    [ "$(cat "/proc/$E2E_SWITCH_PID/comm" 2>/dev/null)" = vswitchd ]
}

e2e_switch_stop() {
  e2e_switch_alive || { E2E_SWITCH_PID=''; return 0; }
  kill -TERM "$E2E_SWITCH_PID" 2>/dev/null || true
  local _
  for _ in $(seq 100); do
    e2e_switch_alive || { E2E_SWITCH_PID=''; return 0; }
    sleep 0.1
  done
  echo "$E2E_NAME: vswitchd did not stop on SIGTERM within 10 s; killing it" >&2
  kill -KILL "$E2E_SWITCH_PID" 2>/dev/null || true
  E2E_SWITCH_PID=''
  return 1
}

e2e_switch_kill9() {
  e2e_switch_alive || e2e_die "vswitchd is not running"
  kill -KILL "$E2E_SWITCH_PID"
  local _
  for _ in $(seq 200); do
    e2e_pid_running "$E2E_SWITCH_PID" || break
    sleep 0.01
  done
  E2E_SWITCH_PID=''
}

# ---------------------------------------------------------------- guests

# e2e_guest NAME CMDLINE NIC... : start a guest in the background (QEMU
# waits for rvswitch to connect every vhost NIC before it boots the guest).
# Every guest gets a QEMU monitor socket (e2e_monitor NAME set_link nic1 off).
e2e_guest() {
  local name=$1 cmdline=$2 nics=() n
  shift 2
  for n in "$@"; do nics+=(--nic "$n"); done
  e2e_guest_launch "$name" "$cmdline" "$E2E_GUEST_CPUS" "${nics[@]}"
}

# e2e_guest_ex NAME CMDLINE [--cpus LIST] [RUN-GUEST OPTION]...: start a
# guest with any run-guest.sh options (later --kernel/--initrd override the
# test image), a command channel (rv.cmd=1, e2e_gcmd NAME ...) and, for
# --q35 guests, a hot-plug file (E2E_HOTPLUG[NAME]: `nicN device_add ...`).
e2e_guest_ex() {
  local name=$1 cmdline=$2 cpus=$E2E_GUEST_CPUS extra=()
  shift 2
  if [ "${1:-}" = --cpus ]; then cpus=$2; shift 2; fi
  E2E_CMD[$name]=$E2E_WORK/run/$name.cmd
  extra=(--cmd "${E2E_CMD[$name]}")
  case " $* " in
    *" --q35 "*)
      E2E_HOTPLUG[$name]=$E2E_WORK/$name.hotplug
      extra+=(--hotplug-file "${E2E_HOTPLUG[$name]}")
      ;;
  esac
  e2e_guest_launch "$name" "$cmdline rv.cmd=1" "$cpus" "${extra[@]}" "$@"
}

# e2e_gcmd [-t SECONDS] NAME COMMAND: run COMMAND (a shell command line) in
# guest NAME; prints its output, returns its status (see rvguest_cmd).
e2e_gcmd() {
  local t=$E2E_TIMEOUT
  if [ "${1:-}" = -t ]; then t=$2; shift 2; fi
  [ -n "${E2E_CMD[$1]:-}" ] || e2e_die "guest $1 has no command channel (e2e_guest_ex)"
  rvguest_cmd -t "$t" "${E2E_CMD[$1]}" "$2"
}

# e2e_guest_launch NAME CMDLINE CPUS RUN-GUEST-ARGS...
e2e_guest_launch() {
  local name=$1 cmdline=$2 cpus=$3
  shift 3
  E2E_LOG[$name]=$E2E_WORK/$name.console.log
  E2E_MON[$name]=$E2E_WORK/run/$name.mon
  : >"${E2E_LOG[$name]}"
  # a watchdog unless the caller set one
  case " $cmdline " in *" rv.max_time="*) ;; *) cmdline="$cmdline rv.max_time=$((E2E_TIMEOUT * 4))" ;; esac
  taskset -c "$cpus" "$E2E_ROOT/scripts/guest/run-guest.sh" --name "$name" \
    --kernel "$RV_GUEST_KERNEL" --initrd "$RV_GUEST_INITRAMFS" \
    --cmdline "$cmdline" \
    --log "${E2E_LOG[$name]}" --monitor "${E2E_MON[$name]}" "$@" \
    </dev/null >"$E2E_WORK/$name.qemu.log" 2>&1 &
  E2E_PID[$name]=$!
  E2E_TLAUNCH[$name]=$(e2e_ms)
  # taskset and run-guest.sh exec QEMU under the same pid: wait for that
  local _
  for _ in $(seq 100); do
    rvguest_alive "${E2E_PID[$name]}" "$name" && break
    [ -d "/proc/${E2E_PID[$name]}" ] || e2e_die "guest $name did not start: $(cat "$E2E_WORK/$name.qemu.log")"
    sleep 0.1
  done
  e2e_log "guest $name started (pid ${E2E_PID[$name]}): $cmdline"
}

# e2e_wait NAME KIND [TIMEOUT]: print the first KIND console line of NAME.
# Use it as a command or in an assignment (l=$(e2e_wait ...)), never inside
# another command's arguments, where its failure would go unnoticed.
e2e_wait() {
  local name=$1 kind=$2 t=${3:-$E2E_TIMEOUT} line
  line=$(rvguest_wait "${E2E_LOG[$name]}" "$name" "$kind" "$t" "${E2E_PID[$name]}") ||
    e2e_die "$name: no $kind line within ${t}s"
  printf '%s\n' "$line"
}

# e2e_wait_ready NAME...: wait for READY of each guest and record its boot
# time (host clock from launch to READY).
e2e_wait_ready() {
  local n line end left=("$@") rest
  end=$(($(e2e_ms) + E2E_TIMEOUT * 1000))
  while [ ${#left[@]} -gt 0 ]; do
    rest=()
    for n in "${left[@]}"; do
      line=$(e2e_line "$n" READY)
      if [ -n "$line" ]; then
        e2e_result "boot_ms_$n" $(($(e2e_ms) - E2E_TLAUNCH[$n]))
        e2e_log "$line"
      elif ! e2e_guest_alive "$n"; then
        e2e_die "guest $n exited before READY"
      else
        rest+=("$n")
      fi
    done
    left=("${rest[@]}")
    [ ${#left[@]} -eq 0 ] && break
    [ "$(e2e_ms)" -lt "$end" ] || e2e_die "no READY from ${left[*]} within ${E2E_TIMEOUT}s"
    sleep 0.2
  done
}

# e2e_has NAME KIND [PATTERN]: true once NAME printed a KIND line (matching
# the fixed string PATTERN); for e2e_until.
e2e_has() {
  e2e_lines "$1" "$2" | grep -qF -- "${3:-RV}"
}

e2e_line() { rvguest_line "${E2E_LOG[$1]}" "$1" "$2" "${3:-1}"; }
e2e_lines() { rvguest_lines "${E2E_LOG[$1]}" "$1" "$2"; }
e2e_field() { rvguest_field "$1" "$2"; }

# e2e_ping_line NAME DST: the PING summary of NAME for DST.
e2e_ping_line() { e2e_lines "$1" PING | { grep -F " dst=$2 " || true; } | head -n1; }

# e2e_guest_now NAME: the guest's clock (t_ms of its latest console line).
e2e_guest_now() {
  tr -d '\r' <"${E2E_LOG[$1]}" | { grep -a "^RV $1 " || true; } | tail -n1 | sed -n 's/.* t_ms=\([0-9]*\)$/\1/p'
}

e2e_guest_alive() { rvguest_alive "${E2E_PID[$1]}" "$1"; }

e2e_guest_stop() {
  local name=$1
  [ -n "${E2E_PID[$name]:-}" ] || return 0
  rvguest_stop "${E2E_PID[$name]}" "$name"
  wait "${E2E_PID[$name]}" 2>/dev/null || true
}

e2e_monitor() {
  local name=$1
  shift
  rvguest_monitor "${E2E_MON[$name]}" "$@"
}

# e2e_gap NAME DST FROM_MS TO_MS: the largest interval (ms) between
# consecutive REPLY lines from DST whose guest time lies in [FROM, TO],
# counting from the last reply before FROM. Prints -1 if there is no reply
# at all after FROM.
e2e_gap() {
  e2e_lines "$1" REPLY | { grep -F " dst=$2 " || true; } |
    awk -v from="$3" -v to="$4" '
      done { next }
      { t = $NF; sub(/^t_ms=/, "", t); t += 0 }
      t < from { prev = t; have = 1; next }
      { if (have && t - prev > g) g = t - prev; prev = t; have = 1; seen = 1 }
      t > to { done = 1 }
      END { print (seen ? g + 0 : -1) }'
}

# ---------------------------------------------------------------- switch state

e2e_stat() { vs get Interface "$1" "statistics:$2"; }

# e2e_tx_sum IFACE...: the sum of their tx_packets.
e2e_tx_sum() {
  local s=0 i v
  for i in "$@"; do
    v=$(e2e_stat "$i" tx_packets) || v=0
    s=$((s + v))
  done
  echo $s
}

# e2e_until TIMEOUT CMD...: run CMD every 0.1 s until it succeeds; fails on
# timeout. Prints nothing itself.
e2e_until() {
  local t=$1 end
  shift
  end=$(($(e2e_ms) + t * 1000))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(e2e_ms)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# e2e_lacp_ok BOND MEMBER...: lacp/show says the bond is negotiated and every
# listed member is current, attached and collecting+distributing.
# E2E_VSCTL names the function that runs vsctl (default vs: the host's
# switch; s6 asks the switch in its guest).
e2e_lacp_ok() {
  local bond=$1 out m
  shift
  out=$("${E2E_VSCTL:-vs}" lacp/show "$bond" 2>/dev/null) || return 1
  grep -Eq '^  status: .*negotiated' <<<"$out" || return 1
  for m in "$@"; do
    awk -v m="member: $m:" '
      index($0, m) == 1 { on = 1; if ($0 !~ /current/) bad = 1; next }
      /^member: / { on = 0 }
      on && /^  actor state:/ { st = $0 }
      END { exit (bad || st !~ /collecting/ || st !~ /distributing/) }' <<<"$out" || return 1
  done
}

# e2e_swlog_ms PATTERN [N]: the time (ms since midnight, host clock) of the
# Nth (default last) vswitchd log line containing the fixed string PATTERN.
e2e_swlog_ms() {
  grep -F -- "$1" "$SWLOG" 2>/dev/null | awk -v n="${2:-0}" '
    { split($1, a, /[:.]/); t[NR] = ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
    END { if (NR == 0) exit 1; print (n > 0 ? t[n] : t[NR]) }'
}

# e2e_ms_of_day: now, in the clock of e2e_swlog_ms.
e2e_ms_of_day() {
  local s
  s=$(date +%H:%M:%S.%3N)
  awk -v s="$s" 'BEGIN { split(s, a, /[:.]/); print ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }'
}

# e2e_bond_enabled BOND MEMBER: bond/show lists MEMBER as enabled.
e2e_bond_enabled() {
  vs bond/show "$1" 2>/dev/null | grep -Eq "^member $2: enabled"
}

e2e_bond_active() {
  vs bond/show "$1" 2>/dev/null | sed -n 's/^active member mac: .*(\(.*\))$/\1/p'
}

# e2e_bridge_mac BRIDGE: the MAC rvswitch uses as LACP system id (the
# bridge's internal interface MAC; lacp/show prints it as sys_id).
e2e_lacp_sysid() {
  vs lacp/show "$1" 2>/dev/null | sed -n 's/^  sys_id: //p' | head -n1
}

# ---------------------------------------------------------------- host network

e2e_netns() {
  ip netns add "$1" || e2e_die "cannot create network namespace $1"
  E2E_NETNS+=("$1")
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

# e2e_veth A B: a veth pair (A stays in the root namespace).
e2e_veth() {
  ip link add "$1" type veth peer name "$2" || e2e_die "cannot create veth $1/$2"
  E2E_VETHS+=("$1")
  e2e_quiet_if "$1"
  e2e_quiet_if "$2"
}

# No IPv6 (no router solicitations, MLD, DAD on the wire) on a test netdev.
e2e_quiet_if() {
  sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" >/dev/null 2>&1 || true
}

# e2e_refuse_if_routed CIDR...: fail if the host already routes those nets.
e2e_refuse_if_routed() {
  local c
  for c in "$@"; do
    if ip -4 route show to match "${c%/*}" | grep -v '^default' | grep -q .; then
      e2e_die "the host already has a route covering $c; set other test addresses"
    fi
  done
}

# ---------------------------------------------------------------- evidence

e2e_evidence() {
  local f=$E2E_WORK/evidence.txt n b
  {
    echo "===== evidence of $E2E_NAME ($(date -Is)) ====="
    if e2e_switch_alive; then
      echo "----- vsctl show"; vs show 2>&1
      for b in $(vs list-br 2>/dev/null); do
        echo "----- vsctl fdb/show $b"; vs fdb/show "$b" 2>&1
      done
      echo "----- vsctl bond/show"; vs bond/show 2>&1
      echo "----- vsctl lacp/show"; vs lacp/show 2>&1
      echo "----- vsctl lacp/show-stats"; vs lacp/show-stats 2>&1
      echo "----- interfaces (name, link_state, error, statistics)"
      vs --columns=name,link_state,error,statistics list interface 2>&1
      echo "----- vsctl dpif-netdev/pmd-stats-show"; vs dpif-netdev/pmd-stats-show 2>&1
    else
      echo "----- vswitchd is not running"
    fi
    echo "----- vswitchd log (last 60 lines)"
    tail -n 60 "$SWLOG" 2>/dev/null
    for n in "${E2E_EVIDENCE_HOOKS[@]}"; do "$n" || true; done
    for n in "${!E2E_LOG[@]}"; do
      echo "----- console of $n (last 40 lines)"
      tail -n 40 "${E2E_LOG[$n]}" 2>/dev/null | tr -d '\r'
    done
  } >"$f" 2>&1
  cat "$f" >&2
}

e2e_cleanup() {
  local rc=$? n
  trap - EXIT INT TERM
  [ $rc -ne 0 ] || [ "$E2E_FAILS" -eq 0 ] || rc=1
  if [ $rc -ne 0 ] && [ -n "$E2E_WORK" ]; then
    e2e_evidence || true
  fi
  for n in "${E2E_CLEANUP_HOOKS[@]}"; do "$n" || true; done
  for n in "${!E2E_PID[@]}"; do e2e_guest_stop "$n"; done
  for n in "${E2E_EXTRA_PIDS[@]}"; do
    kill "$n" 2>/dev/null || true
    wait "$n" 2>/dev/null || true
  done
  e2e_switch_stop || true
  for n in "${E2E_VETHS[@]}"; do ip link del "$n" 2>/dev/null || true; done
  for n in "${E2E_NETNS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  if [ -n "$E2E_WORK" ]; then
    rm -rf "$E2E_WORK/run" # sockets, monitors, pidfile
    if [ $rc -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
      rm -rf "$E2E_WORK"
    else
      echo "$E2E_NAME: logs kept in $E2E_WORK" >&2
    fi
  fi
  if [ $rc -eq 0 ]; then
    e2e_log "PASS ($(e2e_elapsed) s)"
  else
    printf '[%s +%ss] FAILED (%d failed checks, exit %d)\n' "$E2E_NAME" "$(e2e_elapsed)" "$E2E_FAILS" "$rc" >&2
  fi
  exit $rc
}
