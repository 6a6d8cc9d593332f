#!/usr/bin/env python3
"""Turn scripts/bench.sh raw samples into the results table, a Markdown file
and a PNG bar chart (matplotlib).

  report.py --raw RAW.tsv --meta META.env --out RESULTS.md
"""

import argparse
import math
import os
import re
import statistics
import sys

SCEN_DESC = {
    "P1": "phy A <-> phy B, untagged, 1 flow each way, MACs learned",
    "P2": "A access 300 (1,000 flows) <-> B trunk 300,301 (1,000 flows)",
    "P3": "phy (1,000 flows) -> vhost-user -> testpmd rxonly",
    "P4": "testpmd txonly -> vhost-user -> phy sink",
    "P5": "P2 with B a bond of two pcap members (balance-slb, see notes)",
    "P6": "P2 with 100,000 source MACs on A",
    "Q1": "phy A -> phy sink with an egress-policer, 64-byte frames",
    "Q2": "phy A -> phy sink with an egress-policer, 1,500-byte frames",
    "Q3": "phy A with ingress policing -> phy sink, 64-byte frames",
}
SWITCH_NAME = {"ovs": "OVS-DPDK", "rvs": "rvswitch"}


def fnum(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                meta[key] = value
    return meta


def read_raw(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            if len(cells) < len(header):
                cells += [""] * (len(header) - len(cells))
            rows.append(dict(zip(header, cells)))
    return rows


def disturbed(row):
    """Other processes (or the hypervisor) took CPU time during the window."""
    return row.get("others", "-") not in ("", "-")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def fmtx(v):
    return "n/a" if v is None else f"{v:.2f}x"


def summarize(rows, scenarios):
    """{(scenario, switch): {mpps, busy, n, total, only_disturbed, notes}}

    A preempted PMD loses throughput and the TSC time it lost counts as busy
    cycles, so undisturbed samples are used when there are any; to keep the
    comparison fair that happens only when every measured switch of the
    scenario has an undisturbed sample, otherwise all samples are used for
    all switches."""
    out = {}
    for scen in scenarios:
        per_sw = {}
        for sw in ("ovs", "rvs"):
            sel = [r for r in rows if r["scenario"] == scen and r["switch"] == sw]
            if sel:
                valid = [r for r in sel if fnum(r["mpps"]) is not None]
                per_sw[sw] = (sel, valid, [r for r in valid if not disturbed(r)])
        use_clean = all(clean for _sel, valid, clean in per_sw.values() if valid)
        for sw, (sel, valid, clean) in per_sw.items():
            ok = clean if use_clean and clean else valid
            notes = sorted({r["note"] for r in sel if r.get("note") not in ("", "-")})
            out[(scen, sw)] = {
                "mpps": median(fnum(r["mpps"]) for r in ok),
                "busy": median(fnum(r["busy_cyc"]) for r in ok),
                "peer_rx": median(fnum(r.get("peer_rx")) for r in ok),
                "peer_tx": median(fnum(r.get("peer_tx")) for r in ok),
                "n": len(ok),
                "valid": len(valid),
                "total": len(sel),
                "only_disturbed": bool(ok) and any(disturbed(x) for x in ok),
                "notes": notes,
            }
    return out


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def goals(summary):
    """(goal text, measured text, verdict) per goal."""
    def get(scen, sw, key):
        return summary.get((scen, sw), {}).get(key)

    def failed(scen):
        """rvswitch was measured in scen and never produced a number."""
        d = summary.get((scen, "rvs"))
        return d is not None and d.get("total", 0) > 0 and d.get("valid", 0) == 0

    res = []
    for scen, target in (("P1", 2.0), ("P2", 2.0), ("P3", 1.3)):
        r = ratio(get(scen, "rvs", "mpps"), get(scen, "ovs", "mpps"))
        res.append((f"{scen}: rvswitch Mpps >= {target:.1f}x OVS", fmtx(r), r, r is not None and r >= target, scen))
    r = ratio(get("P4", "rvs", "busy"), get("P4", "ovs", "busy"))
    res.append(("P4: rvswitch busy cycles/packet <= 0.6x OVS", fmtx(r), r, r is not None and r <= 0.6, "P4"))
    r = ratio(get("P5", "rvs", "mpps"), get("P2", "rvs", "mpps"))
    res.append(("P5: rvswitch Mpps >= 0.9x rvswitch's own P2 (within 10%)", fmtx(r), r, r is not None and r >= 0.9, "P5"))
    r = ratio(get("P6", "rvs", "mpps"), get("P2", "rvs", "mpps"))
    res.append(("P6: rvswitch Mpps >= 0.7x rvswitch's own P2", fmtx(r), r, r is not None and r >= 0.7, "P6"))
    out = []
    for text, measured, value, ok, scen in res:
        if value is None:
            verdict = "MISS (rvswitch did not run it)" if failed(scen) else "n/a"
        else:
            verdict = "PASS" if ok else "MISS"
        out.append((text, measured, verdict))
    return out


def p6_bound(summary, meta):
    """What the P6 sources and sinks alone leave of the P6 goal's cycle budget,
    as a sentence, or None without a P6 ceiling or an rvswitch P2."""
    ceil = fnum(meta.get("ceiling_p6"))
    p2 = summary.get(("P2", "rvs"), {}).get("mpps")
    mhz = fnum(meta.get("tsc_mhz")) or fnum(meta.get("cpu_mhz"))
    if not ceil or not p2 or not mhz:
        return None
    need = 0.7 * p2
    io_cyc, budget = mhz / ceil, mhz / need
    return (f"P6 budget: 0.7x rvswitch's P2 is {need:.2f} Mpps, {budget:.0f} cycles per packet at "
            f"{mhz:.0f} MHz; testpmd `io` forwarding over the P6 pcaps alone (no switching) runs at "
            f"{ceil:.2f} Mpps, {io_cyc:.0f} cycles per packet, which leaves {budget - io_cyc:.0f} "
            "cycles for everything the switch does, learning 100,000 sources included "
            f"(forwarding lcore got {meta.get('ceiling_p6_share', 'nan')} of core 1; busy "
            f"neighbours: {meta.get('ceiling_p6_others', '-')}).")


def results_table(summary, scenarios):
    head = ["scenario", "OVS Mpps", "rvswitch Mpps", "ratio", "OVS busy cyc/pkt",
            "rvswitch busy cyc/pkt", "samples used (OVS/rvs)"]
    body = []

    def star(d, text):
        return text + ("*" if d.get("only_disturbed") else "")

    def star2(a, b, text):
        return text + ("*" if a.get("only_disturbed") or b.get("only_disturbed") else "")

    for scen in scenarios:
        o = summary.get((scen, "ovs"), {})
        v = summary.get((scen, "rvs"), {})
        runs = "/".join(
            f"{d.get('n', 0)} of {d.get('total', 0)}" if d else "-" for d in (o, v))
        body.append([scen, star(o, fmt(o.get("mpps"))), star(v, fmt(v.get("mpps"))),
                     star2(o, v, fmtx(ratio(v.get("mpps"), o.get("mpps")))),
                     star(o, fmt(o.get("busy"), 1)), star(v, fmt(v.get("busy"), 1)), runs])
    return head, body


def qos_table(summary, scenarios):
    """QoS conformance: the rate delivered to the sink in bytes of IP packets
    per second (median Mpps x (frame length - 14), OVS's unit) against the
    configured one, from the scenario's note "qos cir=N len=L"."""
    body = []
    for scen in scenarios:
        for sw in ("ovs", "rvs"):
            d = summary.get((scen, sw))
            if not d:
                continue
            m = next((re.search(r"cir=(\d+) len=(\d+)", n) for n in d.get("notes", [])
                      if "cir=" in n), None)
            if not m:
                continue
            cir, length = int(m.group(1)), int(m.group(2))
            mpps = d.get("mpps")
            got = None if mpps is None else mpps * 1e6 * (length - 14)
            err = None if got is None else (got - cir) / cir * 100
            body.append([scen, SWITCH_NAME.get(sw, sw), f"{cir:,}", f"{length}",
                         "nan" if got is None else f"{got:,.0f}",
                         "nan" if err is None else f"{err:+.2f}%",
                         "yes" if err is not None and abs(err) <= 5 else "no"])
    head = ["scenario", "switch", "configured B/s", "frame bytes", "delivered B/s (IP)",
            "error", "within 5%"]
    return head, body


def text_table(head, body):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in body])


