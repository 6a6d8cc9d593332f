#!/usr/bin/env bash
# Run the rvswitch end-to-end scenarios (real QEMU guests, real Linux
# bonding) one after the other and print a summary. Exits non-zero if any
# scenario fails.
#
# Usage: tests/e2e/run.sh [--no-build] [SCENARIO...]
#   SCENARIO: s1 .. s7 or a full name (s1-access-trunk); default: all.
#   --no-build: do not run `cargo build --release -p vswitchd -p ctl` first
#               (it is skipped anyway when RVSWITCH_BIN is set).
#
# Environment: see tests/e2e/lib.sh (RVSWITCH_BIN, E2E_TIMEOUT, E2E_KEEP,
# E2E_GUEST_CPUS, ...), plus
#   E2E_OUT               directory for the per-scenario logs and the summary
#                         (default /tmp/rvswitch-e2e-<date>)
#   E2E_SCENARIO_TIMEOUT  seconds one scenario may take (default 420)
#
# Needs root (TAP devices, network namespaces), 2 cores, the packages of
# scripts/install-deps.sh. Takes about 9 minutes on the 2-core build machine.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=1
WANT=()
for a in "$@"; do
  case $a in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $a" >&2; exit 2 ;;
    *) WANT+=("$a") ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 2; }

ALL=()
for f in "$HERE"/s[0-9]*-*.sh; do ALL+=("$(basename "$f" .sh)"); done
SCEN=()
if [ ${#WANT[@]} -eq 0 ]; then
  SCEN=("${ALL[@]}")
else
  for w in "${WANT[@]}"; do
    m=''
    for s in "${ALL[@]}"; do
      case $s in "$w"|"$w"-*) m=$s ;; esac
    done
    [ -n "$m" ] || { echo "run.sh: no scenario '$w' (have: ${ALL[*]})" >&2; exit 2; }
    SCEN+=("$m")
  done
fi

OUT=${E2E_OUT:-/tmp/rvswitch-e2e-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
export E2E_RESULTS=$OUT/results.txt
: >"$E2E_RESULTS"
T0=$SECONDS

if [ -z "${RVSWITCH_BIN:-}${RVSWITCH_BIN_DIR:-}" ] && [ $BUILD = 1 ]; then
  echo "run.sh: cargo build --release -p vswitchd -p ctl"
  (cd "$ROOT" && cargo build --release -p vswitchd -p ctl) || { echo "run.sh: build failed" >&2; exit 1; }
fi
"$ROOT/scripts/guest/build-initramfs.sh" >/dev/null || { echo "run.sh: guest image build failed" >&2; exit 1; }

declare -A RC=() DUR=()
for s in "${SCEN[@]}"; do
  echo "================ $s"
  t=$SECONDS
  timeout --foreground -k 30 "${E2E_SCENARIO_TIMEOUT:-420}" "$HERE/$s.sh" 2>&1 | tee "$OUT/$s.log"
  RC[$s]=${PIPESTATUS[0]}
  DUR[$s]=$((SECONDS - t))
done

fails=0
for s in "${SCEN[@]}"; do [ "${RC[$s]}" = 0 ] || fails=$((fails + 1)); done
{
  echo "================ rvswitch e2e summary ($(date -Is), $(nproc) cores)"
  for s in "${SCEN[@]}"; do
    if [ "${RC[$s]}" = 0 ]; then st=PASS; else st="FAIL (exit ${RC[$s]})"; fi
    printf '%-18s %-14s %4ss\n' "$s" "$st" "${DUR[$s]}"
    grep -h "^RESULT $s " "$E2E_RESULTS" | sed "s/^RESULT $s /    /"
    if [ "${RC[$s]}" != 0 ]; then
      grep -h 'FAIL:' "$OUT/$s.log" | sed 's/^/    /'
    fi
  done
  echo "total: $((SECONDS - T0)) s, ${#SCEN[@]} scenarios, $fails failed; logs in $OUT"
} | tee "$OUT/summary.txt"

[ $fails -eq 0 ]
