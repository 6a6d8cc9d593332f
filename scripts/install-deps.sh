#!/usr/bin/env bash
# Install everything rvswitch needs to build, test, benchmark and demo on
# Debian 12 (bookworm). Idempotent; skips apt when every package is present.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-dev
  libdpdk-dev dpdk dpdk-dev            # dpdk-testpmd is in dpdk-dev
  qemu-system-x86 busybox-static linux-image-cloud-amd64 cpio
  openvswitch-switch-dpdk               # comparison / interop peer only
  libvirt-daemon-system libvirt-clients # tests/e2e/s7-libvirt.sh: a real libvirt on rvswitch
  iproute2 procps psmisc kmod util-linux tcpdump python3 python3-matplotlib
  prometheus                            # promtool checks the metrics endpoint's output
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; installing rustup (stable)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