def md_table(head, body):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def chart(summary, scenarios, meta, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib not available (python3-matplotlib); no chart", file=sys.stderr)
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.38
    xs = list(range(len(scenarios)))
    for ax, key, title in ((axes[0], "mpps", "Throughput (Mpps, higher is better)"),
                           (axes[1], "busy", "Busy cycles per packet (lower is better)")):
        for k, (sw, color) in enumerate((("ovs", "#7f7f7f"), ("rvs", "#d95f02"))):
            vals = [summary.get((s, sw), {}).get(key) for s in scenarios]
            pos = [x + (k - 0.5) * width for x in xs]
            heights = [float("nan") if v is None else v for v in vals]
            bars = ax.bar(pos, heights, width, label=SWITCH_NAME[sw], color=color)
            for b, v in zip(bars, vals):
                x = b.get_x() + b.get_width() / 2
                if v is None:
                    # No bar: label the slot at the foot of the axis.
                    ax.annotate("n/a", (x, 0.01), xycoords=("data", "axes fraction"),
                                ha="center", va="bottom", fontsize=8)
                else:
                    ax.annotate(f"{v:.1f}" if key == "mpps" else f"{v:.0f}", (x, v),
                                ha="center", va="bottom", fontsize=8)
        if key == "busy":
            ax.set_yscale("log")
            ax.set_title(title + ", log scale", fontsize=10)
        ax.set_xticks(xs)
        ax.set_xticklabels(scenarios)
        if key != "busy":
            ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    ceiling = fnum(meta.get("ceiling"))
    fig.suptitle(
        f"rvswitch vs OVS-DPDK, {meta.get('date', '')} {meta.get('host', '')}: one PMD on core 1, "
        f"median of {meta.get('runs', '?')} runs"
        + (f"; testpmd io ceiling {ceiling:.1f} Mpps" if ceiling else ""),
        fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    meta = read_meta(args.meta)
    rows = read_raw(args.raw)
    scenarios = meta.get("scenarios", "").split() or sorted({r["scenario"] for r in rows})
    summary = summarize(rows, scenarios)
    head, body = results_table(summary, scenarios)
    gl = goals(summary)
    png = os.path.splitext(args.out)[0] + ".png"
    have_chart = chart(summary, scenarios, meta, png)

    ceiling = fnum(meta.get("ceiling"))
    n_disturbed = sum(1 for r in rows if fnum(r["mpps"]) is not None and disturbed(r))
    n_ok = sum(1 for r in rows if fnum(r["mpps"]) is not None)
    failed = [r for r in rows if fnum(r["mpps"]) is None]
    p5_notes = sorted({f"{SWITCH_NAME.get(r['switch'], r['switch'])}: {r['note']}"
                       for r in rows if r["scenario"] == "P5" and r.get("note") not in ("", "-")})

    # ---- stdout
    print()
    print(f"rvswitch vs OVS-DPDK  ({meta.get('cpu', '?')}, {meta.get('kernel', '?')}; "
          f"median of {meta.get('runs')} run(s), {meta.get('window')} s windows)")
    print(text_table(head, body))
    print("(medians over undisturbed samples when both switches have some, else over all;"
          " * = includes disturbed samples)")
    print(f"testpmd io ceiling (two pcap ports, one core): {fmt(ceiling)} Mpps")
    print()
    print(text_table(["goal", "measured", "verdict"], [list(g) for g in gl]))
    qhead, qbody = qos_table(summary, scenarios)
    if qbody:
        print()
        print("QoS conformance (bytes of IP packets per second, median):")
        print(text_table(qhead, qbody))
    bound = p6_bound(summary, meta)
    if bound:
        print(bound.replace("`", ""))
    if p5_notes:
        print()
        print("P5 runs balance-slb on both switches: balance-tcp needs negotiated LACP, and pcap")
        print("members never answer LACPDUs. " + "; ".join(p5_notes))
    if meta.get("skipped"):
        print(f"\nnot measured: {meta['skipped'].replace('rvs', 'rvswitch')} (not built or not found)")
    if n_disturbed:
        print(f"\nwarning: {n_disturbed} of {n_ok} samples ran while other processes were busy "
              "(see the raw runs)")
    for r in failed:
        print(f"failed: {r['scenario']} {SWITCH_NAME.get(r['switch'], r['switch'])} run {r['run']}: {r['note']}")

    # ---- markdown
    md = []
    md.append(f"# rvswitch vs OVS-DPDK: {meta.get('date', '')} on {meta.get('host', '')}")
    md.append("")
    md.append("Produced by `scripts/bench.sh`" + (" --quick" if meta.get("quick") == "1" else "") + ".")
    md.append("")
    md.append("## Machine and versions")
    md.append("")
    for key, label in (("time", "run at"), ("cpu", "CPU"), ("cores", "cores"), ("cpu_mhz", "CPU MHz"),
                       ("tsc_mhz", "TSC MHz (cycles below are TSC cycles)"), ("kernel", "kernel"),
                       ("os", "OS"), ("dpdk", "DPDK"), ("ovs", "OVS"), ("rvs", "rvswitch"),
                       ("rvs_affinity", "rvswitch start-up workaround"),
                       ("hugepages", "hugepages"), ("load", "load average at start"),
                       ("load_end", "load average at end")):
        if meta.get(key):
            md.append(f"- {label}: {meta[key]}")
    if meta.get("skipped"):
        md.append(f"- not measured: {meta['skipped'].replace('rvs', 'rvswitch')} (binaries not found)")
    md.append(f"- runs per scenario and switch: {meta.get('runs')}, warm-up {meta.get('warmup')} s "
              f"(P6: at least 10 s unless --quick), window {meta.get('window')} s")
    md.append("")
    md.append(f"## Results (median of {meta.get('runs')} run(s))")
    md.append("")
    md.append("Medians over the undisturbed samples when every switch has at least one in that "
              "scenario, otherwise over all samples (see Method). `*` marks a median that includes "
              "disturbed samples: a lower bound for Mpps, an upper bound for cycles, and a ratio "
              "to be read with care.")
    md.append("")
    md.append(md_table(head, body))
    md.append("")
    md.append(f"testpmd `io` forwarding ceiling over two pcap replay ports on one core (core 1): "
              f"**{fmt(ceiling)} Mpps** (its forwarding lcore got {meta.get('ceiling_share', 'nan')} "
              f"of core 1; busy neighbours: {meta.get('ceiling_others', '-')}).")
    md.append("")
    if have_chart:
        md.append(f"![throughput and busy cycles per packet]({os.path.basename(png)})")
        md.append("")
    if qbody:
        md.append("## QoS conformance")
        md.append("")
        md.append("Delivered rate at the sink in bytes of IP packets per second (the unit of "
                  "OVS's `cir` and `ingress_policing_rate`): median Mpps × (frame length − 14).")
        md.append("")
        md.append(md_table(qhead, qbody))
        md.append("")
    md.append("## Goals (ratios from this run)")
    md.append("")
    md.append(md_table(["goal", "measured", "verdict"], [list(g) for g in gl]))
    md.append("")
    if bound:
        md.append(bound)
        md.append("")
    if n_disturbed or failed:
        md.append("## Warnings")
        md.append("")
        if n_disturbed:
            md.append(f"- {n_disturbed} of {n_ok} kept samples ran while other processes were busy on "
                      "this machine (marked `*` below), even after waiting up to "
                      f"{meta.get('quiet_wait', '?')} s for a quiet machine and measuring again up to "
                      f"{meta.get('retries', '?')} times.")
        for r in failed:
            md.append(f"- {r['scenario']} {SWITCH_NAME.get(r['switch'], r['switch'])} run {r['run']} failed: {r['note']}")
        md.append("")
    md.append("## Method")
    md.append("")
    md.append("- Both switches run one at a time with the same EAL main core (0), one PMD on core 1 "
              "(`pmd-cpu-mask=0x2`), `dpdk-lcore-mask=0x1`, `dpdk-socket-mem=512` and a private "
              "`--file-prefix`; the harness, the daemons' other threads and testpmd peers are pinned "
              "to core 0 (`taskset`). Each measurement starts the switch afresh in a private directory. "
              "The order of the two switches alternates between runs.")
    md.append("- \"Physical\" ports are `net_pcap` vdevs: sources replay a generated pcap forever "
              "(`infinite_rx=1`); with no tx file a pcap port counts and drops what it transmits. "
              "A sink that never sends replays an empty pcap, and both switches get the same static "
              "FDB entry for it (`fdb/add`), so nothing floods to the bridge's internal port.")
    md.append("- Frames: UDP/IPv4, 60 bytes as captured (64 on the wire with FCS); VLAN-tagged "
              "frames are 4 bytes longer. \"N flows\" = N distinct source IP / UDP source port pairs "
              "between one MAC pair.")
    md.append("- Each cell is a median over undisturbed samples if both switches have at least one "
              "in that scenario, otherwise over all samples of both (so the two sides are always "
              "measured under comparable conditions): a preempted PMD loses throughput, and the TSC "
              "time it lost counts as busy cycles.")
    md.append("- **Mpps** = sum over the scenario's sink interfaces of Δ`tx_packets` / Δt over the "
              "window, where `tx_packets` is the interface's live transmit counter (frames handed to "
              "the device: pcap tx, or enqueued to the guest for vhost-user). OVS: "
              "`ovs-appctl dpctl/show -s` (the same netdev counters as the ovsdb `statistics` column, "
              "which OVS refreshes only every 5 s; for DPDK ports the device's `opackets`); rvswitch: "
              "`vsctl get Interface X statistics:tx_packets` (its live per-interface counter of "
              "frames the device's tx burst accepted; a pcap port that drops on transmit, and a "
              "vhost-user enqueue, accept exactly what their device counters count). Each read is "
              "timestamped at the midpoint of its command.")
    md.append("- **busy cyc/pkt** = \"avg processing cycles per packet\" from "
              "`dpif-netdev/pmd-stats-show` for the PMD on core 1, after `dpif-netdev/pmd-stats-clear` "
              "at the start of the window: TSC cycles spent in polling iterations that received "
              "packets, divided by packets received.")
    md.append("- testpmd ceiling: `dpdk-testpmd` `io` forwarding between the P1 pcap ports with its "
              "forwarding lcore on core 1; sum of both ports' Tx-pps between two `show port stats all`. "
              "When P6 is measured, the same over the P6 pcaps (A's replay keeps 100,000 stored "
              "frames, each in its own mbuf, and copies each one on receive), for the P6 budget "
              "under the goals.")
    md.append("- PMD share: CPU time of the switch's busiest thread (its PMD) over the window, as a "
              "fraction of one core (from /proc); below 1 means the PMD was preempted or blocked "
              "(OVS's PMD waits on locks while it handles upcalls). Busy neighbours: other processes "
              "using ≥ 5% of a core during the window, the rest of the machine's busy time "
              "(`misc`: smaller and short-lived processes together, ≥ 10%), and hypervisor steal "
              "time (`steal`, ≥ 5%). A window with busy "
              "neighbours counts as disturbed and is measured again (`--retries`).")
    md.append("")
    md.append("### Scenarios")
    md.append("")
    for scen in scenarios:
        md.append(f"- **{scen}**: {SCEN_DESC.get(scen, '')}")
    md.append("  - P3: sink = the vhost-user port (testpmd `rxonly` on core 0 as the VM, "
              "`net_virtio_user` in server mode, the switch is the client).")
    md.append("  - P4: testpmd `txonly` (60-byte frames, one flow) on core 0 may be the limit; "
              "compare busy cycles per packet.")
    md.append("  - P5: **balance-slb on both switches.** balance-tcp needs negotiated LACP on both "
              "switches and a pcap member never answers LACPDUs (`lacp-fallback-ab` would give "
              "active-backup, which is not the point). The first P5 run of each switch tries "
              "balance-tcp with `lacp=active` and records what `lacp/show` reports. Both members replay "
              "VLAN-300-tagged frames from B's MAC (1,000 flows each), so 2/3 of the offered frames "
              "come from the bond side.")
    md.append("  - P6: the bridge gets `other_config:mac-table-size=200000` on both switches; B's "
              "1,000 flows go to 1,000 of A's 100,000 MACs.")
    if p5_notes:
        md.append("")
        md.append("P5 as run: " + "; ".join(p5_notes) + ".")
    md.append("")
    md.append("## Raw runs")
    md.append("")
    rhead = ["scenario", "switch", "run", "Mpps", "busy cyc/pkt", "PMD rx Mpps", "PMD busy %",
             "PMD share", "peer rx/tx Mpps", "per sink (Mpps)", "busy neighbours", "threads (cores)",
             "note"]
    rbody = []
    for r in rows:
        mark = "*" if fnum(r["mpps"]) is not None and disturbed(r) else ""
        peer = "-"
        if fnum(r.get("peer_rx")) is not None or fnum(r.get("peer_tx")) is not None:
            peer = f"{fmt(fnum(r.get('peer_rx')))}/{fmt(fnum(r.get('peer_tx')))}"
        rbody.append([r["scenario"], SWITCH_NAME.get(r["switch"], r["switch"]), r["run"] + mark,
                      r["mpps"], r["busy_cyc"], r["rx_mpps"], r["busy_pct"], r["pmd_share"], peer,
                      r["per_iface"].replace(",", ", "), r["others"],
                      r.get("placement", "-").replace(";", ", "), r["note"]])
    md.append(md_table(rhead, rbody))
    md.append("")
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
