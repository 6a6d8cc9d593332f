#!/bin/sh
# Reserve 2 MiB hugepages and mount hugetlbfs for the DPDK integration
# tests, the demo and the benchmarks. Idempotent; needs root.
# Usage: scripts/hugepages.sh [PAGES]   (default 1024 x 2 MiB)
set -e
want=${1:-1024}
cur=$(cat /proc/sys/vm/nr_hugepages)
if [ "$cur" -lt "$want" ]; then
    echo "$want" > /proc/sys/vm/nr_hugepages
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
fi
total=$(cat /proc/sys/vm/nr_hugepages)
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
echo "hugepages: $total reserved, $free free"
if [ "$total" -lt "$want" ]; then
    echo "hugepages.sh: only $total of $want hugepages could be reserved" >&2
    exit 1
fi
