#!/usr/bin/env python3
"""Small parsers and calculators for scripts/bench.sh.

  tool.py pmd FILE CORE          pmd-stats-show output -> rx_packets, busy cycles/packet
  tool.py rate BEFORE AFTER      tx samples ("iface t count" lines) -> Mpps
  tool.py testpmd-pps LOG        last "show port stats all" of a testpmd log -> Mpps (sum of Tx-pps)
  tool.py testpmd-avg LOG N      mean Rx/Tx Mpps over the last N --stats-period blocks
  tool.py ovs-dpctl FILE IFACE.. `ovs-appctl dpctl/show -s` -> "iface count" for each IFACE
  tool.py cpusnap OUT            snapshot of every task's CPU time (JSON)
  tool.py placement PID          where the PMD threads (pmd-c*) and the other threads may run
  tool.py non-pmd-tids PID       thread ids of PID that are not PMD threads
  tool.py cpudiff A B PMDPID OURPID...
                                 share of a core the switch's busiest thread got, and the
                                 other processes that were busy during the window (plus
                                 "misc": small and short-lived processes together, and
                                 the hypervisor's steal time of the worst CPU)
Every failure prints "nan" fields rather than raising, so one bad sample does
not abort a long benchmark.
"""

import json
import os
import re
import sys
import time


def nan_or(value):
    return "nan" if value is None else value


