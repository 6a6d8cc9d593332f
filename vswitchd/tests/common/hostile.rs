//! Helpers for the hostile-traffic tests (issue 6, `hostile_*.rs`): a
//! daemon with a chosen PMD core and idle sleep, ports made of DPDK vdevs
//! (pcap sources and captures, null sinks), frame builders, a pcap reader
//! and a streaming writer, a raw-socket frame injector that works inside
//! a network namespace, a "wire" namespace that joins two veths so frames
//! can be injected onto a link that only one end sees, and parsers for
//! `memory/show`, `lacp/show-stats` and `pmd-stats-show`.
//!
//! Not declared in `mod.rs` (other engineers edit it): a test includes it
//! with `#[path = "common/hostile.rs"] mod hostile;` next to `mod common;`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{run_ok, Netns, Switch};

// ------------------------------------------------------------------ daemon

/// Start a daemon in its own namespace (IPv6 off there, so the kernel
/// never sends router solicitations or MLD reports out of the internal
/// ports' TAP devices: every frame a test counts is one it sent), then set
/// the EAL globals: main lcore 0, PMD on the cores of `pmd_mask`, 512 MB,
/// its own file prefix, and an idle PMD sleeping up to `max_sleep_us`
/// (OVS `pmd-maxsleep`; 0 = busy-poll).
pub fn start_switch(name: &str, pmd_mask: &str, max_sleep_us: u32) -> Switch {
    let sw = Switch::start_with(name, pmd_mask, &[format!("pmd-maxsleep={max_sleep_us}")]);
    for key in ["all", "default"] {
        let o = sw.netns.exec(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
        ]);
        assert!(o.status.success(), "sysctl in {}", sw.netns.name);
    }
    sw
}

/// `add-port BR PORT [port_settings...] -- set Interface PORT type=dpdk
/// options:dpdk-devargs="DEVARGS"`.
pub fn add_dpdk_port(sw: &Switch, br: &str, port: &str, devargs: &str, port_settings: &[&str]) {
    let dev = format!("options:dpdk-devargs=\"{devargs}\"");
    let mut args = vec!["add-port", br, port];
    args.extend_from_slice(port_settings);
    args.extend_from_slice(&["--", "set", "Interface", port, "type=dpdk", &dev]);
    sw.vsctl_ok(&args);
}

/// A `net_pcap` source replaying `pcap` (once, or forever with `infinite`:
/// the PMD then holds every frame of the file in an mbuf).
pub fn add_pcap_port(
    sw: &Switch,
    br: &str,
    port: &str,
    vdev: &str,
    pcap: &Path,
    infinite: bool,
    port_settings: &[&str],
) {
    let mut devargs = format!("{vdev},rx_pcap={}", pcap.display());
    if infinite {
        devargs.push_str(",infinite_rx=1");
    }
    add_dpdk_port(sw, br, port, &devargs, port_settings);
}

/// A `net_null` port that receives nothing and accepts everything.
pub fn add_null_sink(sw: &Switch, br: &str, port: &str, vdev: &str, port_settings: &[&str]) {
    add_dpdk_port(sw, br, port, &format!("{vdev},no-rx=1"), port_settings);
}

/// A `net_pcap` port that receives nothing and writes every frame it is
/// given to `out` (flushed after each burst).
pub fn add_pcap_capture(
    sw: &Switch,
    br: &str,
    port: &str,
    vdev: &str,
    out: &Path,
    port_settings: &[&str],
) {
    add_dpdk_port(
        sw,
        br,
        port,
        &format!("{vdev},tx_pcap={}", out.display()),
        port_settings,
    );
}

/// A dpdkvhostuserclient port whose server (testpmd) listens on `sock`.
pub fn add_vhost_port(sw: &Switch, br: &str, port: &str, sock: &Path, port_settings: &[&str]) {
    let path = format!("options:vhost-server-path={}", sock.display());
    let mut args = vec!["add-port", br, port];
    args.extend_from_slice(port_settings);
    args.extend_from_slice(&[
        "--",
        "set",
        "Interface",
        port,
        "type=dpdkvhostuserclient",
        &path,
    ]);
    sw.vsctl_ok(&args);
}

