#!/usr/bin/env bash
# Memory-error and leak check: the datapath crate's unit and integration
# tests built and run under AddressSanitizer, whose LeakSanitizer reports
# every allocation still reachable from nowhere at exit (any leak fails
# the run, as does any out-of-bounds access, use after free or double free).
#
#   ./scripts/sanitize.sh                    datapath under ASan + LSan
#   SANITIZER=leak ./scripts/sanitize.sh     LeakSanitizer alone (faster)
#   SANITIZE_PACKAGES="-p datapath -p ctl"   more crates (the pure ones:
#                                            the DPDK crates link the
#                                            uninstrumented libdpdk)
#
# It needs a nightly toolchain with the rust-src component (the standard
# library is rebuilt with the sanitizer: -Zbuild-std), and installs both
# through rustup when they are missing. The build goes to its own target
# directory (target/sanitize, or $CARGO_TARGET_DIR) so it never invalidates
# the normal build. Doc-tests are not run (rustdoc would need its own
# cross-compilation flags); every other test target of the crate is.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN=${SANITIZE_TOOLCHAIN:-nightly}
SANITIZER=${SANITIZER:-address}
PACKAGES=${SANITIZE_PACKAGES:--p datapath}
TARGET=$(rustc -vV | sed -n 's/^host: //p')

case "$SANITIZER" in
address | leak) ;;
*)
    echo "sanitize.sh: SANITIZER must be address or leak, not $SANITIZER" >&2
    exit 2
    ;;
esac

# shellcheck disable=SC1091
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v rustup >/dev/null 2>&1; then
    echo "sanitize.sh: rustup is needed to get a nightly toolchain (https://rustup.rs)" >&2
    exit 1
fi
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
sysroot=$(rustup run "$TOOLCHAIN" rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    rustup component add rust-src --toolchain "$TOOLCHAIN"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/sanitize}
export RUSTFLAGS="-Zsanitizer=$SANITIZER -Cdebuginfo=1 ${SANITIZE_RUSTFLAGS:-}"
# Leaks are errors; keep going after the first report only for ASan's
# own diagnostics, which abort anyway. Proptest's shrinking output and
# failure persistence stay as in a normal run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=23}
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

echo "sanitize.sh: $SANITIZER sanitizer, $TOOLCHAIN ($(rustup run "$TOOLCHAIN" rustc --version)), $PACKAGES, target $TARGET"
started=$(date +%s)
# shellcheck disable=SC2086
cargo +"$TOOLCHAIN" test -Zbuild-std --target "$TARGET" $PACKAGES --lib --bins --tests
echo "sanitize.sh: no leak or memory error ($(( $(date +%s) - started )) s)"
