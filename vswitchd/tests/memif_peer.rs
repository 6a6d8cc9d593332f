//! memif ports against real peers (dpdk-testpmd's `net_memif` in the
//! client role; DPDK's bonding PMD in mode 4 on top as a LACP partner).
//! rvswitch serves the sockets (`role=server`) behind its relay
//! (`dpdk::memif`).
//!
//! - **Fewer queues than rvswitch's senders.** A peer with one queue pair
//!   per port: rvswitch sends only on the queue the peer set up, PMD and
//!   control thread sharing it, so the bonding PMD's LACP negotiates with
//!   rvswitch's bond, LACPDUs keep flowing with none dropped, and `status`
//!   says `n_rxq=1`, `n_txq=1`. (Before: every frame on the PMD's and the
//!   control thread's queues 1 and 2 was dropped as `tx_dropped_full`,
//!   and LACP never negotiated.)
//! - **Peers that go at once or reconnect.** 200 clients that connect and
//!   close before the memif PMD's HELLO, then a testpmd that stops and
//!   starts its port 20 times (reconnecting within milliseconds): the
//!   switch keeps running and forwards the last peer's frames. (Before:
//!   `memif_msg_send_from_queue(): sendmsg fail: Broken pipe.` then
//!   `PANIC in eal_intr_thread_main(): Error adding fd N epoll_ctl, Bad file
//!   descriptor` at the first such client.)
//! - **A peer stopping under traffic.** testpmd floods rvswitch over 3
//!   queues (1400-byte frames, txonly) and stops and starts its port 200
//!   times: the switch keeps running and receives again after every
//!   start. (Before: the PMD thread died of SIGSEGV in the memif PMD's
//!   receive copy, reading shared memory the interrupt thread had just
//!   unmapped, at rounds 8 to 31 in 5 of 6 runs of 100.)
//! - **What rvswitch cannot serve safely is refused**: the memif client
//!   role (DPDK's default) at `vsctl` time, unknown memif options in the
//!   interface's `error` column.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lacp::add_pcap_source;
use common::memif::*;
use common::*;

/// Where the frames of a flooding peer go: a static FDB entry on `sink`.
const SINK_MAC: &str = "02:00:00:00:5e:01";

/// `add-port BR IFACE` as a memif server on `sock`, with `more` columns.
fn add_memif(sw: &Switch, iface: &str, n: u32, sock: &Path, more: &[&str]) {
    let devargs = format!("options:dpdk-devargs={}", server_devargs(n, sock));
    let mut args = vec![
        "add-port",
        "br0",
        iface,
        "--",
        "set",
        "interface",
        iface,
        "type=dpdk",
        &devargs,
    ];
    args.extend_from_slice(more);
    sw.vsctl_ok(&args);
}

/// A net_null sink port `sink` that owns [`SINK_MAC`].
fn add_sink(sw: &Switch) {
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        "sink",
        "--",
        "set",
        "interface",
        "sink",
        "type=dpdk",
        "options:dpdk-devargs=net_null0,no-rx=1",
    ]);
    sw.vsctl_ok(&["fdb/add", "br0", "sink", "0", SINK_MAC]);
}

fn status(sw: &Switch, iface: &str, key: &str) -> String {
    sw.iface_get(iface, &format!("status:{key}"))
}

fn socks(dir: &TestDir, n: usize) -> Vec<PathBuf> {
    (0..n).map(|i| dir.join(&format!("m{i}.sock"))).collect()
}

