//! Issue 12: reconfiguring a bond does not reset it.
//!
//! Switch A and switch B, each in its own network namespace, are joined by
//! two veth pairs (a0-b0, a1-b1) opened with net_af_packet; each has a
//! 2-member LACP bond (active, fast, balance-tcp). Once both negotiate, A
//! replays forever a pcap of 64 UDP flows into its bridge, so traffic
//! crosses the bond on both members all the time, into a sink on B.
//!
//! Then A's bond is reconfigured, one setting at a time, while the traffic
//! flows: `lacp-time` slow and fast again, `lacp=passive` and back,
//! `bond-rebalance-interval`, `bond_updelay`, `bond_downdelay`. After each
//! change the test asserts that:
//! - A logs "reconfigured in place" and never "configured" again;
//! - both bonds stay negotiated with both members enabled throughout
//!   (sampled every 100 ms for 2 s after the change);
//! - B drops nothing as `rx_dropped_member_disabled`, and neither side's
//!   LACP records a link expiry or defaulting;
//! - both of A's members keep transmitting and B's sink keeps receiving;
//! - the new setting is in force (`lacp/show` shows it).
//!
//! `lacp-system-priority` and `lacp-port-priority` are part of the
//! identity a partner selects on (802.1AX `update_Selected`; Linux
//! `__update_selected`, OVS and DPDK alike): any standard partner detaches
//! and re-attaches the links when they change, after its aggregate wait.
//! For those the test asserts that A still changes its machines in place
//! (no rebuild, no expiry), that the partner hears the new values, and
//! that both bonds are whole again within 5 s; it prints how long B's
//! members were disabled.
//!
//! A new `bond_mode` still rebuilds the bond (and says so in the log).

mod common;

use common::lacp::*;
use common::*;

