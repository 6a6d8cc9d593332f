#!/usr/bin/env bash
# The whole rvswitch test suite, from a fresh machine: installs what it
# needs, then runs lints, unit and property tests, the DPDK integration
# tests (one at a time), a bounded fuzzing smoke, the leak check, and the
# end-to-end scenarios with QEMU guests.
#
#   sudo ./scripts/test.sh            everything
#   SKIP_E2E=1 ./scripts/test.sh      without the QEMU scenarios
#   FUZZ_SECONDS=N                    seconds per fuzz target (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n===== %s =====\n' "$*"; }
started=$(date +%s)

step "dependencies"
./scripts/install-deps.sh
# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
./scripts/hugepages.sh 2048
export CARGO_TERM_COLOR=never

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "pure crates: unit, property and integration tests"
cargo test -p datapath -p ctl -p rvswitch-benches

step "DPDK crates: integration tests, one DPDK process at a time"
cargo test -p dpdk -p dpdk-sys -p vswitchd -- --test-threads=1

step "datapath unit tests under AddressSanitizer/LeakSanitizer"
./scripts/sanitize.sh

step "fuzzing smoke (${FUZZ_SECONDS:-15} s per target)"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} ./scripts/fuzz-smoke.sh

if [ -z "${SKIP_E2E:-}" ]; then
  step "end-to-end scenarios with QEMU guests"
  cargo build --release -p vswitchd -p ctl
  RVSWITCH_BIN="$ROOT/target/release" ./tests/e2e/run.sh
fi

step "all tests passed in $(( $(date +%s) - started )) s"
