//! Issue 6, item 6: vhost-user churn.
//!
//! The testpmd behind vhost-user client port `vhu0` (the "churned" guest:
//! `rxonly`, plus one `tx_first` burst per start towards a static MAC on
//! the sink `n0`) is killed with SIGKILL and started again 20 times,
//! while:
//! - a second testpmd keeps a closed loop of 64 frames running through
//!   `vhu1` and `vhu2` (`mac` forwarding over paired ports; the MACs are
//!   static, so the frames only ever go vhu1 <-> vhu2);
//! - a net_pcap port `p0` replays a flow towards the churned guest's MAC
//!   forever (`infinite_rx`), so the switch is transmitting into `vhu0`
//!   whenever the guest goes away or comes back.
//!
//! Asserted, once the loop is stopped and `p0` removed:
//! - the loop lost nothing: rvswitch's rx and tx on vhu1+vhu2 are equal
//!   and every drop counter of both is zero; everything the loop testpmd
//!   sent reached rvswitch; and exactly the 64 frames of the loop are left
//!   in flight (sent by rvswitch, not yet read by the stopped testpmd):
//!   one frame lost anywhere would leave 63;
//! - the loop kept moving during every one of the 20 restarts;
//! - the churned guest's own frames all reached `n0`;
//! - no leak: `memory/show` "rvs_std mbufs in use" is back to what it was
//!   after the first connect, RSS is within 5% of the first connect's,
//!   and the daemon holds no more file descriptors than before.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use hostile::*;

const M0: &str = "02:00:00:00:c0:00";
const M1: &str = "02:00:00:00:c0:01";
const M2: &str = "02:00:00:00:c0:02";
const MN: &str = "02:00:00:00:c0:0e";
const MP: &str = "02:00:00:00:c0:0f";
const CHURNS: u32 = 20;
/// Frames testpmd's `start tx_first` sends per forwarding stream.
const TX_FIRST: u64 = 32;

fn start_churned(dir: &Path, sock: &Path) -> Testpmd {
    Testpmd::vhost_server(
        dir,
        "churned",
        &[VhostPort {
            sock: sock.to_path_buf(),
            mac: M0.to_string(),
        }],
        "rxonly",
        &[&format!("--eth-peer=0,{MN}")],
    )
}

fn pool_in_use(sw: &Switch) -> u64 {
    *memory_show(sw)
        .get("rvs_std mbufs in use")
        .expect("memory/show reports rvs_std mbufs in use")
}

/// rvswitch's counters of vhu1 and vhu2 once they stop moving.
fn settled(sw: &Switch) -> [std::collections::BTreeMap<String, u64>; 2] {
    wait_until("vhu1 and vhu2 to settle", 10, || {
        let a = [all_stats(sw, "vhu1"), all_stats(sw, "vhu2")];
        std::thread::sleep(Duration::from_millis(200));
        let b = [all_stats(sw, "vhu1"), all_stats(sw, "vhu2")];
        if a == b {
            Ok(b)
        } else {
            Err("still moving".to_string())
        }
    })
}