def cmd_pmd(path, core):
    """Parse OVS's pmd-stats-show layout (rvswitch prints the same lines)."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    section = None
    for block in re.split(r"\n(?=\S)", text):
        head = block.split("\n", 1)[0]
        if re.search(r"\bcore_id %s:" % re.escape(core), head):
            section = block
            break
    fields = {}
    if section:
        for line in section.split("\n")[1:]:
            m = re.match(r"\s+([a-z .]+):\s+([-0-9.]+)", line)
            if m:
                fields[m.group(1).strip()] = float(m.group(2))
    rx = fields.get("packets received")
    busy = fields.get("avg processing cycles per packet")
    cyc = fields.get("avg cycles per packet")
    idle = fields.get("idle cycles")
    proc = fields.get("processing cycles")
    busy_pct = None
    if idle is not None and proc is not None and idle + proc > 0:
        busy_pct = 100.0 * proc / (idle + proc)
    out = [nan_or(rx and int(rx)), nan_or(busy), nan_or(cyc), nan_or(busy_pct)]
    print(" ".join(str(round(v, 2)) if isinstance(v, float) else str(v) for v in out))


def read_samples(path):
    samples = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                try:
                    samples[parts[0]] = (float(parts[1]), int(parts[2]))
                except ValueError:
                    continue
    except OSError:
        pass
    return samples


def cmd_rate(before, after):
    """Sum over interfaces of delta(tx_packets) / delta(t), in Mpps.

    Each interface carries its own timestamps (the midpoint of the command
    that read it), so slow control commands do not bias the rate."""
    a, b = read_samples(before), read_samples(after)
    total, parts = 0.0, []
    for iface in a:
        if iface not in b:
            print("nan", "missing:" + iface)
            return
        (t0, c0), (t1, c1) = a[iface], b[iface]
        if t1 <= t0 or c1 < c0:
            print("nan", "bad:" + iface)
            return
        mpps = (c1 - c0) / (t1 - t0) / 1e6
        total += mpps
        parts.append("%s=%.3f" % (iface, mpps))
    if not parts:
        print("nan", "no-samples")
        return
    # Six decimals: the QoS scenarios (Q2) deliver a few thousand frames/s.
    print("%.6f" % total, ",".join(parts))


def testpmd_blocks(text):
    """Yield dicts {port: (rx_pps, tx_pps)} for each stats display."""
    displays = []
    current = {}
    port = None
    for line in text.splitlines():
        m = re.search(r"NIC statistics for port (\d+)", line)
        if m:
            port = int(m.group(1))
            if port in current:
                displays.append(current)
                current = {}
            continue
        m = re.search(r"Rx-pps:\s+(\d+)", line)
        if m and port is not None:
            current.setdefault(port, [0, 0])[0] = int(m.group(1))
        m = re.search(r"Tx-pps:\s+(\d+)", line)
        if m and port is not None:
            current.setdefault(port, [0, 0])[1] = int(m.group(1))
    if current:
        displays.append(current)
    return displays


def cmd_testpmd_pps(path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    displays = testpmd_blocks(text)
    if not displays:
        print("nan")
        return
    print("%.3f" % (sum(v[1] for v in displays[-1].values()) / 1e6))


def cmd_testpmd_avg(path, n):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    displays = testpmd_blocks(text)[-int(n):]
    if not displays:
        print("nan nan")
        return
    rx = sum(sum(v[0] for v in d.values()) for d in displays) / len(displays) / 1e6
    tx = sum(sum(v[1] for v in d.values()) for d in displays) / len(displays) / 1e6
    print("%.3f %.3f" % (rx, tx))


def cmd_ovs_dpctl(path, ifaces):
    counts = {}
    name = None
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        m = re.match(r"\s+port \d+: (\S+)", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"\s+TX packets:(\d+)", line)
        if m and name is not None:
            counts[name] = int(m.group(1))
    for iface in ifaces:
        print(iface, counts.get(iface, "nan"))


def read_stat(path):
    """(comm, ppid, utime+stime) from a /proc stat file, or None."""
    try:
        data = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    if lp < 0 or rp < 0:
        return None
    rest = data[rp + 2:].split()
    try:
        return data[lp + 1:rp], int(rest[1]), int(rest[11]) + int(rest[12])
    except (IndexError, ValueError):
        return None


def cmd_cpusnap(out):
    procs, threads = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        st = read_stat("/proc/%s/stat" % pid)
        if st is None:
            continue
        procs[pid] = st
        try:
            tids = os.listdir("/proc/%s/task" % pid)
        except OSError:
            continue
        for tid in tids:
            tst = read_stat("/proc/%s/task/%s/stat" % (pid, tid))
            if tst is not None:
                threads[tid] = (pid, tst[0], tst[2])
    cpus = {}
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0].startswith("cpu") and parts[0] != "cpu":
                    cpus[parts[0]] = [int(x) for x in parts[1:]]
    except (OSError, ValueError):
        pass
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"t": time.monotonic(), "procs": procs, "threads": threads, "cpus": cpus}, f)


def cmd_cpudiff(a_path, b_path, pmd_pid, ours):
    try:
        a = json.load(open(a_path, encoding="utf-8"))
        b = json.load(open(b_path, encoding="utf-8"))
    except (OSError, ValueError):
        print("nan -")
        return
    hz = os.sysconf("SC_CLK_TCK")
    dt = b["t"] - a["t"]
    if dt <= 0:
        print("nan -")
        return
    # The switch's busiest thread is its PMD.
    best = None
    for tid, (pid, _comm, ticks) in b["threads"].items():
        if pid != pmd_pid or tid not in a["threads"]:
            continue
        share = (ticks - a["threads"][tid][2]) / hz / dt
        if best is None or share > best:
            best = share
    # Ours: the given pids and every descendant of them.
    parents = {pid: st[1] for pid, st in b["procs"].items()}
    mine = set(ours)

    def is_ours(pid):
        seen = 0
        while pid and seen < 64:
            if pid in mine:
                return True
            pid = str(parents.get(pid, 0))
            seen += 1
        return False

    others = []
    ours_ticks = 0
    for pid, (comm, _ppid, ticks) in b["procs"].items():
        if pid not in a["procs"]:
            continue
        delta = ticks - a["procs"][pid][2]
        if is_ours(pid):
            ours_ticks += delta
            continue
        share = delta / hz / dt
        if share >= 0.05:
            others.append((share, comm.replace(" ", "_").replace(",", "_")))
    others.sort(reverse=True)
    items = ["%s:%d%%" % (c, round(100 * s)) for s, c in others[:5]]
    # /proc/stat: user nice system idle iowait irq softirq steal ...
    busy_ticks, steal = 0, 0.0
    for cpu, vals in b.get("cpus", {}).items():
        old = a.get("cpus", {}).get(cpu)
        if not old or len(vals) < 8 or len(old) < 8:
            continue
        d = [x - y for x, y in zip(vals, old)]
        busy_ticks += d[0] + d[1] + d[2] + d[5] + d[6]
        steal = max(steal, d[7] / hz / dt)
    if b.get("cpus"):
        # The rest of the machine's busy time: processes below 5% each, and
        # processes that came and went during the window (compilers, tests).
        listed = sum(s for s, _c in others)
        rest = (busy_ticks - ours_ticks) / hz / dt - listed
        if rest >= 0.1:
            items.append("misc:%d%%" % round(100 * rest))
        if steal >= 0.05:
            items.append("steal:%d%%" % round(100 * steal))
    text = ",".join(items) or "-"
    print("%s %s" % ("nan" if best is None else "%.3f" % best, text))


def cpu_list(text):
    cpus = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            cpus.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            pass
    return cpus


def fmt_cpus(cpus):
    return "+".join(str(c) for c in sorted(cpus)) or "?"


def thread_affinity(pid):
    """[(tid, comm, set of allowed CPUs)] for every thread of pid."""
    out = []
    try:
        tids = sorted(os.listdir("/proc/%s/task" % pid), key=int)
    except OSError:
        return out
    for tid in tids:
        base = "/proc/%s/task/%s/" % (pid, tid)
        try:
            comm = open(base + "comm", encoding="utf-8", errors="replace").read().strip()
            status = open(base + "status", encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        m = re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.M)
        out.append((tid, comm, cpu_list(m.group(1)) if m else set()))
    return out


def cmd_placement(pid):
    """One word: the PMD threads (pmd-c*) and where the rest may run,
    e.g. "pmd-c01@1;27-others@0"."""
    threads = thread_affinity(pid)
    if not threads:
        print("unknown")
        return
    pmds = ["%s@%s" % (comm.split("/")[0], fmt_cpus(cpus))
            for _tid, comm, cpus in threads if comm.startswith("pmd-c")]
    rest = set()
    n_rest = 0
    for _tid, comm, cpus in threads:
        if not comm.startswith("pmd-c"):
            rest |= cpus
            n_rest += 1
    print("%s;%d-others@%s" % (",".join(pmds) or "no-pmd", n_rest, fmt_cpus(rest)))


def cmd_non_pmd_tids(pid):
    for tid, comm, _cpus in thread_affinity(pid):
        if not comm.startswith("pmd-c"):
            print(tid)


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "pmd" and len(args) == 2:
        cmd_pmd(*args)
    elif cmd == "rate" and len(args) == 2:
        cmd_rate(*args)
    elif cmd == "testpmd-pps" and len(args) == 1:
        cmd_testpmd_pps(*args)
    elif cmd == "testpmd-avg" and len(args) == 2:
        cmd_testpmd_avg(*args)
    elif cmd == "ovs-dpctl" and len(args) >= 2:
        cmd_ovs_dpctl(args[0], args[1:])
    elif cmd == "cpusnap" and len(args) == 1:
        cmd_cpusnap(*args)
    elif cmd == "placement" and len(args) == 1:
        cmd_placement(*args)
    elif cmd == "non-pmd-tids" and len(args) == 1:
        cmd_non_pmd_tids(*args)
    elif cmd == "cpudiff" and len(args) >= 3:
        cmd_cpudiff(args[0], args[1], args[2], args[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
