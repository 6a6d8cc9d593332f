//! Issue 3, test 1: forwarding through vhost-user.
//!
//! testpmd plays a guest with two virtio ports (vhost-user servers), each
//! bouncing what it receives back out of itself with the MACs swapped
//! (`macswap`, `--port-topology=loop`). rvswitch connects to both as
//! `dpdkvhostuserclient` ports on access VLAN 300 of one bridge; `start
//! tx_first` injects one burst per port and the two ports then play
//! ping-pong through the switch.

mod common;

use common::parse::parse_fdb;
use common::*;

const M0: &str = "02:00:00:00:03:00";
const M1: &str = "02:00:00:00:03:01";

#[test]
fn vhost_user_ports_forward_both_ways_and_count_what_testpmd_counts() {
    let _g = serial();
    let dir = TestDir::new("fwd");
    let ports = [
        VhostPort {
            sock: dir.join("vhu0.sock"),
            mac: M0.into(),
        },
        VhostPort {
            sock: dir.join("vhu1.sock"),
            mac: M1.into(),
        },
    ];
    let mut guest = Testpmd::vhost_server(
        &dir.path,
        "guest",
        &ports,
        "macswap",
        &[
            "--port-topology=loop",
            &format!("--eth-peer=0,{M1}"),
            &format!("--eth-peer=1,{M0}"),
        ],
    );
    let mut sw = Switch::start("fwd");
    sw.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
    ]);
    for (i, p) in ports.iter().enumerate() {
        let iface = format!("vhu{i}");
        sw.vsctl_ok(&[
            "add-port",
            "br0",
            &iface,
            "tag=300",
            "--",
            "set",
            "Interface",
            &iface,
            "type=dpdkvhostuserclient",
            &format!("options:vhost-server-path={}", p.sock.display()),
        ]);
    }
    guest.wait_ready(90);
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("vhu1", 60);
    wait_until("testpmd's links up", 60, || {
        sw.check_alive();
        if guest.link_up(0) && guest.link_up(1) {
            Ok(())
        } else {
            Err("down".into())
        }
    });

    guest.cmd("start tx_first");
    // Both ways: each port receives what the other sent (through rvswitch).
    let (s0, s1) = wait_until("20000 packets received on each guest port", 120, || {
        sw.check_alive();
        let (a, b) = (guest.port_stats(0), guest.port_stats(1));
        if a.rx_packets >= 20_000 && b.rx_packets >= 20_000 {
            Ok((a, b))
        } else {
            Err(format!("port 0 {a:?}, port 1 {b:?}"))
        }
    });
    eprintln!("guest port 0 {s0:?}\nguest port 1 {s1:?}");

    // Both MACs were learned on VLAN 300, on different ports.
    let fdb_text = sw.vsctl_ok(&["fdb/show", "br0"]);
    eprintln!("fdb/show br0:\n{fdb_text}");
    let fdb = parse_fdb(&fdb_text);
    let entry = |mac: &str| {
        fdb.iter()
            .find(|e| e.mac == mac && e.vlan == 300)
            .unwrap_or_else(|| panic!("{mac} not on VLAN 300 in fdb/show br0:\n{fdb_text}"))
            .clone()
    };
    let (e0, e1) = (entry(M0), entry(M1));
    assert_ne!(
        e0.port, e1.port,
        "M0 and M1 learned on one port:\n{fdb_text}"
    );
    assert!(
        fdb.iter()
            .all(|e| (e.mac != M0 && e.mac != M1) || e.vlan == 300),
        "a guest MAC on another VLAN:\n{fdb_text}"
    );

    // Counters: stop the guest, let the switch drain, compare.
    guest.cmd("stop");
    let g = [guest.port_stats(0), guest.port_stats(1)];
    let (rx, rx_bytes) = wait_until(
        "rvswitch rx counters to equal what the guest sent",
        30,
        || {
            sw.check_alive();
            let rx = [sw.stat("vhu0", "rx_packets"), sw.stat("vhu1", "rx_packets")];
            let rb = [sw.stat("vhu0", "rx_bytes"), sw.stat("vhu1", "rx_bytes")];
            if rx == [g[0].tx_packets, g[1].tx_packets] {
                Ok((rx, rb))
            } else {
                Err(format!("rvswitch rx {rx:?}, guest {g:?}"))
            }
        },
    );
    assert_eq!(
        rx_bytes,
        [g[0].tx_bytes, g[1].tx_bytes],
        "rx_bytes of vhu0/vhu1 vs testpmd TX-bytes"
    );
    let tx = [sw.stat("vhu0", "tx_packets"), sw.stat("vhu1", "tx_packets")];
    let tx_bytes = [sw.stat("vhu0", "tx_bytes"), sw.stat("vhu1", "tx_bytes")];
    // What rvswitch sent and testpmd has not read (it stopped polling) is
    // still in the virtqueues: at most the 2 x 32 packets of tx_first.
    let mut in_flight = 0;
    for i in 0..2 {
        assert!(
            tx[i] >= g[i].rx_packets,
            "vhu{i}: rvswitch sent {} but the guest received {}",
            tx[i],
            g[i].rx_packets
        );
        assert!(
            tx_bytes[i] >= g[i].rx_bytes,
            "vhu{i} tx_bytes {tx_bytes:?} vs {g:?}"
        );
        in_flight += tx[i] - g[i].rx_packets;
    }
    assert!(
        in_flight <= 64,
        "{in_flight} packets unaccounted for: rvswitch tx {tx:?}, guest {g:?}"
    );
    eprintln!("rvswitch rx {rx:?} tx {tx:?}; guest {g:?}; in flight {in_flight}");
}
