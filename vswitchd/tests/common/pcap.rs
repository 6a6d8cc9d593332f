//! pcap files for `net_pcap` traffic sources (`rx_pcap=FILE`).

use std::path::Path;

/// A 64-byte Ethernet/IPv4/UDP frame (no FCS) from `src` to `dst`,
/// 10.0.0.1:`sport` -> 10.0.0.2:`dport`, IPv4 checksum set.
pub fn udp_frame(dst: [u8; 6], src: [u8; 6], sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_len: u16 = 64 - 14;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[8] = 64; // TTL
    ip[9] = 17; // UDP
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let mut sum: u32 = 0;
    for w in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    let udp_len: u16 = ip_len - 20;
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum
    f.extend_from_slice(&seq.to_be_bytes());
    f.resize(64, 0);
    f
}

/// Write `frames` to a pcap file (microsecond timestamps, Ethernet).
pub fn write(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::with_capacity(24 + frames.len() * 80);
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        let len = f.len() as u32;
        out.extend_from_slice(&((i / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((i % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap file");
}

/// A pcap of `n` frames of one UDP flow from `src` to `dst`.
pub fn one_flow(path: &Path, n: usize, dst: [u8; 6], src: [u8; 6]) {
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|i| udp_frame(dst, src, 1000, 2000, i as u32))
        .collect();
    write(path, &frames);
}
