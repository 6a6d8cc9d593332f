//! Checks of the test harness itself, without rvswitch.
//!
//! The parsers run on real OVS 3.1 and testpmd output (fast, always run).
//! The peer set-ups the daemon tests rely on are checked against a
//! stand-in for rvswitch (ignored by default, they take half a minute):
//!
//! ```text
//! cargo test -p vswitchd --test harness_selftest -- --ignored
//! ```

mod common;

use common::parse::{parse_fdb, parse_port_stats};
use common::*;

const OVS_LACP_SHOW: &str = "---- bond0 ----
  status: active negotiated
  sys_id: c6:ef:48:00:0a:4c
  sys_priority: 65534
  aggregation key: 1
  lacp_time: fast

member: pm0: current attached
  port_id: 1
  port_priority: 65535
  may_enable: true

  actor sys_id: c6:ef:48:00:0a:4c
  actor sys_priority: 65534
  actor port_id: 1
  actor port_priority: 65535
  actor key: 1
  actor state: activity timeout aggregation synchronized collecting distributing

  partner sys_id: 8e:65:a0:95:e2:49
  partner sys_priority: 65534
  partner port_id: 7
  partner port_priority: 65535
  partner key: 7
  partner state: activity timeout aggregation synchronized collecting distributing

member: pm1: defaulted detached
  port_id: 2
  port_priority: 65535
  may_enable: false

  actor sys_id: c6:ef:48:00:0a:4c
  actor sys_priority: 65534
  actor port_id: 2
  actor port_priority: 65535
  actor key: 1
  actor state: activity timeout aggregation collecting distributing defaulted

  partner sys_id: 00:00:00:00:00:00
  partner sys_priority: 0
  partner port_id: 0
  partner port_priority: 0
  partner key: 0
  partner state:
";

const OVS_BOND_SHOW: &str = "---- bond0 ----
bond_mode: balance-tcp
bond may use recirculation: yes, Recirc-ID : 4
bond-hash-basis: 0
lb_output action: disabled, bond-id: -1
updelay: 0 ms
downdelay: 0 ms
next rebalance: 8231 ms
lacp_status: negotiated
lacp_fallback_ab: false
active-backup primary: <none>
active member mac: 62:ca:51:e7:69:cf(om0)

member om0: enabled
  active member
  may_enable: true

member om1: disabled
  may_enable: false
";

const OVS_FDB_SHOW: &str = " port  VLAN  MAC                Age
    1   300  02:00:00:00:03:00    0
    2   300  02:00:00:00:03:01    1
LOCAL     0  8E:65:A0:95:E2:49   12
";

const TESTPMD_STATS: &str = "show port stats all

  ######################## NIC statistics for port 0  ########################
  RX-packets: 777920     RX-missed: 0          RX-bytes:  49786880
  RX-errors: 0
  RX-nombuf:  0         
  TX-packets: 777984     TX-errors: 0          TX-bytes:  49790976

  Throughput (since last show)
  Rx-pps:        88332          Rx-bps:     45226400
  Tx-pps:        88336          Tx-bps:     45228264
  ############################################################################

  ######################## NIC statistics for port 1  ########################
  RX-packets: 777888     RX-missed: 0          RX-bytes:  49784832
  RX-errors: 0
  RX-nombuf:  0         
  TX-packets: 777952     TX-errors: 0          TX-bytes:  49788928
  ############################################################################
";

#[test]
fn parsers_read_real_ovs_and_testpmd_output() {
    let l = LacpShow::parse(OVS_LACP_SHOW);
    assert_eq!(l.bond, "bond0");
    assert!(l.negotiated());
    assert_eq!(l.sys_id, "c6:ef:48:00:0a:4c");
    assert_eq!(l.members.len(), 2);
    assert!(l.member_up("pm0"));
    assert!(!l.member_up("pm1"), "defaulted member is not up");
    assert!(!l.member_up("nosuch"));
    assert_eq!(l.member("pm0").unwrap().partner_sys_id, "8e:65:a0:95:e2:49");
    assert_eq!(l.member("pm1").unwrap().status, "defaulted detached");
    let not = LacpShow::parse(&OVS_LACP_SHOW.replace("active negotiated", "active"));
    assert!(!not.negotiated());
    assert!(!LacpShow::parse("").negotiated());

    let b = BondShow::parse(OVS_BOND_SHOW);
    assert_eq!(b.bond_mode, "balance-tcp");
    assert_eq!(b.lacp_status, "negotiated");
    assert!(b.enabled("om0"));
    assert!(!b.enabled("om1"));
    assert!(b.has_member("om1"));
    assert!(!b.has_member("active"));

    let f = parse_fdb(OVS_FDB_SHOW);
    assert_eq!(f.len(), 3);
    assert_eq!(
        f[1],
        FdbEntry {
            port: "2".into(),
            vlan: 300,
            mac: "02:00:00:00:03:01".into()
        }
    );
    assert_eq!(f[2].mac, "8e:65:a0:95:e2:49", "lower-cased");

    let p0 = parse_port_stats(TESTPMD_STATS, 0).unwrap();
    assert_eq!(
        p0,
        PortStats {
            rx_packets: 777920,
            rx_bytes: 49786880,
            tx_packets: 777984,
            tx_bytes: 49790976
        }
    );
    assert_eq!(
        parse_port_stats(TESTPMD_STATS, 1).unwrap().rx_packets,
        777888
    );
    assert!(parse_port_stats(TESTPMD_STATS, 2).is_none());
    assert!(parse_port_stats("NIC statistics for port 0 \n RX-packets: x", 0).is_none());
}