#[test]
fn a_bonding_pmd_over_one_queue_memif_negotiates_lacp() {
    let _g = serial();
    let dir = TestDir::new("memif-lacp");
    let s = socks(&dir, 2);
    let mut sw = Switch::start("memif-lacp");
    sw.add_bridge("br0", &[]);
    let d0 = format!("options:dpdk-devargs={}", server_devargs(0, &s[0]));
    let d1 = format!("options:dpdk-devargs={}", server_devargs(1, &s[1]));
    sw.vsctl_ok(&[
        "add-bond",
        "br0",
        "bond0",
        "m0",
        "m1",
        "bond_mode=balance-tcp",
        "lacp=active",
        "other_config:lacp-time=fast",
        "--",
        "set",
        "interface",
        "m0",
        "type=dpdk",
        &d0,
        "--",
        "set",
        "interface",
        "m1",
        "type=dpdk",
        &d1,
    ]);
    // One queue pair per port (testpmd's default); the bond is built by
    // hand (NOTES: the vdev form starts the members twice) and sends
    // LACPDUs only while it is polled, which flowgen does.
    let mut peer = MemifPeer::start(&dir.path, "bond", &s, 1, &["--disable-device-start"]);
    peer.wait_ready(60).expect("testpmd with two memif ports");
    for c in [
        "create bonded device 4 0",
        "add bonding slave 0 2",
        "add bonding slave 1 2",
        "set bonding lacp dedicated_queues 2 disable",
        "port start 2",
        "set portlist 2",
        "set fwd flowgen",
        "start",
    ] {
        peer.cmd(c).unwrap_or_else(|e| panic!("testpmd {c:?}: {e}"));
    }
    let l = wait_until("LACP negotiated with DPDK's bonding PMD", 30, || {
        sw.check_alive();
        let l = sw.lacp_show("bond0");
        if l.negotiated() && l.member_up("m0") && l.member_up("m1") {
            Ok(l)
        } else {
            Err(l.text)
        }
    });
    let partner = l.member("m0").map(|m| m.partner_sys_id.clone());
    assert_eq!(
        partner,
        l.member("m1").map(|m| m.partner_sys_id.clone()),
        "both members aggregate with the same partner:\n{}",
        l.text
    );
    let b = sw.bond_show("bond0");
    assert!(b.enabled("m0") && b.enabled("m1"), "{}", b.text);
    for m in ["m0", "m1"] {
        assert_eq!(status(&sw, m, "n_rxq"), "1", "{m}: queues in use");
        assert_eq!(status(&sw, m, "n_txq"), "1", "{m}: queues in use");
        assert_eq!(status(&sw, m, "memif_connected"), "true", "{m}");
    }
    // The PMD transmits on the member's one queue too (shared with the
    // control thread): 500 broadcast frames from a one-shot pcap source
    // go out on the bond, none dropped, and LACPDUs keep going out.
    let before: Vec<(u64, u64)> = ["m0", "m1"]
        .iter()
        .map(|m| (sw.stat(m, "tx_packets"), sw.stat(m, "tx_dropped_full")))
        .collect();
    let frames: Vec<Vec<u8>> = (0..500)
        .map(|i| pcap::udp_frame([0xff; 6], [2, 0, 0, 0, 0x5e, 2], 1000, 2000, i))
        .collect();
    let src = dir.join("bcast.pcap");
    pcap::write(&src, &frames);
    add_pcap_source(&sw, "br0", "src", "net_pcap0", &src);
    std::thread::sleep(Duration::from_secs(4));
    let mut sent = 0;
    for (m, (tx0, full0)) in ["m0", "m1"].iter().zip(&before) {
        let (tx, full) = (sw.stat(m, "tx_packets"), sw.stat(m, "tx_dropped_full"));
        assert!(tx > *tx0, "{m}: nothing sent in 4 s ({tx0} -> {tx})");
        assert_eq!(full, *full0, "{m}: frames dropped as tx_dropped_full");
        sent += tx - tx0;
    }
    assert!(sent >= 500, "{sent} frames sent on the bond, 500 expected");
    let l = sw.lacp_show("bond0");
    assert!(
        l.negotiated() && l.member_up("m0") && l.member_up("m1"),
        "{}",
        l.text
    );
    let cfg = peer
        .cmd("show bonding config 2")
        .expect("show bonding config");
    let active = cfg
        .lines()
        .find(|l| l.contains("Active Slaves"))
        .unwrap_or_default()
        .to_string();
    assert!(
        active.contains('0') && active.contains('1') && active.contains("(2)"),
        "the bonding PMD aggregates both members:\n{cfg}"
    );
    println!("LACP negotiated over one-queue memif ports; partner {partner:?}; {active}");
}

