#!/usr/bin/env bash
# Smoke-fuzz the parsers, the burst pipeline and the LACP machine: run every
# cargo-fuzz target in fuzz/ for a short time and fail if any of them
# crashes (or does not build).
#
#   scripts/fuzz-smoke.sh                 # every target, 20 s each
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh
#   FUZZ_TARGETS="ethernet ip" scripts/fuzz-smoke.sh
#
# Needs the nightly toolchain (libFuzzer and AddressSanitizer); installs
# cargo-fuzz with `cargo install cargo-fuzz --locked` if it is missing.
# Crashing inputs are left in fuzz/artifacts/<target>/; the growing corpus in
# fuzz/corpus/<target>/ (both ignored by git). Committed seed inputs live in
# fuzz/seeds/<target>/ and are read, never written.
set -euo pipefail

secs="${FUZZ_SECONDS:-20}"
case "$secs" in
'' | *[!0-9]*)
    echo "fuzz-smoke: FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz-smoke: the nightly toolchain is required (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz-smoke: no fuzz targets found" >&2
    exit 2
fi

# The machine harnesses (pipeline, lacp) on their fixed inputs first.
echo "=== fuzz-smoke: harness self-tests"
cargo +nightly test --lib --quiet

passed=0
failed=()
for t in "${targets[@]}"; do
    echo "=== fuzz-smoke: $t for ${secs}s"
    mkdir -p "corpus/$t"
    corpora=("corpus/$t")
    if [ -d "seeds/$t" ]; then
        corpora+=("seeds/$t")
    fi
    if cargo +nightly fuzz run "$t" "${corpora[@]}" -- \
        -max_total_time="$secs" -print_final_stats=1; then
        passed=$((passed + 1))
    else
        echo "=== fuzz-smoke: $t FAILED (crash inputs, if any, in fuzz/artifacts/$t/)" >&2
        failed+=("$t")
    fi
done

echo "fuzz-smoke: ${passed} passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz-smoke: failed targets: ${failed[*]}" >&2
    exit 1
fi