/// The vhost set-up of the forwarding tests, with a second testpmd as the
/// vhost-user client (a wire between its two ports) instead of rvswitch:
/// testpmd blocks until clients connect, `start tx_first` starts a
/// ping-pong, and after `stop` the counters of both sides agree except
/// for at most the 64 packets in flight.
#[test]
#[ignore = "harness self-check; run with --ignored"]
fn testpmd_vhost_servers_with_a_wire_client() {
    let _g = serial();
    let dir = TestDir::new("selftest-vhost");
    let ports = [
        VhostPort {
            sock: dir.join("v0.sock"),
            mac: "02:00:00:00:03:00".into(),
        },
        VhostPort {
            sock: dir.join("v1.sock"),
            mac: "02:00:00:00:03:01".into(),
        },
    ];
    let mut guest = Testpmd::vhost_server(
        &dir.path,
        "guest",
        &ports,
        "macswap",
        &[
            "--port-topology=loop",
            "--eth-peer=0,02:00:00:00:03:01",
            "--eth-peer=1,02:00:00:00:03:00",
        ],
    );
    let client_vdevs: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("net_vhost{i},iface={},client=1", p.sock.display()))
        .collect();
    let mut wire = Testpmd::with_vdevs(&dir.path, "wire", "0@0,1@1", &client_vdevs, "io", &[]);
    guest.wait_ready(60);
    wire.wait_ready(60);
    wire.cmd("start");
    wait_until("guest links up", 30, || {
        if guest.link_up(0) && guest.link_up(1) {
            Ok(())
        } else {
            Err("down".into())
        }
    });
    guest.cmd("start tx_first");
    wait_until("10000 packets each way", 60, || {
        let (a, b) = (guest.port_stats(0), guest.port_stats(1));
        if a.rx_packets >= 10_000 && b.rx_packets >= 10_000 {
            Ok(())
        } else {
            Err(format!("{a:?} {b:?}"))
        }
    });
    guest.cmd("stop");
    let g = [guest.port_stats(0), guest.port_stats(1)];
    // The wire's port i faces the guest's port i.
    let w = wait_until("the wire to receive all sent packets", 30, || {
        let w = [wire.port_stats(0), wire.port_stats(1)];
        if w[0].rx_packets == g[0].tx_packets && w[1].rx_packets == g[1].tx_packets {
            Ok(w)
        } else {
            Err(format!("guest {g:?} wire {w:?}"))
        }
    });
    let mut in_flight = 0;
    for i in 0..2 {
        assert!(w[i].tx_packets >= g[i].rx_packets, "port {i}: {w:?} {g:?}");
        in_flight += w[i].tx_packets - g[i].rx_packets;
    }
    assert!(in_flight <= 64, "{in_flight} in flight: {w:?} {g:?}");
}

/// Two OVS-DPDK instances, each in its own namespace, joined by two veth
/// pairs opened with net_af_packet: both LACP bonds negotiate, all members
/// are up, and each names the other as partner. (This is the reference
/// for what rvswitch must show against OVS.)
#[test]
#[ignore = "harness self-check; run with --ignored"]
fn two_ovs_negotiate_lacp_over_veths() {
    let _g = serial();
    let a = Ovs::start("selftest-ovsa");
    let b = Ovs::start("selftest-ovsb");
    let _l0 = VethPair::new(&a.netns, "a0", &b.netns, "b0");
    let _l1 = VethPair::new(&a.netns, "a1", &b.netns, "b1");
    for (o, br, m) in [(&a, "stbra", ["a0", "a1"]), (&b, "stbrb", ["b0", "b1"])] {
        o.ovs_vsctl_ok(&[
            "add-br",
            br,
            "--",
            "set",
            "bridge",
            br,
            "datapath_type=netdev",
        ]);
        o.ovs_vsctl_ok(&[
            "add-bond",
            br,
            "bond0",
            m[0],
            m[1],
            "bond_mode=balance-tcp",
            "lacp=active",
            "other_config:lacp-time=fast",
            "--",
            "set",
            "Interface",
            m[0],
            "type=dpdk",
            &format!("options:dpdk-devargs=\"net_af_packet0,iface={}\"", m[0]),
            "--",
            "set",
            "Interface",
            m[1],
            "type=dpdk",
            &format!("options:dpdk-devargs=\"net_af_packet1,iface={}\"", m[1]),
        ]);
    }
    let (la, lb) = wait_until("both bonds negotiated", 60, || {
        let (la, lb) = (a.lacp_show("bond0"), b.lacp_show("bond0"));
        let up =
            la.member_up("a0") && la.member_up("a1") && lb.member_up("b0") && lb.member_up("b1");
        if la.negotiated() && lb.negotiated() && up {
            Ok((la, lb))
        } else {
            Err(format!("{}\n{}", la.text, lb.text))
        }
    });
    assert_eq!(la.member("a0").unwrap().partner_sys_id, lb.sys_id);
    assert_eq!(lb.member("b1").unwrap().partner_sys_id, la.sys_id);
}
