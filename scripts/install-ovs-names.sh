#!/bin/sh
# install-ovs-names.sh: put `ovs-vsctl` and `ovs-appctl` on PATH as
# symlinks to rvswitch's vsctl, for hosts whose tools (libvirt,
# CloudStack, scripts) call OVS's names. vsctl behaves by the name it is
# run under: `ovs-vsctl` is vsctl with OVS's error prefix, `ovs-appctl`
# runs rvswitch's runtime commands (bond/show, lacp/show, fdb/show,
# dpif-netdev/pmd-stats-show, ...) with ovs-appctl's options.
#
# Only when Open vSwitch's own binaries are not installed, and never over
# a file that is not already one of these symlinks: it checks everything
# first and changes nothing if any check fails.
#
# usage: install-ovs-names.sh [--prefix=DIR] [--vsctl=PATH] [--dry-run] [--uninstall]
#                             [--ovs-dirs=DIR[:DIR...]]
#   --prefix=DIR     the links go to DIR/bin (default /usr/local)
#   --vsctl=PATH     the vsctl they point to (default DIR/bin/vsctl)
#   --dry-run        say what would be done, do nothing
#   --uninstall      remove the links (only links to a vsctl)
#   --ovs-dirs=LIST  where to look for OVS's own binaries (default
#                    /usr/bin:/usr/sbin:/bin:/sbin:/usr/local/bin:/usr/local/sbin)
set -eu

PROG=install-ovs-names.sh
NAMES="ovs-vsctl ovs-appctl"
prefix=/usr/local
vsctl=
dry_run=0
uninstall=0
ovs_dirs=/usr/bin:/usr/sbin:/bin:/sbin:/usr/local/bin:/usr/local/sbin

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '13,20s/^# \{0,1\}//p' "$0"; }

for arg in "$@"; do
    case $arg in
        --prefix=*) prefix=${arg#--prefix=} ;;
        --vsctl=*) vsctl=${arg#--vsctl=} ;;
        --ovs-dirs=*) ovs_dirs=${arg#--ovs-dirs=} ;;
        --dry-run) dry_run=1 ;;
        --uninstall) uninstall=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (use --help for help)" ;;
    esac
done
[ -n "$prefix" ] || die "--prefix must not be empty"
bindir=${prefix%/}/bin
[ -n "$vsctl" ] || vsctl=$bindir/vsctl

# Whether $1 is a symlink to a file named vsctl (one of ours).
ours() {
    [ -L "$1" ] || return 1
    case $(readlink "$1") in
        vsctl|*/vsctl) return 0 ;;
        *) return 1 ;;
    esac
}

run() {
    if [ "$dry_run" = 1 ]; then
        echo "would run: $*"
    else
        "$@"
    fi
}

if [ "$uninstall" = 1 ]; then
    for name in $NAMES; do
        link=$bindir/$name
        if ours "$link"; then
            run rm -f "$link"
            [ "$dry_run" = 1 ] || echo "removed $link"
        elif [ -e "$link" ] || [ -L "$link" ]; then
            echo "$PROG: $link is not a symlink to vsctl; left alone" >&2
        fi
    done
    exit 0
fi

# Check everything before changing anything.
if [ ! -f "$vsctl" ] || [ ! -x "$vsctl" ]; then
    die "no executable vsctl at $vsctl (install it first, e.g. install -m 0755 target/release/vsctl $bindir/, or give --vsctl=PATH)"
fi
case $vsctl in
    /*) ;;
    *) vsctl=$(cd "$(dirname "$vsctl")" && pwd)/$(basename "$vsctl") ;;
esac
[ "$(basename "$vsctl")" = vsctl ] || die "--vsctl must name a file called vsctl, not $vsctl"
for name in $NAMES; do
    old_ifs=$IFS
    IFS=:
    for dir in $ovs_dirs; do
        IFS=$old_ifs
        f=$dir/$name
        if { [ -e "$f" ] || [ -L "$f" ]; } && ! ours "$f"; then
            die "Open vSwitch's own $name is installed ($f); not adding rvswitch's (use vsctl, or remove Open vSwitch first)"
        fi
    done
    IFS=$old_ifs
    link=$bindir/$name
    if { [ -e "$link" ] || [ -L "$link" ]; } && ! ours "$link"; then
        die "$link exists and is not a symlink to vsctl; not overwriting it"
    fi
done

[ -d "$bindir" ] || run mkdir -p "$bindir"
for name in $NAMES; do
    link=$bindir/$name
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$vsctl" ]; then
        echo "$link -> $vsctl already"
        continue
    fi
    # Only one of our own links is ever replaced (checked above).
    if [ -L "$link" ]; then
        run rm -f "$link"
    fi
    run ln -s "$vsctl" "$link"
    [ "$dry_run" = 1 ] || echo "$link -> $vsctl"
done
