//! `type=dpdkvhostuser`: rvswitch serves the socket
//! `<run dir>/<vhost-sock-dir>/<name>` and testpmd plays the guest as the
//! vhost-user client (`net_virtio_user` without `server=1`, what QEMU is
//! under libvirt's `mode='client'`). Two ports on access VLAN 300 play
//! ping-pong through the switch (macswap, loop topology); the guest quits
//! and a new one connects to the same sockets with no vsctl command; the
//! sockets get the configured owner and mode (also when it changes); a
//! missing socket directory is refused by vsctl; removing a port removes
//! its socket.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;

const M0: &str = "02:00:00:00:07:00";
const M1: &str = "02:00:00:00:07:01";

/// testpmd as the vhost-user client of both sockets, bouncing frames.
fn guest(dir: &Path, name: &str, socks: &[PathBuf; 2]) -> Testpmd {
    let vdevs: Vec<String> = socks
        .iter()
        .zip([M0, M1])
        .enumerate()
        .map(|(i, (s, mac))| {
            format!(
                "net_virtio_user{i},path={},queue_size=1024,mac={mac}",
                s.display()
            )
        })
        .collect();
    let mut tp = Testpmd::with_vdevs(
        dir,
        name,
        "0@0,1@0",
        &vdevs,
        "macswap",
        &[
            "--port-topology=loop",
            &format!("--eth-peer=0,{M1}"),
            &format!("--eth-peer=1,{M0}"),
        ],
    );
    tp.wait_ready(90);
    tp
}

/// Wait until both guest ports have received `n` more packets than
/// `base`, through the switch.
fn wait_traffic(sw: &mut Switch, tp: &mut Testpmd, base: [u64; 2], n: u64) -> [u64; 2] {
    wait_until("traffic both ways through the switch", 120, || {
        sw.check_alive();
        let (a, b) = (tp.port_stats(0), tp.port_stats(1));
        if a.rx_packets >= base[0] + n && b.rx_packets >= base[1] + n {
            Ok([a.rx_packets, b.rx_packets])
        } else {
            Err(format!("port 0 {a:?}, port 1 {b:?}"))
        }
    })
}

fn status_of(sw: &Switch, iface: &str, key: &str) -> String {
    sw.iface_get(iface, &format!("status:{key}"))
}

#[test]
fn server_ports_serve_their_sockets_and_a_new_guest_reconnects() {
    let _g = serial();
    let dir = TestDir::new("vhsrv");
    let mut sw = Switch::start("vhsrv");
    // The run directory is the control socket's.
    let run_dir = sw.sock.parent().unwrap().to_path_buf();
    let sock_dir = run_dir.join("vhost");

    // A directory that does not exist is refused, and nothing changes.
    let e = sw.vsctl_err(&[
        "set",
        "Open_vSwitch",
        ".",
        "other_config:vhost-sock-dir=vhost",
    ]);
    assert!(
        e.starts_with("vsctl: ")
            && e.contains(&format!(
                "the directory {} does not exist",
                sock_dir.display()
            )),
        "{e}"
    );
    let o = sw.vsctl(&["get", "Open_vSwitch", ".", "other_config"]);
    assert!(!stdout(&o).contains("vhost-sock-dir"), "{}", stdout(&o));

    std::fs::create_dir(&sock_dir).unwrap();
    std::fs::set_permissions(&sock_dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    sw.vsctl_ok(&[
        "set",
        "Open_vSwitch",
        ".",
        "other_config:vhost-sock-dir=vhost",
        "other_config:vhost-sock-owner=0:65534",
    ]);
    sw.add_bridge("br0", &[]);
    let socks = [sock_dir.join("vhs0"), sock_dir.join("vhs1")];
    for i in 0..2 {
        let iface = format!("vhs{i}");
        sw.vsctl_ok(&[
            "add-port",
            "br0",
            &iface,
            "tag=300",
            "--",
            "set",
            "Interface",
            &iface,
            "type=dpdkvhostuser",
        ]);
    }
    for s in &socks {
        wait_until(&format!("socket {}", s.display()), 30, || {
            if s.exists() {
                Ok(())
            } else {
                Err(sw.log_tail(5))
            }
        });
        let m = std::fs::metadata(s).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o777),
            (0, 65534, 0o660),
            "{}: owner, group and mode as configured (default mode 0660)",
            s.display()
        );
    }
    assert_eq!(status_of(&sw, "vhs0", "mode"), "server");
    assert_eq!(
        status_of(&sw, "vhs0", "socket"),
        socks[0].display().to_string()
    );
    assert_eq!(status_of(&sw, "vhs0", "status"), "disconnected");
    assert_eq!(sw.iface_get("vhs0", "link_state"), "down");

    // A guest connects: both ports come up and forward.
    let mut tp = guest(&dir.path, "g1", &socks);
    sw.wait_link_up("vhs0", 60);
    sw.wait_link_up("vhs1", 60);
    assert_eq!(status_of(&sw, "vhs0", "status"), "connected");
    assert_eq!(status_of(&sw, "vhs1", "driver_name"), "vhost-user-server");
    tp.cmd("start tx_first");
    wait_traffic(&mut sw, &mut tp, [0, 0], 20_000);
    let rx_before = [sw.stat("vhs0", "rx_packets"), sw.stat("vhs1", "rx_packets")];
    assert!(rx_before.iter().all(|&n| n >= 20_000), "{rx_before:?}");

    // The guest goes away: the links go down, the sockets stay.
    tp.quit();
    drop(tp);
    wait_until("links down after the guest quit", 30, || {
        let s = [
            sw.iface_get("vhs0", "link_state"),
            sw.iface_get("vhs1", "link_state"),
        ];
        if s == ["down", "down"] {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    });
    assert!(socks.iter().all(|s| s.exists()), "the sockets stay");

    // A new guest on the same sockets: traffic resumes with no vsctl
    // command.
    let mut tp = guest(&dir.path, "g2", &socks);
    sw.wait_link_up("vhs0", 60);
    sw.wait_link_up("vhs1", 60);
    tp.cmd("start tx_first");
    wait_traffic(&mut sw, &mut tp, [0, 0], 20_000);
    let rx_after = [sw.stat("vhs0", "rx_packets"), sw.stat("vhs1", "rx_packets")];
    assert!(
        rx_after[0] >= rx_before[0] + 20_000 && rx_after[1] >= rx_before[1] + 20_000,
        "the switch received the new guest's frames: {rx_before:?} -> {rx_after:?}"
    );
    tp.quit();
    drop(tp);

    // A new mode applies to the live sockets.
    sw.vsctl_ok(&[
        "set",
        "Open_vSwitch",
        ".",
        "other_config:vhost-sock-mode=0600",
    ]);
    wait_until("mode 0600 applied", 10, || {
        let m = std::fs::metadata(&socks[1]).unwrap().mode() & 0o777;
        if m == 0o600 {
            Ok(())
        } else {
            Err(format!("{m:o}"))
        }
    });

    // Removing a port removes its socket.
    sw.vsctl_ok(&["del-port", "br0", "vhs0"]);
    wait_until("vhs0's socket removed", 10, || {
        if socks[0].exists() {
            Err("still there".into())
        } else {
            Ok(())
        }
    });
    assert!(socks[1].exists());
}
