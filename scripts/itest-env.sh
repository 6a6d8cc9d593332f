#!/bin/sh
# Prerequisites and cleanup for vswitchd's integration tests
# (vswitchd/tests/). Needs root.
#
#   itest-env.sh setup     hugepages + hugetlbfs, /var/run/openvswitch, tool check
#   itest-env.sh cleanup   remove what interrupted test runs left behind:
#                          processes (by the pids in their pidfiles), network
#                          namespaces, directories, DPDK runtime and hugepage
#                          files, all named rvit-<pid>-*
#
# The tests call "setup" themselves (idempotent). Run "cleanup" after a test
# binary was killed (a panicking test cleans up after itself).
set -e

setup() {
    # rvswitch and OVS take 512 MB each, testpmd some more, and other DPDK
    # work may run on the machine at the same time: 4 GiB.
    "$(dirname "$0")/hugepages.sh" "${HUGEPAGES:-2048}" >/dev/null ||
        echo "itest-env.sh: could not reserve ${HUGEPAGES:-2048} hugepages; continuing" >&2
    # ovs-vswitchd-dpdk looks there even with OVS_RUNDIR set.
    mkdir -p /var/run/openvswitch
    missing=""
    for t in ip stdbuf kill dpdk-testpmd ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl; do
        command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
    done
    [ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] ||
        missing="$missing ovs-vswitchd-dpdk(openvswitch-switch-dpdk)"
    if [ -n "$missing" ]; then
        echo "itest-env.sh: missing:$missing (scripts/install-deps.sh installs them)" >&2
        exit 1
    fi
    echo "hugepages: $(cat /proc/sys/vm/nr_hugepages) reserved, $(awk '/^HugePages_Free/ {print $2}' /proc/meminfo) free"
}

# Kill the process whose pid is in $1 if it is still one of ours.
kill_pidfile() {
    pid=$(cat "$1" 2>/dev/null) || return 0
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 0
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline")
    case "$cmd" in
    *vswitchd*|*testpmd*|*ovsdb-server*)
        echo "killing $pid: $cmd"
        kill -9 "$pid" 2>/dev/null || true ;;
    esac
}

cleanup() {
    for d in /tmp/rvit-*; do
        [ -d "$d" ] || continue
        for f in "$d"/*.pid; do
            [ -f "$f" ] && kill_pidfile "$f"
        done
        rm -rf "$d"
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rvit-' || true); do
        ip netns del "$ns" || true
    done
    rm -rf /var/run/dpdk/rvit-*
    rm -f /dev/hugepages/rvit-*
}

case "${1:-}" in
setup) setup ;;
cleanup) cleanup ;;
*) echo "usage: $0 setup|cleanup" >&2; exit 2 ;;
esac
