//! Issue 6, item 5: LACP stays up while the PMD is saturated.
//!
//! Switch A (PMD on core 1, busy-polling) carries P1-style traffic in
//! bridge br1: two net_pcap ports replaying one UDP flow each way forever
//! (`infinite_rx`), which keeps its only PMD at 100%. The same PMD polls
//! the members of an LACP bond (active, fast: one LACPDU a second, 3 s
//! timeout) in bridge br0 to switch B (a second rvswitch, PMD on core 0).
//!
//! For 120 s the bond must stay negotiated on both sides with no flap:
//! checked every 2 s (`lacp/show` + `bond/show`), and at the end
//! `lacp/show-stats` shows no Link Expired / Link Defaulted increments on
//! either side, LACPDUs kept arriving on every member, no "LACP disabled"
//! appears in either log, and `pmd-stats-show` confirms A's PMD was busy
//! (processing cycles > 90% of its cycles).

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use common::lacp::*;
use common::*;
use hostile::*;

const HOLD: Duration = Duration::from_secs(120);

#[test]
fn lacp_holds_for_two_minutes_with_the_pmd_saturated() {
    let _g = serial();
    let dir = TestDir::new("overload");
    let mut a = start_switch("ovla", "0x2", 0);
    let mut b = start_switch("ovlb", "0x1", 1000);
    let _l0 = VethPair::new(&a.netns, "a0", &b.netns, "b0");
    let _l1 = VethPair::new(&a.netns, "a1", &b.netns, "b1");
    let (am, bm) = (["a0", "a1"], ["b0", "b1"]);
    add_af_packet_bond(&a, "br0", "bond0", am);
    add_af_packet_bond(&b, "br0", "bond0", bm);
    wait_rvswitch_lacp(&mut a, "bond0", &am, &[], 60);
    wait_rvswitch_lacp(&mut b, "bond0", &bm, &[], 60);

    // P1: untagged, one flow each way, between two pcap replay ports.
    let (mx, my) = (mac("02:00:00:00:51:01"), mac("02:00:00:00:51:02"));
    let (p0, p1) = (dir.join("p0.pcap"), dir.join("p1.pcap"));
    pcap::one_flow(&p0, 256, my, mx);
    pcap::one_flow(&p1, 256, mx, my);
    a.add_bridge("br1", &[]);
    a.vsctl_ok(&["set", "interface", "br1", "admin_state=down"]);
    add_pcap_port(&a, "br1", "p0", "net_pcap0", &p0, true, &[]);
    add_pcap_port(&a, "br1", "p1", "net_pcap1", &p1, true, &[]);
    wait_until("traffic in br1", 30, || {
        a.check_alive();
        let n = a.stat("p1", "tx_packets");
        if n > 100_000 {
            Ok(())
        } else {
            Err(format!("p1 tx {n}"))
        }
    });

    let la0 = lacp_stats(&a, "bond0");
    let lb0 = lacp_stats(&b, "bond0");
    let (a_off0, b_off0) = (
        log_lines(&a, "LACP disabled").len(),
        log_lines(&b, "LACP disabled").len(),
    );
    let rx0 = a.stat("p0", "rx_packets") + a.stat("p1", "rx_packets");
    a.vsctl_ok(&["dpif-netdev/pmd-stats-clear"]);
    let start = Instant::now();
    let mut checks = 0;
    while start.elapsed() < HOLD {
        std::thread::sleep(Duration::from_secs(2));
        a.check_alive();
        b.check_alive();
        for (sw, members) in [(&a, &am), (&b, &bm)] {
            let (l, bs) = (sw.lacp_show("bond0"), sw.bond_show("bond0"));
            assert!(
                lacp_state_ok(&l, &bs, &members[..], &[]),
                "{}: bond not fully up after {:?} of overload:\n{}\n{}",
                sw.name,
                start.elapsed(),
                l.text,
                bs.text
            );
        }
        checks += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let pmd = pmd_stats(&a);
    let rx = a.stat("p0", "rx_packets") + a.stat("p1", "rx_packets") - rx0;
    let la1 = lacp_stats(&a, "bond0");
    let lb1 = lacp_stats(&b, "bond0");
    eprintln!(
        "{secs:.0} s, {checks} checks; A's PMD: {:.1}% processing cycles, {:.2} Mpps of P1 traffic; \
         LACPDUs received on A: {:?}",
        pmd.busy_percent(),
        rx as f64 / secs / 1e6,
        am.iter()
            .map(|m| la1[*m].rx_pdus - la0[*m].rx_pdus)
            .collect::<Vec<_>>()
    );
    assert!(
        pmd.busy_percent() > 90.0,
        "A's PMD was not saturated:\n{}",
        pmd.text
    );
    for (side, before, after) in [("A", &la0, &la1), ("B", &lb0, &lb1)] {
        for (m, s) in after {
            let s0 = &before[m];
            assert_eq!(
                (s.link_expired, s.link_defaulted),
                (s0.link_expired, s0.link_defaulted),
                "{side} {m}: Link Expired / Link Defaulted moved"
            );
            assert_eq!(s.carrier_changes, s0.carrier_changes, "{side} {m}: carrier");
            // Fast rate: about one LACPDU a second from the partner.
            let got = s.rx_pdus - s0.rx_pdus;
            assert!(
                got as f64 >= 0.8 * secs,
                "{side} {m}: only {got} LACPDUs in {secs:.0} s"
            );
        }
    }
    assert_eq!(log_lines(&a, "LACP disabled").len(), a_off0, "A flapped");
    assert_eq!(log_lines(&b, "LACP disabled").len(), b_off0, "B flapped");
}