/// Every statistics counter of `iface` at once (`vsctl get Interface
/// IFACE statistics` reads them in one request, so they belong to the
/// same moment, give or take the burst a PMD is in).
pub fn all_stats(sw: &Switch, iface: &str) -> BTreeMap<String, u64> {
    let out = sw.vsctl_ok(&["get", "Interface", iface, "statistics"]);
    let m: BTreeMap<String, u64> = out
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((
                k.trim().trim_matches('"').to_string(),
                v.trim().parse().ok()?,
            ))
        })
        .collect();
    assert!(m.contains_key("rx_packets"), "statistics of {iface}: {out}");
    m
}

/// Sum of every `rx_dropped_*` and `tx_dropped_*` counter in `stats`,
/// with the names of the non-zero ones.
pub fn named_drops(stats: &BTreeMap<String, u64>) -> (u64, Vec<String>) {
    let mut sum = 0;
    let mut names = Vec::new();
    for (k, v) in stats {
        if (k.starts_with("rx_dropped_") || k.starts_with("tx_dropped_")) && *v > 0 {
            sum += v;
            names.push(format!("{k}={v}"));
        }
    }
    (sum, names)
}

/// `vsctl memory/show` as `key -> value`.
pub fn memory_show(sw: &Switch) -> BTreeMap<String, u64> {
    sw.vsctl_ok(&["memory/show"])
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(':')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// One member's `lacp/show-stats` counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LacpStats {
    pub tx_pdus: u64,
    pub rx_pdus: u64,
    pub rx_bad_pdus: u64,
    pub link_expired: u64,
    pub link_defaulted: u64,
    pub carrier_changes: u64,
}

/// `vsctl lacp/show-stats BOND`, by member.
pub fn lacp_stats(sw: &Switch, bond: &str) -> BTreeMap<String, LacpStats> {
    let text = sw.vsctl_ok(&["lacp/show-stats", bond]);
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, LacpStats)> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("member:") {
            if let Some((n, s)) = cur.take() {
                out.insert(n, s);
            }
            let name = rest.trim().trim_end_matches(':').trim().to_string();
            cur = Some((name, LacpStats::default()));
            continue;
        }
        let (Some((_, s)), Some((k, v))) = (cur.as_mut(), line.split_once(':')) else {
            continue;
        };
        let Ok(v) = v.trim().parse::<u64>() else {
            continue;
        };
        match k.trim() {
            "TX PDUs" => s.tx_pdus = v,
            "RX PDUs" => s.rx_pdus = v,
            "RX Bad PDUs" => s.rx_bad_pdus = v,
            "Link Expired" => s.link_expired = v,
            "Link Defaulted" => s.link_defaulted = v,
            "Carrier Status Changed" => s.carrier_changes = v,
            _ => {}
        }
    }
    if let Some((n, s)) = cur.take() {
        out.insert(n, s);
    }
    out
}

/// What `dpif-netdev/pmd-stats-show` says about the (first) PMD.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PmdStatsShow {
    pub packets: u64,
    pub idle_cycles: u64,
    pub processing_cycles: u64,
    pub text: String,
}

impl PmdStatsShow {
    /// Processing cycles as a share of all cycles, in percent.
    pub fn busy_percent(&self) -> f64 {
        let all = self.idle_cycles + self.processing_cycles;
        if all == 0 {
            0.0
        } else {
            100.0 * self.processing_cycles as f64 / all as f64
        }
    }
}

pub fn pmd_stats(sw: &Switch) -> PmdStatsShow {
    let text = sw.vsctl_ok(&["dpif-netdev/pmd-stats-show"]);
    let num = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    PmdStatsShow {
        packets: num("packets received:"),
        idle_cycles: num("idle cycles:"),
        processing_cycles: num("processing cycles:"),
        text: text.clone(),
    }
}

