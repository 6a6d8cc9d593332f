//! Receive-queue placement on two PMD cores (0 and 1): `pmd-rxq-affinity`
//! moves a queue to the named core, which then polls nothing else
//! (`isolated : true` in `pmd-rxq-show`), traffic keeps flowing across
//! the moves, a pin to a core without a PMD falls back (with OVS's
//! warning), and `pmd-rxq-rebalance` answers as OVS and keeps pins.
//!
//! Bridge br0: a net_pcap source `s` replaying one broadcast flow
//! forever, and a net_null sink `d` with two receive queues.

mod common;

use std::collections::BTreeMap;

use common::lacp::{add_replaying_source, add_sink};
use common::*;

/// One PMD in `pmd-rxq-show`: whether isolated, and its (port, queue)s.
#[derive(Debug, Default, PartialEq)]
struct Pmd {
    isolated: bool,
    rxqs: Vec<(String, u16)>,
}

/// `pmd-rxq-show` text, by core.
fn parse_rxq_show(text: &str) -> BTreeMap<u32, Pmd> {
    let mut m: BTreeMap<u32, Pmd> = BTreeMap::new();
    let mut cur: Option<u32> = None;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("pmd thread numa_id ") {
            let core = rest
                .split("core_id ")
                .nth(1)
                .and_then(|c| c.trim_end_matches(':').parse().ok())
                .unwrap_or_else(|| panic!("bad header {l:?}"));
            cur = Some(core);
            m.insert(core, Pmd::default());
        } else if let Some(v) = l.trim().strip_prefix("isolated : ") {
            m.get_mut(&cur.expect("pmd")).unwrap().isolated = v == "true";
        } else if let Some(rest) = l.trim().strip_prefix("port: ") {
            let mut w = rest.split_whitespace();
            let port = w.next().unwrap().to_string();
            assert_eq!(w.next(), Some("queue-id:"), "{l:?}");
            let q: u16 = w.next().unwrap().parse().unwrap();
            m.get_mut(&cur.expect("pmd")).unwrap().rxqs.push((port, q));
        }
    }
    m
}

fn rxqs(sw: &Switch) -> (String, BTreeMap<u32, Pmd>) {
    let t = sw.vsctl_ok(&["dpif-netdev/pmd-rxq-show"]);
    let m = parse_rxq_show(&t);
    (t, m)
}

/// Wait until `pmd-rxq-show` satisfies `ok`.
fn wait_placement(sw: &Switch, what: &str, ok: impl Fn(&BTreeMap<u32, Pmd>) -> bool) -> String {
    wait_until(what, 10, || {
        let (t, m) = rxqs(sw);
        if ok(&m) {
            Ok(t)
        } else {
            Err(t)
        }
    })
}

fn has(m: &BTreeMap<u32, Pmd>, core: u32, port: &str, q: u16) -> bool {
    m.get(&core)
        .is_some_and(|p| p.rxqs.contains(&(port.to_string(), q)))
}

/// `d` keeps receiving frames from `s` (flooded broadcasts).
fn traffic_flows(sw: &Switch, what: &str) {
    let before = sw.stat("d", "tx_packets");
    wait_until(what, 10, || {
        let n = sw.stat("d", "tx_packets");
        if n > before + 100 {
            Ok(())
        } else {
            Err(format!("d tx_packets {before} -> {n}"))
        }
    });
}