#[test]
fn reconfiguring_a_negotiated_bond_under_traffic_loses_nothing() {
    let _g = serial();
    let dir = TestDir::new("bondreconf");
    let BondedPair {
        mut a,
        mut b,
        links: _links,
    } = BondedPair::negotiated("reconf");
    let (am, bm) = (AM, BM);
    add_sink(&b, "br0", "sink");
    // The sink's MAC is static on B, so B never floods (and never sends
    // anything back towards A's source).
    let dst = "02:00:00:00:0d:01";
    b.vsctl_ok(&["fdb/add", "br0", "sink", "0", dst]);

    // 64 flows, forever.
    let flows = dir.join("flows.pcap");
    let frames: Vec<Vec<u8>> = (0..64)
        .map(|i| pcap::udp_frame(FLOW_DST, FLOW_SRC, 1000 + i, 2000, i as u32))
        .collect();
    pcap::write(&flows, &frames);
    add_replaying_source(&a, "br0", "src", "net_pcap9", &flows);
    wait_until("traffic on both of A's members", 30, || {
        let before = stats(&a, &am, "tx_packets");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let d = delta(&before, &stats(&a, &am, "tx_packets"));
        if d.iter().all(|n| *n > 100) {
            Ok(())
        } else {
            Err(format!("A member tx deltas {d:?}"))
        }
    });
    let configured_lines = |sw: &Switch| {
        sw.log_tail(100_000)
            .lines()
            .filter(|l| l.contains("bond bond0: configured"))
            .count()
    };
    assert_eq!(configured_lines(&a), 1, "{}", a.log_tail(50));

    let changes: &[(&str, &[&str])] = &[
        (
            "lacp-time=slow",
            &["set", "port", "bond0", "other_config:lacp-time=slow"],
        ),
        (
            "lacp-time=fast",
            &["set", "port", "bond0", "other_config:lacp-time=fast"],
        ),
        ("lacp=passive", &["set", "port", "bond0", "lacp=passive"]),
        ("lacp=active", &["set", "port", "bond0", "lacp=active"]),
        (
            "bond-rebalance-interval",
            &[
                "set",
                "port",
                "bond0",
                "other_config:bond-rebalance-interval=2000",
            ],
        ),
        (
            "bond_updelay",
            &["set", "port", "bond0", "bond_updelay=500"],
        ),
        (
            "bond_downdelay",
            &["set", "port", "bond0", "bond_downdelay=300"],
        ),
    ];
    for (what, cmd) in changes {
        let drops0 = stats(&b, &bm, "rx_dropped_member_disabled");
        let exp0 = (expiries(&a, &am), expiries(&b, &bm));
        let (atx0, sink0) = (stats(&a, &am, "tx_packets"), b.stat("sink", "tx_packets"));
        a.vsctl_ok(cmd);
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            a.check_alive();
            b.check_alive();
            for (sw, m) in [(&a, &am), (&b, &bm)] {
                let (l, bs) = (sw.lacp_show("bond0"), sw.bond_show("bond0"));
                assert!(
                    lacp_state_ok(&l, &bs, &m[..], &[]),
                    "after {what}, {} lost its bond:\n{}\n{}",
                    sw.name,
                    l.text,
                    bs.text
                );
            }
        }
        let drops = delta(&drops0, &stats(&b, &bm, "rx_dropped_member_disabled"));
        let atx = delta(&atx0, &stats(&a, &am, "tx_packets"));
        let sink = b.stat("sink", "tx_packets") - sink0;
        println!("{what}: B member-disabled drops {drops:?}, A member tx {atx:?}, B sink {sink}");
        assert_eq!(drops, vec![0, 0], "after {what}");
        assert_eq!(
            (expiries(&a, &am), expiries(&b, &bm)),
            exp0,
            "after {what}: LACP expired or defaulted"
        );
        assert!(atx.iter().all(|n| *n > 100), "after {what}: A tx {atx:?}");
        assert!(sink > 100, "after {what}: B sink {sink}");
        assert!(
            a.log_tail(200)
                .lines()
                .any(|l| l.contains("bond bond0: reconfigured in place")),
            "after {what}:\n{}",
            a.log_tail(20)
        );
        assert_eq!(configured_lines(&a), 1, "after {what}:\n{}", a.log_tail(20));
    }
    let la = a.lacp_show("bond0");
    assert!(la.text.contains("lacp_time: fast"), "{}", la.text);

    // Identity changes: in place on A, a reselection at the partner.
    let identity: &[(&str, &[&str], &str)] = &[
        (
            "lacp-system-priority",
            &[
                "set",
                "port",
                "bond0",
                "other_config:lacp-system-priority=100",
            ],
            "  partner sys_priority: 100\n",
        ),
        (
            "lacp-port-priority",
            &[
                "set",
                "interface",
                "a0",
                "other_config:lacp-port-priority=10",
            ],
            "  partner port_priority: 10\n",
        ),
    ];
    for (what, cmd, seen) in identity {
        let exp0 = (expiries(&a, &am), expiries(&b, &bm));
        let t0 = std::time::Instant::now();
        a.vsctl_ok(cmd);
        let mut down_ms = 0u128;
        let mut last = t0;
        wait_until(&format!("both bonds whole after {what}"), 5, || {
            a.check_alive();
            b.check_alive();
            let whole = [(&a, &am), (&b, &bm)].iter().all(|(sw, m)| {
                lacp_state_ok(&sw.lacp_show("bond0"), &sw.bond_show("bond0"), &m[..], &[])
            });
            let now = std::time::Instant::now();
            if !whole {
                down_ms += (now - last).as_millis();
            }
            last = now;
            let heard = b.lacp_show("bond0").text.contains(seen);
            if whole && heard && t0.elapsed().as_millis() > 300 {
                Ok(())
            } else {
                Err(format!("whole {whole}, partner heard {heard}"))
            }
        });
        println!("{what}: B's bond not whole for about {down_ms} ms (partner reselection)");
        assert_eq!(
            (expiries(&a, &am), expiries(&b, &bm)),
            exp0,
            "after {what}: LACP expired or defaulted"
        );
        assert_eq!(configured_lines(&a), 1, "after {what}:\n{}", a.log_tail(20));
        assert!(
            a.log_tail(200)
                .lines()
                .any(|l| l.contains("reconfigured in place") && l.contains("LACP")),
            "after {what}:\n{}",
            a.log_tail(20)
        );
    }
    let la = a.lacp_show("bond0");
    assert!(la.text.contains("  sys_priority: 100\n"), "{}", la.text);
    assert!(la.text.contains("  port_priority: 10\n"), "{}", la.text);

    // A new bond mode is a rebuild, and says so.
    a.vsctl_ok(&["set", "port", "bond0", "bond_mode=balance-slb"]);
    wait_until("the rebuild in A's log", 10, || {
        let t = a.log_tail(200);
        if t.contains("bond bond0: rebuilt for a new bond_mode") {
            Ok(())
        } else {
            Err(t)
        }
    });
}
