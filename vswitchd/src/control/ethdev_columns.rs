//! What an ethdev port shows in its interface's read-only columns beyond
//! rvswitch's own counters: the NIC's extended statistics, and in `status`
//! the device's limits, offloads, link speed and PCI ids (the queues in
//! use come from `Device::status`), under the
//! keys OVS-DPDK uses.

use std::collections::BTreeMap;

use dpdk::EthDev;

/// What an ethdev adds to `statistics` (the NIC's extended statistics,
/// under DPDK's names, where ours do not already say it) and to `status`
/// (limits, offloads, link speed, PCI ids), as OVS-DPDK
/// reports them.
pub fn eth_columns(
    dev: &EthDev,
    stats: &mut BTreeMap<String, i64>,
    status: &mut BTreeMap<String, String>,
) {
    status.insert("port_no".into(), dev.port().to_string());
    if let Ok(x) = dev.xstats() {
        for (name, v) in x {
            stats.entry(name).or_insert(v as i64);
        }
    }
    if let Ok(i) = dev.info() {
        let has = |list: &[String], o: &str| list.iter().any(|x| x == o);
        let flag = |b: bool| b.to_string();
        let rx = &i.rx_offloads;
        let tx = &i.tx_offloads;
        for (k, v) in [
            ("max_rx_queues", i.max_rx_queues.to_string()),
            ("max_tx_queues", i.max_tx_queues.to_string()),
            ("max_rx_pktlen", i.max_rx_pktlen.to_string()),
            ("min_mtu", i.min_mtu.to_string()),
            ("max_mtu", i.max_mtu.to_string()),
            ("rx_offloads", rx.join(",")),
            ("tx_offloads", tx.join(",")),
            (
                "rx_csum_offload",
                flag(has(rx, "IPV4_CKSUM") && has(rx, "TCP_CKSUM") && has(rx, "UDP_CKSUM")),
            ),
            ("tx_ip_csum_offload", flag(has(tx, "IPV4_CKSUM"))),
            ("tx_tcp_csum_offload", flag(has(tx, "TCP_CKSUM"))),
            ("tx_udp_csum_offload", flag(has(tx, "UDP_CKSUM"))),
            ("tx_sctp_csum_offload", flag(has(tx, "SCTP_CKSUM"))),
            ("tx_tcp_seg_offload", flag(has(tx, "TCP_TSO"))),
        ] {
            status.insert(k.into(), v);
        }
        // A PCI NIC's ethdev is named by its address.
        let sysfs = std::path::Path::new("/sys/bus/pci/devices").join(&i.name);
        for (key, file) in [("pci-vendor_id", "vendor"), ("pci-device_id", "device")] {
            if ctl::env::normalize_pci(&i.name).as_deref() == Some(i.name.as_str()) {
                if let Ok(v) = std::fs::read_to_string(sysfs.join(file)) {
                    status.insert(key.into(), v.trim().to_string());
                }
            }
        }
    }
    if let Ok(l) = dev.link() {
        if l.up && l.speed_mbps > 0 {
            let s = l.speed_mbps;
            let speed = if s % 1000 == 0 {
                format!("{}Gbps", s / 1000)
            } else {
                format!("{s}Mbps")
            };
            status.insert("link_speed".into(), speed);
        }
    }
}