#[test]
fn affinity_pins_queues_and_rebalance_keeps_them() {
    let _g = serial();
    let dir = TestDir::new("rxqaff");
    let src = dir.join("s.pcap");
    pcap::one_flow(&src, 64, [0xff; 6], [0x02, 0, 0, 0, 0, 1]);

    let sw = Switch::start_with("rxqaff", "0x3", &[]);
    sw.add_bridge("br0", &[]);
    add_sink(&sw, "br0", "d");
    sw.vsctl_ok(&["set", "interface", "d", "options:n_rxq=2"]);
    add_replaying_source(&sw, "br0", "s", "net_pcap0", &src);

    // No pins: every queue polled, nothing isolated, both cores used.
    let t = wait_placement(&sw, "all queues placed", |m| {
        m.len() == 2
            && m.values().map(|p| p.rxqs.len()).sum::<usize>() == 4
            && m.values().all(|p| !p.isolated && !p.rxqs.is_empty())
    });
    println!("{t}");
    traffic_flows(&sw, "traffic before pinning");

    for core in [0u32, 1] {
        let other = 1 - core;
        sw.vsctl_ok(&[
            "set",
            "interface",
            "s",
            &format!("other_config:pmd-rxq-affinity=0:{core}"),
        ]);
        let t = wait_placement(&sw, &format!("s pinned to core {core}"), |m| {
            m[&core].isolated
                && m[&core].rxqs == vec![("s".to_string(), 0)]
                && !m[&other].isolated
                && has(m, other, "d", 0)
                && has(m, other, "d", 1)
                && has(m, other, "br0", 0)
        });
        println!("{t}");
        traffic_flows(&sw, &format!("traffic with s on core {core}"));
    }

    // Rebalance answers as OVS and keeps the pin.
    let out = sw.vsctl_ok(&["dpif-netdev/pmd-rxq-rebalance"]);
    assert_eq!(out, "pmd rxq rebalance requested.\n");
    let json = sw.vsctl_ok(&[
        "--format=json",
        "dpif-netdev/pmd-rxq-rebalance",
        "ovs-netdev",
    ]);
    assert!(json.contains("\"moved\""), "{json}");
    let (t, m) = rxqs(&sw);
    assert!(
        m[&1].isolated && m[&1].rxqs == vec![("s".to_string(), 0)],
        "{t}"
    );
    traffic_flows(&sw, "traffic after rebalance");
    let e = sw.vsctl_err(&["dpif-netdev/pmd-rxq-rebalance", "nosuch"]);
    assert!(e.contains("please specify an existing datapath"), "{e}");

    // Pinning d's second queue too: core 1 polls both pinned queues.
    sw.vsctl_ok(&[
        "set",
        "interface",
        "d",
        "other_config:pmd-rxq-affinity=\"1:1\"",
    ]);
    wait_placement(&sw, "d queue 1 pinned to core 1", |m| {
        m[&1].isolated
            && has(m, 1, "s", 0)
            && has(m, 1, "d", 1)
            && m[&1].rxqs.len() == 2
            && has(m, 0, "d", 0)
    });

    // A core without a PMD: the queue goes elsewhere, with OVS's warning,
    // and isolates nothing.
    sw.vsctl_ok(&[
        "remove",
        "interface",
        "d",
        "other_config",
        "pmd-rxq-affinity",
    ]);
    sw.vsctl_ok(&["set", "interface", "s", "other_config:pmd-rxq-affinity=0:7"]);
    let t = wait_placement(&sw, "pin to core 7 falls back", |m| {
        m.values().all(|p| !p.isolated)
            && m.values().map(|p| p.rxqs.len()).sum::<usize>() == 4
            && (has(m, 0, "s", 0) || has(m, 1, "s", 0))
    });
    println!("{t}");
    let log = std::fs::read_to_string(&sw.log).unwrap_or_default();
    assert!(
        log.contains("Core  7 cannot be pinned with port 's' rx queue 0"),
        "{}",
        sw.log_tail(30)
    );
    traffic_flows(&sw, "traffic after the fallback");

    // Bad lists are refused and change nothing.
    let e = sw.vsctl_err(&["set", "interface", "s", "other_config:pmd-rxq-affinity=0-1"]);
    assert!(e.contains("is not QUEUE:CORE"), "{e}");
    assert_eq!(sw.iface_get("s", "other_config:pmd-rxq-affinity"), "0:7");
}
