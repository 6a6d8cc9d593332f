//! Issue 3, test 5: `kill -9` and restart.
//!
//! With traffic running as in test 1 (testpmd guest, two vhost-user ports
//! on VLAN 300), SIGKILL the daemon and start it again on the same state
//! directory. The configuration comes back (`vsctl show` identical), the
//! vhost ports reconnect to the testpmd that kept running (it is never
//! restarted), and traffic flows again.

mod common;

use common::*;

const M0: &str = "02:00:00:00:03:00";
const M1: &str = "02:00:00:00:03:01";

#[test]
fn after_kill_9_the_configuration_and_the_vhost_connections_come_back() {
    let _g = serial();
    let dir = TestDir::new("restart");
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
    let mut sw = Switch::start("restart");
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
    guest.cmd("start tx_first");
    wait_until("traffic before the kill", 120, || {
        sw.check_alive();
        let rx = [sw.stat("vhu0", "rx_packets"), sw.stat("vhu1", "rx_packets")];
        if rx.iter().all(|&n| n >= 10_000) {
            Ok(())
        } else {
            Err(format!("rx {rx:?}"))
        }
    });
    let show_before = sw.show();
    let conf = sw.state_dir.join("conf.json");
    let conf_before = std::fs::read(&conf).expect("conf.json exists");
    let guest_pid = guest.pid();

    sw.kill9();
    // The guest notices the disconnect and keeps running.
    wait_until("testpmd to see its links go down", 30, || {
        if !guest.link_up(0) && !guest.link_up(1) {
            Ok(())
        } else {
            Err("still up".into())
        }
    });
    assert_eq!(
        std::fs::read(&conf).unwrap(),
        conf_before,
        "kill -9 changed conf.json"
    );

    sw.restart();
    assert_eq!(sw.show(), show_before, "vsctl show after restart");
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("vhu1", 60);
    wait_until("testpmd's links up again", 60, || {
        sw.check_alive();
        if guest.link_up(0) && guest.link_up(1) {
            Ok(())
        } else {
            Err("down".into())
        }
    });
    assert!(
        guest.is_alive() && guest.pid() == guest_pid,
        "testpmd was restarted"
    );
    // The packets that were in flight died with the old daemon: inject new ones.
    let before = [guest.port_stats(0), guest.port_stats(1)];
    guest.cmd("stop");
    guest.cmd("start tx_first");
    wait_until("traffic after the restart", 120, || {
        sw.check_alive();
        let rx = [sw.stat("vhu0", "rx_packets"), sw.stat("vhu1", "rx_packets")];
        let tx = [sw.stat("vhu0", "tx_packets"), sw.stat("vhu1", "tx_packets")];
        if rx.iter().chain(tx.iter()).all(|&n| n >= 10_000) {
            Ok(())
        } else {
            Err(format!("rx {rx:?} tx {tx:?}"))
        }
    });
    let after = [guest.port_stats(0), guest.port_stats(1)];
    for i in 0..2 {
        assert!(
            after[i].rx_packets >= before[i].rx_packets + 10_000,
            "guest port {i} received little after the restart: {before:?} -> {after:?}"
        );
    }
}
