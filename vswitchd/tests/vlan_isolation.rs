//! Issue 3, test 2: VLAN isolation through the daemon.
//!
//! testpmd plays a guest with three virtio ports in `mac` forwarding mode
//! (each port sends what it receives back out of itself with source = its
//! own MAC and destination = its `--eth-peer`):
//! - vhu0 (VLAN 300) sends to the broadcast address: every packet it
//!   bounces is flooded on VLAN 300;
//! - vhu1 (VLAN 300) sends unicast to vhu0's MAC;
//! - vhu2 (VLAN 301) sends its one `tx_first` burst to vhu0's MAC.
//!
//! So VLAN 300 carries a steady mix of floods and unicast, and vhu2 on
//! VLAN 301 must receive none of it: testpmd's RX counter for it stays 0
//! and so does rvswitch's tx counter for it. Its own burst (unicast to a
//! MAC that lives on VLAN 300) must not cross into VLAN 300 either.

mod common;

use common::parse::parse_fdb;
use common::*;

const M0: &str = "02:00:00:00:03:00";
const M1: &str = "02:00:00:00:03:01";
const M2: &str = "02:00:00:00:03:02";
const BCAST: &str = "ff:ff:ff:ff:ff:ff";

#[test]
fn a_port_on_vlan_301_gets_nothing_of_vlan_300() {
    let _g = serial();
    let dir = TestDir::new("vlan");
    let ports: Vec<VhostPort> = [M0, M1, M2]
        .iter()
        .enumerate()
        .map(|(i, mac)| VhostPort {
            sock: dir.join(&format!("vhu{i}.sock")),
            mac: mac.to_string(),
        })
        .collect();
    let mut guest = Testpmd::vhost_server(
        &dir.path,
        "guest",
        &ports,
        "mac",
        &[
            "--port-topology=loop",
            &format!("--eth-peer=0,{BCAST}"),
            &format!("--eth-peer=1,{M0}"),
            &format!("--eth-peer=2,{M0}"),
        ],
    );
    let mut sw = Switch::start("vlan");
    sw.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
    ]);
    for (i, (p, tag)) in ports.iter().zip(["300", "300", "301"]).enumerate() {
        let iface = format!("vhu{i}");
        sw.vsctl_ok(&[
            "add-port",
            "br0",
            &iface,
            &format!("tag={tag}"),
            "--",
            "set",
            "Interface",
            &iface,
            "type=dpdkvhostuserclient",
            &format!("options:vhost-server-path={}", p.sock.display()),
        ]);
    }
    guest.wait_ready(90);
    for i in 0..3 {
        sw.wait_link_up(&format!("vhu{i}"), 60);
    }
    wait_until("testpmd's links up", 60, || {
        sw.check_alive();
        if (0..3).all(|p| guest.link_up(p)) {
            Ok(())
        } else {
            Err("down".into())
        }
    });

    guest.cmd("start tx_first");
    // vhu1 receives only floods (vhu0 sends to broadcast), vhu0 only unicast.
    wait_until("20000 packets received on vhu0 and vhu1", 120, || {
        sw.check_alive();
        let (a, b) = (guest.port_stats(0), guest.port_stats(1));
        if a.rx_packets >= 20_000 && b.rx_packets >= 20_000 {
            Ok(())
        } else {
            Err(format!("port 0 {a:?}, port 1 {b:?}"))
        }
    });
    let live = guest.port_stats(2);
    assert_eq!(
        live.rx_packets, 0,
        "vhu2 (VLAN 301) received VLAN 300 traffic: {live:?}"
    );
    assert_eq!(
        sw.stat("vhu2", "tx_packets"),
        0,
        "rvswitch sent to vhu2 while traffic ran"
    );

    guest.cmd("stop");
    let g: Vec<PortStats> = (0..3).map(|p| guest.port_stats(p)).collect();
    assert!(g[1].rx_packets >= 20_000, "floods reached vhu1: {g:?}");
    assert_eq!(g[2].rx_packets, 0, "vhu2 received something: {g:?}");
    assert_eq!(g[2].tx_packets, 32, "vhu2 sent its tx_first burst: {g:?}");
    wait_until("rvswitch to receive vhu2's burst", 30, || {
        sw.check_alive();
        let rx = sw.stat("vhu2", "rx_packets");
        if rx == g[2].tx_packets {
            Ok(())
        } else {
            Err(format!("rx_packets {rx}"))
        }
    });
    assert_eq!(
        sw.stat("vhu2", "tx_packets"),
        0,
        "rvswitch's tx counter for vhu2"
    );
    assert_eq!(
        sw.stat("vhu2", "tx_bytes"),
        0,
        "rvswitch's tx_bytes for vhu2"
    );
    assert!(sw.stat("vhu1", "tx_packets") >= g[1].rx_packets);

    // Each MAC is known on its own VLAN only.
    let fdb_text = sw.vsctl_ok(&["fdb/show", "br0"]);
    let fdb = parse_fdb(&fdb_text);
    let vlans_of = |mac: &str| -> Vec<u16> {
        fdb.iter()
            .filter(|e| e.mac == mac)
            .map(|e| e.vlan)
            .collect()
    };
    assert_eq!(vlans_of(M0), vec![300], "M0 in fdb/show:\n{fdb_text}");
    assert_eq!(vlans_of(M1), vec![300], "M1 in fdb/show:\n{fdb_text}");
    assert_eq!(vlans_of(M2), vec![301], "M2 in fdb/show:\n{fdb_text}");
}
