//! Issue 6, item 4: garbage from a guest, through vhost-user.
//!
//! testpmd plays the guest: it reads hand-made frames from a pcap file
//! (`net_pcap0`, port 0) and forwards them (`io`, paired ports) out of a
//! virtio-user port (port 1) whose vhost-user server socket rvswitch's
//! `vhu0` connects to. In bridge br0, `cap` is a pcap capture port and
//! the frames' destination MAC is statically learned on it.
//!
//! What the switch must do with each kind, and what it counts:
//! - runts shorter than an Ethernet header (1, 6, 13 bytes) and a frame
//!   whose 802.1Q tag is cut off (16 bytes): dropped,
//!   `rx_dropped_malformed`;
//! - longer than the 1500-byte MTU allows (1519 and 9000 bytes; the limit
//!   is MTU + 18 = 1518 without FCS, room for a VLAN tag): dropped,
//!   `rx_dropped_oversize`;
//! - frames whose headers declare more than they carry: IPv4 total length
//!   1500 in a 64-byte frame, IHL 15 in a 34-byte frame, IHL 2, an IPv4
//!   ethertype with no header at all, an 802.3 length field of 1500 in a
//!   64-byte frame: dropped, `rx_dropped_malformed` (the switch checks the
//!   declared lengths of IPv4, IPv6 and 802.3 frames before it switches
//!   them; see `wire::ethernet::declared_lengths_ok`);
//! - an unpadded 42-byte ARP (guests send frames shorter than 60 bytes
//!   over virtio: nothing pads them) and a 1518-byte frame: forwarded as
//!   they are.
//!
//! Every frame is accounted for: `cap` receives exactly the forwarded
//! ones, byte for byte and in order, and the daemon still forwards good
//! frames after the garbage.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use common::*;
use hostile::*;

const CAP_MAC: &str = "02:00:00:00:ca:01";
const GUEST_MAC: &str = "02:00:00:00:90:01";
const COPIES: usize = 3;

