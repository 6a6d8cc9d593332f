//! What an ethdev port shows beyond rvswitch's own counters, and retrying
//! an interface in error:
//! - `status` has the queues in use (`n_rxq`, `n_txq`), the device's
//!   limits and its offloads under OVS-DPDK's keys; `statistics` has the
//!   NIC's extended statistics (`rx_good_packets`, ...) and
//!   `device_removals`.
//! - An interface whose device could not be opened (a pcap file that does
//!   not exist yet) is retried by the next configuration write, and keeps
//!   working from then on.

mod common;

use common::lacp::add_pcap_source;
use common::*;

fn status(sw: &Switch, iface: &str, key: &str) -> String {
    sw.iface_get(iface, &format!("status:{key}"))
}

#[test]
fn ethdev_status_statistics_and_retry() {
    let _g = serial();
    let dir = TestDir::new("niccols");
    let mut sw = Switch::start("niccols");
    sw.add_bridge("br0", &[]);
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        "n",
        "--",
        "set",
        "Interface",
        "n",
        "type=dpdk",
        "options:dpdk-devargs=\"net_null0,no-rx=1\"",
        "options:n_rxq=2",
    ]);
    sw.wait_link_up("n", 10);
    assert_eq!(status(&sw, "n", "n_rxq"), "2");
    let n_txq: u32 = status(&sw, "n", "n_txq").parse().unwrap();
    assert!(n_txq >= 1);
    assert!(status(&sw, "n", "max_rx_queues").parse::<u32>().unwrap() >= 2);
    for key in [
        "tx_tcp_seg_offload",
        "tx_ip_csum_offload",
        "rx_csum_offload",
    ] {
        let v = status(&sw, "n", key);
        assert!(v == "true" || v == "false", "{key}={v}");
    }
    let stats = sw.iface_get("n", "statistics");
    for key in ["rx_good_packets=", "tx_good_packets=", "device_removals=0"] {
        assert!(stats.contains(key), "no {key} in {stats}");
    }

    // A source whose file is not there yet: the interface is in error.
    let src = dir.join("late.pcap");
    let frames: Vec<Vec<u8>> = (0..100u32)
        .map(|i| pcap::udp_frame([0xff; 6], [0x02, 0, 0, 0, 0, 1], 1000, 2000, i))
        .collect();
    add_pcap_source(&sw, "br0", "s", "net_pcap0", &src);
    let err = sw.iface_get("s", "error");
    assert!(
        err.contains("late.pcap"),
        "no error for a missing file: {err}"
    );
    assert_eq!(sw.stat("s", "rx_packets"), 0);
    // The file appears; any configuration write retries the interface.
    pcap::write(&src, &frames);
    sw.vsctl_ok(&["set", "bridge", "br0", "external_ids:retry=1"]);
    wait_until("the late source delivers", 10, || {
        let n = sw.stat("s", "rx_packets");
        if n >= 100 {
            Ok(())
        } else {
            Err(format!("{n} of 100; error {}", sw.iface_get("s", "error")))
        }
    });
    assert_eq!(sw.iface_get("s", "error"), "[]");
    sw.check_alive();
}
