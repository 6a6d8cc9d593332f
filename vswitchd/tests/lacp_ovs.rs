//! Issue 3, test 4: LACP against OVS-DPDK 3.1.
//!
//! rvswitch and OVS-DPDK, each in its own network namespace, are joined by
//! two veth pairs (a0-o0, a1-o1) that both sides open with net_af_packet.
//! Both bonds are `lacp=active`, `balance-tcp`, `lacp-time=fast`. Both
//! `vsctl lacp/show` and `ovs-appctl lacp/show` must say negotiated with
//! every member in use, each naming the other as partner. Then one flow
//! goes from a pcap source on rvswitch through the bond into OVS; the link
//! it uses is cut on the OVS side (`ip link set oX down`: the veth stays
//! up on rvswitch's side, so rvswitch has only LACP to notice), rvswitch
//! times the member out, and a second run of the flow takes the other
//! member and arrives at OVS.

mod common;

use common::lacp::*;
use common::*;

#[test]
fn rvswitch_and_ovs_negotiate_lacp_and_rvswitch_fails_over() {
    let _g = serial();
    let dir = TestDir::new("lacpovs");
    let ovs = Ovs::start("peer");
    let mut sw = Switch::start("lacpovs");
    let _l0 = VethPair::new(&sw.netns, "a0", &ovs.netns, "o0");
    let _l1 = VethPair::new(&sw.netns, "a1", &ovs.netns, "o1");
    let am = ["a0", "a1"];
    let om = ["o0", "o1"];
    add_af_packet_bond(&sw, "br0", "bond0", am);
    ovs.ovs_vsctl_ok(&[
        "add-br",
        "brovs",
        "--",
        "set",
        "bridge",
        "brovs",
        "datapath_type=netdev",
    ]);
    ovs.ovs_vsctl_ok(&[
        "add-bond",
        "brovs",
        "bond0",
        om[0],
        om[1],
        "bond_mode=balance-tcp",
        "lacp=active",
        "other_config:lacp-time=fast",
        "--",
        "set",
        "Interface",
        om[0],
        "type=dpdk",
        "options:dpdk-devargs=\"net_af_packet0,iface=o0\"",
        "--",
        "set",
        "Interface",
        om[1],
        "type=dpdk",
        "options:dpdk-devargs=\"net_af_packet1,iface=o1\"",
    ]);

    wait_rvswitch_lacp(&mut sw, "bond0", &am, &[], 60);
    let theirs = wait_until("OVS: bond0 negotiated, o0 and o1 current", 60, || {
        sw.check_alive();
        let l = ovs.lacp_show("bond0");
        if l.negotiated() && om.iter().all(|m| l.member_up(m)) {
            Ok(l)
        } else {
            Err(l.text)
        }
    });
    // rvswitch's view still holds now that OVS's does.
    let ours = wait_rvswitch_lacp(&mut sw, "bond0", &am, &[], 10);
    eprintln!(
        "vsctl lacp/show bond0:\n{}\novs-appctl lacp/show bond0:\n{}",
        ours.text, theirs.text
    );
    for (a, o) in am.iter().zip(om) {
        assert_eq!(
            ours.member(a).unwrap().partner_sys_id,
            theirs.sys_id,
            "rvswitch {a}'s partner is OVS"
        );
        assert_eq!(
            theirs.member(o).unwrap().partner_sys_id,
            ours.sys_id,
            "OVS {o}'s partner is rvswitch"
        );
        let p = &theirs.member(o).unwrap().partner_state;
        for flag in [
            "activity",
            "timeout",
            "aggregation",
            "synchronized",
            "collecting",
            "distributing",
        ] {
            assert!(
                p.contains(flag),
                "OVS sees rvswitch's {a} without {flag}: {p:?}"
            );
        }
    }
    let bond = ovs.ovs_appctl_ok(&["bond/show", "bond0"]);
    let ob = BondShow::parse(&bond);
    assert!(
        ob.lacp_status == "negotiated" && ob.enabled("o0") && ob.enabled("o1"),
        "OVS bond/show:\n{bond}"
    );

    // Phase 1: which member does the flow use?
    let pcap1 = dir.join("flow1.pcap");
    pcap::one_flow(&pcap1, FLOW_FRAMES, FLOW_DST, FLOW_SRC);
    let tx0 = stats(&sw, &am, "tx_packets");
    add_pcap_source(&sw, "br0", "src1", "net_pcap0", &pcap1);
    let d = wait_until("the first run to leave through the bond", 60, || {
        sw.check_alive();
        let d = delta(&tx0, &stats(&sw, &am, "tx_packets"));
        let src = sw.stat("src1", "rx_packets");
        if src >= FLOW_FRAMES as u64 && d.iter().sum::<u64>() >= 1000 {
            Ok(d)
        } else {
            Err(format!("src1 rx {src}, member tx deltas {d:?}"))
        }
    });
    let (x, y) = if d[0] > d[1] { (0, 1) } else { (1, 0) };
    eprintln!(
        "phase 1: rvswitch member tx deltas {d:?}: the flow uses {}",
        am[x]
    );
    assert!(d[x] >= 1000 && d[y] < 100, "one flow, one member: {d:?}");
    wait_until("OVS to receive the first run", 30, || {
        let n = ovs.stat(om[x], "rx_packets");
        if n >= 100 {
            Ok(())
        } else {
            Err(format!("{} rx_packets {n}", om[x]))
        }
    });

    // Cut that link on the OVS side.
    ovs.netns.ip(&["link", "set", om[x], "down"]);
    wait_rvswitch_lacp(&mut sw, "bond0", &[am[y]], &[am[x]], 30);
    wait_until("OVS to keep the other member", 30, || {
        let l = ovs.lacp_show("bond0");
        if l.negotiated() && l.member_up(om[y]) && !l.member_up(om[x]) {
            Ok(())
        } else {
            Err(l.text)
        }
    });

    // Phase 2: the flow moves to the other member and still arrives.
    let pcap2 = dir.join("flow2.pcap");
    pcap::one_flow(&pcap2, FLOW_FRAMES, FLOW_DST, FLOW_SRC);
    let tx0 = stats(&sw, &am, "tx_packets");
    let orx0 = ovs.stat(om[y], "rx_packets");
    add_pcap_source(&sw, "br0", "src2", "net_pcap1", &pcap2);
    let d = wait_until(
        "the second run to leave through the other member",
        60,
        || {
            sw.check_alive();
            let d = delta(&tx0, &stats(&sw, &am, "tx_packets"));
            let src = sw.stat("src2", "rx_packets");
            if src >= FLOW_FRAMES as u64 && d[y] >= 1000 {
                Ok(d)
            } else {
                Err(format!("src2 rx {src}, member tx deltas {d:?}"))
            }
        },
    );
    eprintln!("phase 2: rvswitch member tx deltas {d:?}");
    assert!(
        d[x] < 100,
        "traffic still on the dead member {}: {d:?}",
        am[x]
    );
    wait_until(
        "OVS to receive the second run on the other member",
        30,
        || {
            let n = ovs.stat(om[y], "rx_packets") - orx0;
            if n >= 100 {
                Ok(())
            } else {
                Err(format!("{} rx delta {n}", om[y]))
            }
        },
    );
}
