//! Issue 3, test 3: LACP between two rvswitch instances.
//!
//! Switch A and switch B, each in its own network namespace, are joined by
//! two veth pairs (a0-b0, a1-b1) that both open with net_af_packet; each
//! has a 2-member LACP bond (active, fast, balance-tcp) on them. Both bonds
//! negotiate with every member enabled. Then one flow of UDP frames goes
//! from a pcap source on A through the bond to a sink on B. It leaves A on
//! one member; that member is taken down on A (`admin_state=down`; rvswitch
//! refuses to remove a member of a 2-member LACP bond), B's LACP times it
//! out, and a second run of the same flow leaves A on the other member and
//! still reaches B's sink. Bringing the member back up re-enables it.

mod common;

use common::lacp::*;
use common::*;

#[test]
fn two_rvswitch_bonds_negotiate_and_fail_over() {
    let _g = serial();
    let dir = TestDir::new("lacp2");
    let BondedPair {
        mut a,
        mut b,
        links: _links,
    } = BondedPair::negotiated("lacp");
    let (am, bm) = (AM, BM);
    add_sink(&b, "br0", "sink");

    let la = wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 60);
    let lb = wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 60);
    assert!(
        !la.sys_id.is_empty() && la.sys_id != lb.sys_id,
        "{la:?} {lb:?}"
    );
    for m in am {
        assert_eq!(
            la.member(m).unwrap().partner_sys_id,
            lb.sys_id,
            "A {m}'s partner"
        );
    }
    for m in bm {
        assert_eq!(
            lb.member(m).unwrap().partner_sys_id,
            la.sys_id,
            "B {m}'s partner"
        );
    }

    // Phase 1: the flow leaves A on one member.
    let pcap1 = dir.join("flow1.pcap");
    pcap::one_flow(&pcap1, FLOW_FRAMES, FLOW_DST, FLOW_SRC);
    let (a_tx0, b_rx0, sink0) = (
        stats(&a, &am, "tx_packets"),
        stats(&b, &bm, "rx_packets"),
        b.stat("sink", "tx_packets"),
    );
    add_pcap_source(&a, "br0", "src1", "net_pcap0", &pcap1);
    let a_tx = wait_until("A to send the first run out of its bond", 60, || {
        a.check_alive();
        b.check_alive();
        let d = delta(&a_tx0, &stats(&a, &am, "tx_packets"));
        let src = a.stat("src1", "rx_packets");
        if src >= FLOW_FRAMES as u64 && d.iter().sum::<u64>() >= 1000 {
            Ok(d)
        } else {
            Err(format!("src1 rx {src}, member tx deltas {d:?}"))
        }
    });
    let (x, y) = if a_tx[0] > a_tx[1] { (0, 1) } else { (1, 0) };
    eprintln!(
        "phase 1: A member tx deltas {a_tx:?}: the flow uses {}",
        am[x]
    );
    assert!(
        a_tx[x] >= 1000 && a_tx[y] < 100,
        "one flow must use one member: A tx deltas {a_tx:?}"
    );
    let (b_rx, sink) = wait_until("B to deliver the first run to its sink", 30, || {
        let d = delta(&b_rx0, &stats(&b, &bm, "rx_packets"));
        let s = b.stat("sink", "tx_packets") - sink0;
        if d[x] >= 100 && s >= 100 {
            Ok((d, s))
        } else {
            Err(format!("B rx deltas {d:?}, sink {s}"))
        }
    });
    eprintln!("phase 1: B member rx deltas {b_rx:?}, sink {sink}");
    assert!(b_rx[y] < 100, "B got the flow on {} too: {b_rx:?}", bm[y]);

    // Take A's carrying member down; B's partner for it times out.
    a.vsctl_ok(&["set", "interface", am[x], "admin_state=down"]);
    wait_rvswitch_lacp(&mut a, "bond0", &[am[y]], &[am[x]], 30);
    wait_rvswitch_lacp(&mut b, "bond0", &[bm[y]], &[bm[x]], 30);

    // Phase 2: the same flow now leaves A on the other member.
    let pcap2 = dir.join("flow2.pcap");
    pcap::one_flow(&pcap2, FLOW_FRAMES, FLOW_DST, FLOW_SRC);
    let (a_tx0, b_rx0, sink0) = (
        stats(&a, &am, "tx_packets"),
        stats(&b, &bm, "rx_packets"),
        b.stat("sink", "tx_packets"),
    );
    add_pcap_source(&a, "br0", "src2", "net_pcap1", &pcap2);
    let a_tx = wait_until("A to send the second run out of its bond", 60, || {
        a.check_alive();
        b.check_alive();
        let d = delta(&a_tx0, &stats(&a, &am, "tx_packets"));
        let src = a.stat("src2", "rx_packets");
        if src >= FLOW_FRAMES as u64 && d[y] >= 1000 {
            Ok(d)
        } else {
            Err(format!("src2 rx {src}, member tx deltas {d:?}"))
        }
    });
    eprintln!("phase 2: A member tx deltas {a_tx:?}");
    assert_eq!(
        a_tx[x], 0,
        "A sent on its admin-down member {}: {a_tx:?}",
        am[x]
    );
    let (b_rx, sink) = wait_until("B to deliver the second run to its sink", 30, || {
        let d = delta(&b_rx0, &stats(&b, &bm, "rx_packets"));
        let s = b.stat("sink", "tx_packets") - sink0;
        if d[y] >= 100 && s >= 100 {
            Ok((d, s))
        } else {
            Err(format!("B rx deltas {d:?}, sink {s}"))
        }
    });
    eprintln!("phase 2: B member rx deltas {b_rx:?}, sink {sink}");
    assert_eq!(
        b_rx[x], 0,
        "B received on {} after A took it down: {b_rx:?}",
        bm[x]
    );

    // And back.
    a.vsctl_ok(&["set", "interface", am[x], "admin_state=up"]);
    wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 30);
    wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 30);
}