#[test]
fn garbage_from_a_guest_is_dropped_and_counted() {
    let _g = serial();
    let dir = TestDir::new("garbage");
    let (dst, src) = (mac(CAP_MAC), mac(GUEST_MAC));
    let junk =
        |n: usize| -> Vec<u8> { (0..n).map(|i| (i as u8).wrapping_mul(29) ^ 0x5a).collect() };

    let mut malformed = vec![junk(1), junk(6), junk(13)];
    let mut cut_tag = eth_frame(dst, src, &[], 0x8100, &[], 0);
    cut_tag.extend_from_slice(&[0x01, 0x2c]);
    malformed.push(cut_tag);
    let udp = pcap::udp_frame(dst, src, 1, 2, 0);
    let mut big = udp.clone();
    big.resize(9000, 0xab);
    let mut over = udp.clone();
    over.resize(1519, 0xcd);
    let oversize = [over, big];
    let mut max = udp.clone();
    max.resize(1518, 0xef);
    let arp = eth_frame(dst, src, &[], 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1], 42);
    let lying = [
        eth_frame(
            dst,
            src,
            &[],
            0x0800,
            &ipv4_payload(0x45, 1500, &[0; 30]),
            64,
        ),
        eth_frame(dst, src, &[], 0x0800, &ipv4_payload(0x4f, 20, &[]), 0),
        eth_frame(dst, src, &[], 0x0800, &ipv4_payload(0x42, 46, &[0; 26]), 64),
        eth_frame(dst, src, &[], 0x0800, &[], 0),
        eth_frame(dst, src, &[], 1500, &[0xaa, 0xaa, 0x03], 64),
    ];
    malformed.extend(lying);
    let forwarded_kinds = [arp, max];
    let mut frames = Vec::new();
    let mut expect_fwd = Vec::new();
    for _ in 0..COPIES {
        frames.extend(malformed.iter().cloned());
        frames.extend(oversize.iter().cloned());
        for f in &forwarded_kinds {
            frames.push(f.clone());
            expect_fwd.push(f.clone());
        }
    }
    // Good frames last: the switch still works after the garbage.
    for i in 0..5 {
        let f = pcap::udp_frame(dst, src, 100 + i, 200, i as u32);
        frames.push(f.clone());
        expect_fwd.push(f);
    }
    let n_malformed = (COPIES * malformed.len()) as u64;
    let n_oversize = (COPIES * oversize.len()) as u64;
    let garbage = dir.join("garbage.pcap");
    pcap::write(&garbage, &frames);
    let out = dir.join("cap-out.pcap");

    let sock = dir.join("vhu0.sock");
    let _ = std::fs::remove_file(&sock);
    let mut guest = Testpmd::with_vdevs(
        &dir.path,
        "guest",
        "0@0,1@0",
        &[
            format!("net_pcap0,rx_pcap={}", garbage.display()),
            format!(
                "net_virtio_user0,path={},server=1,queue_size=1024,mac={GUEST_MAC}",
                sock.display()
            ),
        ],
        "io",
        &[
            "--port-topology=paired",
            "--no-flush-rx",
            "--mbuf-size=10240",
        ],
    );
    wait_until("testpmd's vhost-user socket", 60, || {
        guest.check_alive();
        if sock.exists() {
            Ok(())
        } else {
            Err(guest.log_text())
        }
    });

    let mut sw = start_switch("garbage", "0x2", 1000);
    sw.add_bridge("br0", &[]);
    add_pcap_capture(&sw, "br0", "cap", "net_pcap0", &out, &[]);
    sw.vsctl_ok(&["fdb/add", "br0", "cap", "0", CAP_MAC]);
    add_vhost_port(&sw, "br0", "vhu0", &sock, &[]);
    guest.wait_ready(90);
    sw.wait_link_up("vhu0", 60);
    sw.wait_link_up("cap", 30);
    guest.cmd("start");

    let total = frames.len() as u64;
    wait_until("rvswitch to receive every frame testpmd sent", 60, || {
        sw.check_alive();
        let rx = sw.stat("vhu0", "rx_packets");
        let cap = sw.stat("cap", "tx_packets");
        if rx >= total && cap >= expect_fwd.len() as u64 {
            Ok(())
        } else {
            Err(format!(
                "vhu0 rx {rx} of {total}, cap tx {cap}\n{}",
                guest.log_text()
            ))
        }
    });
    guest.cmd("stop");
    let sent = guest.port_stats(1);
    let v = all_stats(&sw, "vhu0");
    let c = all_stats(&sw, "cap");
    eprintln!(
        "testpmd sent {} frames; vhu0 rx {} malformed {} oversize {}; cap tx {}",
        sent.tx_packets,
        v["rx_packets"],
        v["rx_dropped_malformed"],
        v["rx_dropped_oversize"],
        c["tx_packets"]
    );
    assert_eq!(sent.tx_packets, total, "testpmd sent the whole file");
    assert_eq!(v["rx_packets"], total, "vhu0: {v:?}");
    assert_eq!(
        v["rx_dropped_malformed"], n_malformed,
        "runts and lying lengths: {v:?}"
    );
    assert_eq!(v["rx_dropped_oversize"], n_oversize, "oversize: {v:?}");
    let (drops, names) = named_drops(&v);
    assert_eq!(
        drops,
        n_malformed + n_oversize,
        "other drops on vhu0: {names:?}"
    );
    assert_eq!(c["tx_packets"], expect_fwd.len() as u64, "cap: {c:?}");
    assert_eq!(named_drops(&c).0, 0, "cap: {:?}", named_drops(&c).1);

    let got = wait_until("cap's capture file", 10, || {
        let f = read_pcap(&out);
        if f.len() == expect_fwd.len() {
            Ok(f)
        } else {
            Err(format!("{} frames", f.len()))
        }
    });
    for (i, (g, e)) in got.iter().zip(&expect_fwd).enumerate() {
        assert!(
            g == e,
            "forwarded frame {i} changed on the way: sent {} bytes {:02x?}, got {} bytes {:02x?}",
            e.len(),
            &e[..e.len().min(40)],
            g.len(),
            &g[..g.len().min(40)]
        );
    }
    sw.check_alive();
    guest.check_alive();
}