#[test]
fn peers_that_go_at_once_or_reconnect_fast_never_crash_the_switch() {
    let _g = serial();
    let dir = TestDir::new("memif-churn");
    let s = socks(&dir, 1);
    let mut sw = Switch::start("memif-churn");
    sw.add_bridge("br0", &[]);
    add_sink(&sw);
    add_memif(&sw, "m0", 0, &s[0], &[]);
    wait_until("the memif socket", 20, || {
        sw.check_alive();
        if s[0].exists() {
            Ok(())
        } else {
            Err(sw.iface_get("m0", "error"))
        }
    });
    // Peers gone before the PMD greets them.
    for i in 0..200 {
        if let Err(e) = connect_and_close(&s[0]) {
            sw.check_alive();
            panic!("connect #{i} to {}: {e}", s[0].display());
        }
        std::thread::sleep(Duration::from_millis(5));
        if i % 20 == 0 {
            sw.check_alive();
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    sw.check_alive();

    // A real peer reconnecting within milliseconds, 20 times.
    let mut peer = MemifPeer::start(
        &dir.path,
        "churn",
        &s,
        1,
        &["--forward-mode=txonly", &format!("--eth-peer=0,{SINK_MAC}")],
    );
    peer.wait_ready(60).expect("testpmd");
    let mut reconnects = 0;
    for _ in 0..20 {
        let ok = ["port stop 0", "port start 0"]
            .iter()
            .all(|c| peer.cmd(c).is_ok());
        if ok {
            reconnects += 1;
        } else {
            peer.restart();
        }
        sw.check_alive();
    }
    peer.cmd("start").expect("testpmd start");
    sw.wait_link_up("m0", 20);
    let rx0 = sw.stat("m0", "rx_packets");
    let rx = wait_until("frames from the last peer", 10, || {
        sw.check_alive();
        let rx = sw.stat("m0", "rx_packets");
        if rx > rx0 + 1000 {
            Ok(rx)
        } else {
            Err(format!("rx_packets {rx0} -> {rx}"))
        }
    });
    assert!(sw.stat("sink", "tx_packets") > 0, "frames reach the sink");
    println!(
        "200 early hang-ups, {reconnects} fast reconnects (peer restarted {} times): switch up, {} frames from the last peer",
        peer.restarts,
        rx - rx0
    );
}

#[test]
fn a_peer_stopping_under_traffic_never_crashes_the_switch() {
    let _g = serial();
    let dir = TestDir::new("memif-stop");
    let s = socks(&dir, 1);
    let mut sw = Switch::start("memif-stop");
    sw.add_bridge("br0", &[]);
    add_sink(&sw);
    add_memif(&sw, "m0", 0, &s[0], &["options:n_rxq=3"]);
    let mut peer = MemifPeer::start(
        &dir.path,
        "flood",
        &s,
        3,
        &[
            "--forward-mode=txonly",
            "--txpkts=1400",
            &format!("--eth-peer=0,{SINK_MAC}"),
        ],
    );
    peer.wait_ready(60).expect("testpmd");
    peer.cmd("start").expect("testpmd start");
    sw.wait_link_up("m0", 20);
    assert_eq!(status(&sw, "m0", "n_rxq"), "3", "the peer's three queues");
    const ROUNDS: u32 = 200;
    let mut rx = sw.stat("m0", "rx_packets");
    let mut moved = 0;
    let mut peer_stuck = 0;
    for round in 0..ROUNDS {
        let ok = ["stop", "port stop 0", "port start 0", "start"]
            .iter()
            .all(|c| peer.cmd(c).is_ok());
        if !ok {
            peer.restart();
            peer.cmd("start").expect("testpmd start after a restart");
        }
        std::thread::sleep(Duration::from_millis(250));
        sw.check_alive();
        let now = sw.stat("m0", "rx_packets");
        if now > rx {
            moved += 1;
        } else if ok {
            // Nothing arrived yet. The switch is at fault if the peer is
            // connected (link up) and sending, and nothing arrives within
            // another second. Otherwise the peer is: DPDK's memif client
            // garbles its own handshake when stopped and started quickly
            // (leftover INIT/ADD_REGION/CONNECT of the old connection on
            // the new one: the switch refuses it, "Already connected"),
            // then counts frames into a ring nobody reads. Start it afresh.
            let sent = |p: &mut MemifPeer| {
                p.cmd("show port stats 0")
                    .ok()
                    .and_then(|o| parse::parse_port_stats(&o, 0))
                    .map(|s| s.tx_packets)
            };
            let a = sent(&mut peer);
            std::thread::sleep(Duration::from_secs(1));
            let b = sent(&mut peer);
            let now = sw.stat("m0", "rx_packets");
            let up = sw.iface_get("m0", "link_state") == "up";
            let peer_sending = matches!((a, b), (Some(a), Some(b)) if b > a);
            assert!(
                now > rx || !up || !peer_sending,
                "round {round}: the peer is connected and sends ({a:?} -> {b:?} frames) and nothing is received; m0 status {}",
                sw.iface_get("m0", "status")
            );
            if now == rx {
                peer_stuck += 1;
                peer.restart();
                peer.cmd("start").expect("testpmd start after a restart");
            }
        }
        rx = sw.stat("m0", "rx_packets");
    }
    assert!(sw.stat("sink", "tx_packets") > 0, "frames reach the sink");
    println!(
        "{ROUNDS} peer stop/starts under traffic: switch up, received in {moved} rounds, {rx} frames; peer restarted {} times ({peer_stuck} times because its connection failed)",
        peer.restarts
    );
}

#[test]
fn memif_setups_rvswitch_cannot_serve_safely_are_refused() {
    let _g = serial();
    let dir = TestDir::new("memif-refuse");
    let s = socks(&dir, 1);
    let sw = Switch::start("memif-refuse");
    sw.add_bridge("br0", &[]);
    let sock = s[0].display().to_string();
    for (devargs, want) in [
        (
            format!("net_memif0,role=client,socket={sock}"),
            "needs role=server",
        ),
        (
            format!("net_memif0,role=slave,socket={sock}"),
            "needs role=server",
        ),
        (
            format!("net_memif0,socket={sock}"),
            "default is role=client",
        ),
    ] {
        let e = sw.vsctl_err(&[
            "add-port",
            "br0",
            "m0",
            "--",
            "set",
            "interface",
            "m0",
            "type=dpdk",
            &format!("options:dpdk-devargs={devargs}"),
        ]);
        assert!(e.contains(want), "{devargs}: {e}");
    }
    assert!(!sw.show().contains("m0"), "nothing was added");
    // Accepted by vsctl, refused by the daemon with the reason.
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        "m0",
        "--",
        "set",
        "interface",
        "m0",
        "type=dpdk",
        &format!("options:dpdk-devargs=net_memif0,role=server,socket={sock},bogus=1"),
    ]);
    let err = wait_until("m0's error", 10, || {
        let e = sw.iface_get("m0", "error");
        if e.contains("unknown option") {
            Ok(e)
        } else {
            Err(e)
        }
    });
    assert!(err.contains("bogus"), "{err}");
    assert!(!s[0].exists(), "no socket served for a refused interface");
}