#[test]
fn restarting_a_guest_twenty_times_costs_the_others_nothing() {
    let _g = serial();
    let dir = TestDir::new("churn");
    let sock: Vec<PathBuf> = (0..3).map(|i| dir.join(&format!("vhu{i}.sock"))).collect();
    let mut looper = Testpmd::vhost_server(
        &dir.path,
        "loop",
        &[
            VhostPort {
                sock: sock[1].clone(),
                mac: M1.to_string(),
            },
            VhostPort {
                sock: sock[2].clone(),
                mac: M2.to_string(),
            },
        ],
        "mac",
        &[
            "--port-topology=paired",
            &format!("--eth-peer=0,{M2}"),
            &format!("--eth-peer=1,{M1}"),
        ],
    );
    let mut churned = start_churned(&dir.path, &sock[0]);

    let mut sw = start_switch("churn", "0x2", 1000);
    sw.add_bridge("br0", &[]);
    add_null_sink(&sw, "br0", "n0", "net_null0", &[]);
    for (i, s) in sock.iter().enumerate().take(3) {
        add_vhost_port(&sw, "br0", &format!("vhu{i}"), s, &[]);
    }
    for (port, m) in [("vhu0", M0), ("vhu1", M1), ("vhu2", M2), ("n0", MN)] {
        sw.vsctl_ok(&["fdb/add", "br0", port, "0", m]);
    }
    looper.wait_ready(90);
    churned.wait_ready(90);
    for p in ["vhu0", "vhu1", "vhu2", "n0"] {
        sw.wait_link_up(p, 60);
    }
    let in_use0 = pool_in_use(&sw);
    let pid = sw.pid().expect("daemon pid");
    let (_, fds0, maps0) = proc_footprint(pid);

    // Traffic.
    let pcap0 = dir.join("p0.pcap");
    pcap::one_flow(&pcap0, 64, mac(M0), mac(MP));
    add_pcap_port(&sw, "br0", "p0", "net_pcap0", &pcap0, true, &[]);
    churned.cmd("start tx_first");
    looper.cmd("start tx_first");
    wait_until("the loop and p0's flow to run", 30, || {
        sw.check_alive();
        let (l, c) = (sw.stat("vhu2", "rx_packets"), sw.stat("vhu0", "tx_packets"));
        if l > 10_000 && c > 10_000 {
            Ok(())
        } else {
            Err(format!("vhu2 rx {l}, vhu0 tx {c}"))
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    let rss_first = memory_show(&sw)["rss kB"];

    let t = Instant::now();
    let mut loop_rx = sw.stat("vhu1", "rx_packets");
    for cycle in 1..=CHURNS {
        signal(churned.pid().expect("churned testpmd pid"), "KILL");
        wait_until(&format!("vhu0 down after kill {cycle}"), 30, || {
            sw.check_alive();
            let s = sw.iface_get("vhu0", "link_state");
            if s == "down" {
                Ok(())
            } else {
                Err(s)
            }
        });
        drop(churned);
        churned = start_churned(&dir.path, &sock[0]);
        churned.wait_ready(60);
        sw.wait_link_up("vhu0", 30);
        churned.cmd("start tx_first");
        looper.check_alive();
        let now_rx = sw.stat("vhu1", "rx_packets");
        assert!(
            now_rx > loop_rx,
            "the loop on vhu1/vhu2 stopped during restart {cycle}"
        );
        loop_rx = now_rx;
    }
    let churn_secs = t.elapsed().as_secs_f64();
    wait_until("p0's flow to reach the last guest", 30, || {
        let rx = churned.port_stats(0).rx_packets;
        if rx > 1000 {
            Ok(())
        } else {
            Err(format!("rx {rx}"))
        }
    });
    let rss_after = memory_show(&sw)["rss kB"];

    // Stop the traffic.
    looper.cmd("stop");
    sw.vsctl_ok(&["del-port", "br0", "p0"]);
    churned.cmd("stop");
    let [v1, v2] = settled(&sw);
    let l0 = looper.port_stats(0);
    let l1 = looper.port_stats(1);
    let v0 = all_stats(&sw, "vhu0");
    let n0 = all_stats(&sw, "n0");
    let in_use = wait_until("rvs_std mbufs in use back to the baseline", 10, || {
        let n = pool_in_use(&sw);
        if n <= in_use0 {
            Ok(n)
        } else {
            Err(format!("{n} in use, {in_use0} after the first connect"))
        }
    });
    let (_, fds, maps) = proc_footprint(pid);
    let rvs_rx = v1["rx_packets"] + v2["rx_packets"];
    let rvs_tx = v1["tx_packets"] + v2["tx_packets"];
    let tp_tx = l0.tx_packets + l1.tx_packets;
    let tp_rx = l0.rx_packets + l1.rx_packets;
    eprintln!(
        "{CHURNS} kills and restarts in {churn_secs:.1} s; loop: rvswitch rx {rvs_rx} tx {rvs_tx}, \
         testpmd tx {tp_tx} rx {tp_rx}; vhu0: rx {} tx {} dropped {:?}; n0 tx {}; \
         mbufs in use {in_use0} -> {in_use}; rss {rss_first} -> {rss_after} kB; \
         fds {fds0} -> {fds}; maps {maps0} -> {maps}",
        v0["rx_packets"],
        v0["tx_packets"],
        named_drops(&v0).1,
        n0["tx_packets"]
    );
    for (name, s) in [("vhu1", &v1), ("vhu2", &v2)] {
        let (sum, names) = named_drops(s);
        assert_eq!(sum, 0, "{name} dropped frames: {names:?}");
    }
    assert_eq!(rvs_rx, rvs_tx, "rvswitch lost loop frames");
    assert_eq!(
        rvs_rx, tp_tx,
        "rvswitch did not receive all the loop testpmd sent"
    );
    assert_eq!(
        rvs_tx - tp_rx,
        2 * TX_FIRST,
        "frames of the loop left in flight (the loop started with {})",
        2 * TX_FIRST
    );
    assert_eq!(
        n0["tx_packets"], v0["rx_packets"],
        "the churned guest's frames did not all reach n0"
    );
    assert!(
        v0["rx_packets"] >= TX_FIRST * u64::from(CHURNS),
        "the churned guests' tx_first bursts: {}",
        v0["rx_packets"]
    );
    assert_eq!(in_use, in_use0, "mbufs in use");
    let grow = rss_after as f64 / rss_first as f64;
    assert!(
        (0.95..=1.05).contains(&grow),
        "RSS {rss_first} kB after the first connect, {rss_after} kB after {CHURNS} restarts"
    );
    assert!(fds <= fds0, "file descriptors {fds0} -> {fds}");
    sw.check_alive();
}