/// Lines of the daemon's log that contain `needle`.
pub fn log_lines(sw: &Switch, needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&std::fs::read(&sw.log).unwrap_or_default())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// `(VmRSS kB, open file descriptors, memory mappings)` of process `pid`.
pub fn proc_footprint(pid: u32) -> (u64, usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|m| m.lines().count())
        .unwrap_or(0);
    (rss, fds, maps)
}

// ------------------------------------------------------------------ frames

/// A MAC address from its text form (`02:00:00:00:00:01`).
pub fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    assert_eq!(parts.len(), 6, "bad MAC {s}");
    for (b, p) in m.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("bad MAC {s}"));
    }
    m
}

/// An Ethernet frame: `dst`, `src`, then each `(tpid, vid)` tag in order
/// (outer first), then `ethertype` and `payload`, padded with zeros to
/// `min_len` bytes.
pub fn eth_frame(
    dst: [u8; 6],
    src: [u8; 6],
    tags: &[(u16, u16)],
    ethertype: u16,
    payload: &[u8],
    min_len: usize,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for (tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < min_len {
        f.resize(min_len, 0);
    }
    f
}

/// A 20-byte IPv4 header (checksum set) with the given version/IHL byte
/// and total length, UDP 10.0.0.1 -> 10.0.0.2, then `rest`.
pub fn ipv4_payload(ver_ihl: u8, total_len: u16, rest: &[u8]) -> Vec<u8> {
    let mut ip = [0u8; 20];
    ip[0] = ver_ihl;
    ip[2..4].copy_from_slice(&total_len.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let mut sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let mut v = ip.to_vec();
    v.extend_from_slice(rest);
    v
}

// ------------------------------------------------------------------ pcap

/// A pcap file written frame by frame (microsecond timestamps, Ethernet),
/// for files too large to build in memory first.
pub struct PcapWriter {
    out: BufWriter<std::fs::File>,
    n: u64,
}

impl PcapWriter {
    pub fn create(path: &Path) -> PcapWriter {
        let f = std::fs::File::create(path).expect("create pcap file");
        let mut out = BufWriter::with_capacity(1 << 20, f);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&h).expect("write pcap header");
        PcapWriter { out, n: 0 }
    }

    pub fn push(&mut self, frame: &[u8]) {
        let len = frame.len() as u32;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((self.n / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((self.n % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&rec).expect("write pcap record");
        self.out.write_all(frame).expect("write pcap frame");
        self.n += 1;
    }

    pub fn finish(mut self) -> u64 {
        self.out.flush().expect("flush pcap file");
        self.n
    }
}

/// The frames of a pcap file (microsecond or nanosecond, either byte
/// order); a truncated last record is ignored.
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap_or_default();
    let Some(magic) = b.get(0..4) else {
        return Vec::new();
    };
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return Vec::new(),
    };
    let u32_at = |at: usize| -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        })
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while let Some(caplen) = u32_at(at + 8) {
        let start = at + 16;
        let Some(f) = b.get(start..start + caplen as usize) else {
            break;
        };
        frames.push(f.to_vec());
        at = start + caplen as usize;
    }
    frames
}

// ------------------------------------------------------------------ raw frames into a namespace

/// An AF_PACKET socket bound to one interface of a network namespace,
/// for sending hand-made frames onto its wire.
#[derive(Debug)]
pub struct RawSender {
    fd: OwnedFd,
    ifindex: i32,
    pub dev: String,
}

