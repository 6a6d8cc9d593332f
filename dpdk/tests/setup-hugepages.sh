#!/bin/sh
# Reserve 2 MiB hugepages and mount hugetlbfs for the DPDK integration
# tests. Idempotent; needs root. Usage: setup-hugepages.sh [PAGES]
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
    echo "setup-hugepages.sh: only $total of $want hugepages could be reserved" >&2
    exit 1
fi