impl RawSender {
    /// Open it on `dev` in namespace `netns` (`ip netns` name). The socket
    /// is made on a short-lived thread that enters the namespace; once
    /// made it belongs to that namespace and any thread may use it.
    pub fn open(netns: &str, dev: &str) -> RawSender {
        let (ns, d) = (netns.to_string(), dev.to_string());
        std::thread::spawn(move || -> Result<RawSender, String> {
            let f = std::fs::File::open(format!("/var/run/netns/{ns}"))
                .map_err(|e| format!("open netns {ns}: {e}"))?;
            // SAFETY: `f` is an open namespace file; setns changes the
            // network namespace of this thread only, which ends right after.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!("setns {ns}: {}", std::io::Error::last_os_error()));
            }
            // Protocol 0: the socket only sends, it receives nothing.
            // SAFETY: plain socket(2) call; the result is checked.
            let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            if raw < 0 {
                return Err(format!("socket: {}", std::io::Error::last_os_error()));
            }
            // SAFETY: `raw` is a descriptor we just opened and own alone.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            let cname = CString::new(d.clone()).map_err(|e| e.to_string())?;
            // SAFETY: `cname` is a valid NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
            if ifindex == 0 {
                return Err(format!("no interface {d} in {ns}"));
            }
            Ok(RawSender {
                fd,
                ifindex: ifindex as i32,
                dev: d,
            })
        })
        .join()
        .expect("raw socket thread")
        .unwrap_or_else(|e| panic!("raw socket on {dev} in {netns}: {e}"))
    }

    /// Send one frame as is; whether the kernel took it.
    pub fn send(&self, frame: &[u8]) -> bool {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_ifindex = self.ifindex;
        sa.sll_halen = 6;
        if let Some(d) = frame.get(0..6) {
            sa.sll_addr[..6].copy_from_slice(d);
        }
        // SAFETY: the buffer and the address are valid for the lengths
        // given, and the descriptor is open.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        n == frame.len() as isize
    }

    /// Send every frame; how many the kernel took.
    pub fn send_all(&self, frames: &[Vec<u8>]) -> usize {
        frames.iter().filter(|f| self.send(f)).count()
    }
}

// ------------------------------------------------------------------ a wire to inject onto

/// A namespace that acts as a cable between two veths: every frame that
/// enters `near` leaves through `far` and the other way round (tc `u32`
/// match-all + `mirred` redirect). Frames sent with a [`RawSender`] on
/// `near` reach only the device at the near end, as from a tap spliced
/// into the cable. Dropped (with its devices) when it goes out of scope.
#[derive(Debug)]
pub struct Wire {
    pub netns: Netns,
    pub near: String,
    pub far: String,
}

impl Wire {
    /// Connect `near_dev` in `near_ns` to `far_dev` in `far_ns` through a
    /// wire namespace `wire-<what>`; `near`/`far` are the wire's own ends.
    pub fn new(what: &str, near_ns: &Netns, near_dev: &str, far_ns: &Netns, far_dev: &str) -> Wire {
        let netns = Netns::new(&format!("wire-{what}"));
        let (near, far) = ("wn".to_string(), "wf".to_string());
        for (dev, ns, end) in [(&near, near_ns, near_dev), (&far, far_ns, far_dev)] {
            netns.ip(&[
                "link", "add", dev, "type", "veth", "peer", "name", end, "netns", &ns.name,
            ]);
            let _ = ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{end}.disable_ipv6=1"),
            ]);
            let _ = netns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ]);
            ns.ip(&["link", "set", end, "up"]);
            netns.ip(&["link", "set", dev, "up"]);
        }
        for (from, to) in [(&near, &far), (&far, &near)] {
            run_ok(Command::new("ip").args([
                "netns",
                "exec",
                &netns.name,
                "tc",
                "qdisc",
                "add",
                "dev",
                from,
                "ingress",
            ]));
            run_ok(Command::new("ip").args([
                "netns",
                "exec",
                &netns.name,
                "tc",
                "filter",
                "add",
                "dev",
                from,
                "parent",
                "ffff:",
                "protocol",
                "all",
                "u32",
                "match",
                "u32",
                "0",
                "0",
                "action",
                "mirred",
                "egress",
                "redirect",
                "dev",
                to,
            ]));
        }
        Wire { netns, near, far }
    }

    /// A sender that puts frames on the cable towards the near end.
    pub fn injector(&self) -> RawSender {
        RawSender::open(&self.netns.name, &self.near)
    }
}

/// Elapsed time of `f`, with its result.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}
