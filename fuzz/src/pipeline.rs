//! The whole burst pipeline driven by fuzzer bytes and checked, after every
//! polling iteration, against a model of where each frame must go.
//!
//! The first bytes build one bridge: two to five ports in every VLAN mode
//! (access, trunk, native-tagged, native-untagged, with small trunk lists
//! around a handful of VLANs so that frames hit them), some of them bonds
//! whose view comes from a real [`Bond`] machine (or one the input then
//! distorts, to check the pipeline copes with any view), interfaces with
//! their link, admin state, MTU and LACP flag, a tiny MAC table (10 to 25
//! entries, so eviction happens) with some static entries, transmit queues
//! with little room and a small ring to the control thread. The rest is a
//! sequence of operations: polling iterations of one to three bursts of up
//! to 32 frames (arbitrary bytes, or frames built around Ethernet, 802.1Q,
//! IPv4/IPv6/ARP and Slow Protocols headers, of any length), clock steps
//! with MAC aging and bond timers, and reconfigurations (links, VLANs, bond
//! views, static entries, table size, queue room).
//!
//! After each iteration, for every frame received (see [`Switch::model`]):
//! `rx_packets`/`rx_bytes` count it on its interface; it went to the
//! control ring, or was dropped with exactly the one `rx_dropped_*` counter
//! the model predicts, or was offered to exactly the ports the model
//! predicts (the unicast port or every flood target, never the ingress
//! port); each such offer ended either transmitted or counted by exactly one
//! `tx_dropped_*` counter of that port or its interfaces; what was
//! transmitted is byte for byte the frame with the VLAN edit the egress
//! port's rule calls for (so untagged only where the port sends that VLAN
//! untagged, tagged only with a VID the port carries tagged); byte counters
//! match; an untagged Slow Protocols frame is never forwarded, and no frame
//! to an 802.1D reserved group address (01:80:c2:00:00:02 included) is ever
//! transmitted; the MAC table never exceeds its size and
//! holds only learnable entries; a faithful bond view only sends on enabled
//! members (the active one in active-backup).

use std::sync::Arc;

use datapath::bond::{Admit, Bond, BondConfig, BondMode, BondView, NO_MEMBER};
use datapath::counters::{Counter, N_COUNTERS};
use datapath::hash;
use datapath::mac_table::MacTable;
use datapath::mem::{MemPacket, MemTxQueue, MEM_BUF_SIZE, MEM_HEADROOM};
use datapath::packet::{Burst, Packet, BURST};
use datapath::pipeline::{
    BondPort, BridgeView, BucketLoads, Counters, IfaceIdx, IfaceView, Pmd, PortIdx, PortKind,
    PortView, Snapshot, NO_BRIDGE,
};
use datapath::testkit::MemIo;
use datapath::time::Millis;
use datapath::vlan::{EgressAction, PortVlan, VlanMode, VlanSet};
use datapath::wire::arp::ArpPacket;
use datapath::wire::ethernet::{
    declared_lengths_ok, parse_l2, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ,
    ETHERTYPE_SLOW, ETHERTYPE_VLAN,
};
use datapath::wire::ip::FiveTuple;
use datapath::wire::MacAddr;

use crate::bytes::Bytes;

/// Print what the harness does when `RVSWITCH_FUZZ_TRACE` is set (to read
/// a failing input: `RVSWITCH_FUZZ_TRACE=1 cargo +nightly fuzz run
/// pipeline <crash file>`).
macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("RVSWITCH_FUZZ_TRACE").is_some())
}

/// VLAN IDs the configuration and the frames favour (4095 only in frames).
const VIDS: [u16; 7] = [0, 1, 2, 3, 100, 4094, 4095];
/// Most operations in one input.
const MAX_OPS: usize = 48;

/// Run one fuzz input. Panics when an invariant breaks.
pub fn run(data: &[u8]) {
    run_reach(data, &mut Reach::default());
}

/// What runs reached, summed: to judge how deep a corpus goes (see
/// `examples/pipeline_reach.rs`).
#[derive(Debug, Clone)]
pub struct Reach {
    /// Checked polling iterations.
    pub iterations: u64,
    /// Frames handed to the control thread.
    pub control: u64,
    /// Frames transmitted.
    pub sent: u64,
    /// Every counter, summed over interfaces and ports.
    pub counters: [u64; N_COUNTERS],
    /// MAC table evictions.
    pub evicted: u64,
}

impl Default for Reach {
    fn default() -> Self {
        Reach {
            iterations: 0,
            control: 0,
            sent: 0,
            counters: [0; N_COUNTERS],
            evicted: 0,
        }
    }
}

/// [`run`], adding what it reached to `reach`.
pub fn run_reach(data: &[u8], reach: &mut Reach) {
    let mut b = Bytes::new(data);
    let mut sw = Switch::build(&mut b);
    for _ in 0..MAX_OPS {
        if b.is_empty() {
            break;
        }
        match b.below(12) {
            0 => sw.advance(&mut b),
            1 | 2 => sw.reconfigure(&mut b),
            _ => sw.iteration(&mut b, reach),
        }
    }
    reach.evicted += sw.mac().stats().evicted;
}

/// A bond port's machine, and whether its view is exactly the machine's.
struct BondState {
    bond: Bond,
    faithful: bool,
}

/// The switch under test and its surroundings.
struct Switch {
    snap: Snapshot,
    pmd: Pmd<MemPacket>,
    io: MemIo,
    now: Millis,
    /// Per port: its bond machine, if it is a bond.
    bonds: Vec<Option<BondState>>,
    /// Per interface: what its transmit queue accepts per call.
    room: Vec<Option<usize>>,
    /// The last frame generated, to repeat with a twist (decision cache runs).
    prev: Option<Frame>,
}

/// One received frame and how its buffer behaves.
#[derive(Clone, Debug)]
struct Frame {
    bytes: Vec<u8>,
    headroom: usize,
    copy_fails: bool,
    rss: Option<u32>,
}

impl Frame {
    fn packet(&self) -> MemPacket {
        let mut p = MemPacket::with_headroom(&self.bytes, self.headroom)
            .expect("the generator keeps frames within the buffer");
        p.set_copy_fails(self.copy_fails);
        p.set_rss_hash(self.rss);
        p
    }
}

/// What the pipeline must do with one received frame.
#[derive(Debug)]
enum Fate {
    /// Count this drop on the ingress interface.
    Drop(Counter),
    /// Hand it to the control thread (or count the ring full).
    Control,
    /// Offer it to these ports, in this order: it came with tag `vid` and
    /// is in `vlan`; `src`, `l3` and `ethertype` feed the bond hashes.
    Out {
        vid: Option<u16>,
        vlan: u16,
        src: MacAddr,
        l3: usize,
        ethertype: u16,
        ports: Vec<PortIdx>,
    },
}

/// What one iteration must do, built by the model before the frames run.
struct Expect {
    /// Per interface: expected deltas of the receive-side counters.
    rx: Vec<[u64; N_COUNTERS]>,
    /// Per interface: expected deltas of the `tx_dropped_*` counters other
    /// than `tx_dropped_full` (which [`Expect::queued`] decides).
    iface_tx: Vec<[u64; N_COUNTERS]>,
    /// Per port: expected deltas of its own `tx_dropped_*` counters.
    port_tx: Vec<[u64; N_COUNTERS]>,
    /// Per interface: the frames queued for it, in order, as they leave.
    queued: Vec<Vec<Vec<u8>>>,
    /// Per port: frames (copies included) offered for transmission.
    offers: Vec<u64>,
    /// Per bond port: bytes per hash bucket.
    loads: Vec<[u64; 256]>,
    /// Frames for the control thread, in order.
    control: Vec<(IfaceIdx, Vec<u8>)>,
    /// Room left in the control ring.
    control_room: usize,
    /// Sources the current burst must learn.
    learns: Vec<Learnt>,
}

/// One frame (or copy) offered to a port, and what decides its fate there.
struct Offer<'a> {
    data: &'a [u8],
    vid: Option<u16>,
    vlan: u16,
    src: MacAddr,
    l3: usize,
    ethertype: u16,
    headroom: usize,
    rss: Option<u32>,
}

/// A source address a frame must teach the MAC table.
#[derive(Debug)]
struct Learnt {
    vlan: u16,
    mac: MacAddr,
    port: PortIdx,
}

/// A port's interfaces and bond view, short, for traces.
fn kind_summary(k: &PortKind) -> String {
    match k {
        PortKind::Single(i) => format!("iface {i}"),
        PortKind::Bond(b) => {
            let v = &b.view;
            format!(
                "bond ifaces {:?}: {:?} up {} enabled {:#x} active {:?} lacp {} buckets {:?}..",
                b.ifaces,
                v.mode,
                v.up,
                v.enabled,
                v.active,
                v.lacp_negotiated,
                &v.buckets[..8]
            )
        }
    }
}

fn is_rx_counter(c: Counter) -> bool {
    c.name().starts_with("rx_")
}

fn is_tx_offer_counter(c: Counter) -> bool {
    c == Counter::TxPackets || c.name().starts_with("tx_dropped_")
}

fn vlan_set(b: &mut Bytes) -> VlanSet {
    let mask = b.u8();
    let mut s = VlanSet::empty();
    for (i, &v) in VIDS[..6].iter().enumerate() {
        if mask & (1 << i) != 0 {
            s.insert(v);
        }
    }
    if mask & 0x40 != 0 {
        let v = b.u16() & 0xfff;
        if v <= 4094 {
            s.insert(v);
        }
    }
    s
}

fn port_vlan(b: &mut Bytes) -> PortVlan {
    let tag = b.pick(&[1, 2, 3, 100, 4094, 0]);
    let mode = match b.below(5) {
        0 => Some(VlanMode::Access),
        1 => Some(VlanMode::Trunk),
        2 => Some(VlanMode::NativeTagged),
        3 => Some(VlanMode::NativeUntagged),
        _ => None,
    };
    let tag = if mode == Some(VlanMode::Trunk) || (mode.is_none() && b.bool()) {
        None
    } else {
        Some(tag)
    };
    let trunks = vlan_set(b);
    PortVlan::new(mode, tag, &trunks).unwrap_or_else(|_| PortVlan::access(1))
}

/// A station address: mostly one of eight unicast hosts, or one of 64 (to
/// fill the MAC table), sometimes a group address (broadcast, IPv4
/// multicast, 802.1D reserved, Slow Protocols) or anything.
fn station(b: &mut Bytes) -> MacAddr {
    match b.below(24) {
        n @ 0..=11 => MacAddr([0x52, 0x54, 0, 0, 0, (n % 8) as u8]),
        12 | 13 => MacAddr([0x52, 0x54, 0, 0, 1, b.u8() % 64]),
        14 => MacAddr::BROADCAST,
        15 => MacAddr([0x01, 0x00, 0x5e, 0, 0, b.u8()]),
        16 => MacAddr([0x01, 0x80, 0xc2, 0, 0, b.u8() & 0x0f]),
        17 => MacAddr::SLOW_PROTOCOLS,
        18 => MacAddr::ZERO,
        19 => MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x10 | (b.u8() & 0x0f)]),
        _ => {
            let r = b.take(6);
            let mut m = [0u8; 6];
            m[..r.len()].copy_from_slice(r);
            MacAddr(m)
        }
    }
}

fn push_u16(f: &mut Vec<u8>, v: u16) {
    f.extend_from_slice(&v.to_be_bytes());
}

fn ipv4(b: &mut Bytes, f: &mut Vec<u8>) {
    let vi = b.pick_or(&[0x45, 0x45, 0x45, 0x46, 0x4f, 0x44, 0x55], Bytes::u8);
    let ihl = usize::from(vi & 0x0f).max(5) * 4;
    let proto = b.pick_or(&[17, 6, 132, 1, 47], Bytes::u8);
    let payload = b.below(40);
    let total = if b.chance(200) {
        (ihl + 8 + payload) as u16
    } else {
        b.u16() % 120
    };
    let frag = b.pick_or(&[0x4000, 0, 0x2000, 0x0001, 0x2010], Bytes::u16);
    f.push(vi);
    f.push(b.u8());
    push_u16(f, total);
    push_u16(f, b.u16());
    push_u16(f, frag);
    f.push(64);
    f.push(proto);
    push_u16(f, 0);
    f.extend_from_slice(&[10, 0, 0, b.u8() % 4]);
    f.extend_from_slice(&[10, 0, 1, b.u8() % 4]);
    for _ in 20..ihl {
        f.push(b.u8());
    }
    push_u16(f, b.u16());
    push_u16(f, b.pick(&[80, 443, 53, 4789]));
    f.extend_from_slice(&[0; 4]);
    f.resize(f.len() + payload, 0);
}

fn ipv6(b: &mut Bytes, f: &mut Vec<u8>) {
    let next = b.pick_or(&[17, 6, 0, 43, 44, 60, 59], Bytes::u8);
    let payload = 8 + b.below(40);
    f.extend_from_slice(&[0x60, 0, 0, b.u8()]);
    push_u16(
        f,
        if b.chance(200) {
            payload as u16
        } else {
            b.u16()
        },
    );
    f.push(next);
    f.push(64);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b.u8()]);
    f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b.u8()]);
    if matches!(next, 0 | 43 | 60) {
        // A one-unit extension header, then UDP.
        f.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]);
    }
    push_u16(f, b.u16());
    push_u16(f, b.u16());
    f.resize(f.len() + payload - 4, 0);
}

fn arp(b: &mut Bytes, f: &mut Vec<u8>, src: MacAddr) {
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, b.pick(&[1, 2])]);
    f.extend_from_slice(&src.0);
    let spa = [10, 0, 0, b.u8() % 4];
    f.extend_from_slice(&spa);
    f.extend_from_slice(&[0; 6]);
    if b.bool() {
        // Gratuitous: target address = sender address.
        f.extend_from_slice(&spa);
    } else {
        f.extend_from_slice(&[10, 0, 0, b.u8() % 4]);
    }
}

/// A frame around real headers, then stretched or cut.
fn structured(b: &mut Bytes) -> Vec<u8> {
    let dst = station(b);
    let src = station(b);
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    for _ in 0..b.pick(&[0, 0, 1, 1, 1, 2]) {
        let tpid = b.pick(&[
            ETHERTYPE_VLAN,
            ETHERTYPE_VLAN,
            ETHERTYPE_VLAN,
            ETHERTYPE_QINQ,
            0x9100,
        ]);
        let vid = if b.chance(220) {
            b.pick(&VIDS)
        } else {
            b.u16() & 0xfff
        };
        let tci = (u16::from(b.u8() & 0x0f) << 12) | vid;
        push_u16(&mut f, tpid);
        push_u16(&mut f, tci);
    }
    let et = b.pick_or(
        &[
            ETHERTYPE_IPV4,
            ETHERTYPE_IPV4,
            ETHERTYPE_IPV6,
            ETHERTYPE_ARP,
            ETHERTYPE_SLOW,
            ETHERTYPE_VLAN,
            0x88cc,
        ],
        Bytes::u16,
    );
    push_u16(&mut f, et);
    match et {
        ETHERTYPE_IPV4 => ipv4(b, &mut f),
        ETHERTYPE_IPV6 => ipv6(b, &mut f),
        ETHERTYPE_ARP => arp(b, &mut f, src),
        ETHERTYPE_SLOW => {
            f.extend_from_slice(&[b.pick(&[1, 2, 3, 10]), 1]);
            let n = b.below(64);
            f.extend_from_slice(b.take(n));
        }
        _ => {
            let n = b.below(48);
            f.extend_from_slice(b.take(n));
        }
    }
    match b.below(10) {
        0 => {
            let n = b.below(f.len() + 1);
            f.truncate(n);
        }
        1 => f.resize(
            b.pick(&[1514, 1518, 1519, 1522, 1523, 1600, 9018, 9019]),
            0x5a,
        ),
        2 => f.resize(b.below(2048), 0),
        _ => {
            if f.len() < 60 {
                f.resize(60, 0);
            }
        }
    }
    f
}

/// A frame: built around headers, raw bytes, or the previous one again
/// with a twist (another tag, priority tag, VID or byte).
fn frame(b: &mut Bytes, prev: Option<&Frame>) -> Frame {
    let bytes = match (b.below(8), prev) {
        (3, _) => {
            let n = b.below(160);
            b.take(n).to_vec()
        }
        (1 | 2, Some(p)) => {
            let mut f = p.bytes.clone();
            match b.below(5) {
                0 => {}
                1 if f.len() >= 12 => {
                    // Add or remove an outer 802.1Q / priority tag.
                    if f.len() >= 16 && f[12..14] == ETHERTYPE_VLAN.to_be_bytes() {
                        f.drain(12..16);
                    } else {
                        let vid = b.pick(&VIDS);
                        let mut tag = ETHERTYPE_VLAN.to_be_bytes().to_vec();
                        tag.extend_from_slice(&vid.to_be_bytes());
                        f.splice(12..12, tag);
                    }
                }
                2 if f.len() >= 16 => {
                    let vid = b.pick(&VIDS);
                    f[14] = (f[14] & 0xf0) | (vid >> 8) as u8;
                    f[15] = vid as u8;
                }
                _ if !f.is_empty() => {
                    let i = b.below(f.len());
                    f[i] ^= b.u8() | 1;
                }
                _ => {}
            }
            f
        }
        _ => structured(b),
    };
    let headroom = b.pick(&[128, 128, 128, 128, 128, 0, 3, 4]);
    let mut bytes = bytes;
    bytes.truncate(MEM_BUF_SIZE - headroom);
    Frame {
        bytes,
        headroom,
        copy_fails: b.chance(24),
        rss: if b.chance(64) { Some(b.u32()) } else { None },
    }
}

/// Copy `k` of `f` for a burst of copies: the same frame (`how` 0), another
/// source (1) or destination (2) per copy, or every other copy with an
/// outer tag removed or a priority tag added (3).
fn vary(f: &Frame, how: usize, k: usize) -> Frame {
    let mut v = f.clone();
    let b = &mut v.bytes;
    let k8 = k as u8;
    match how {
        1 if b.len() >= 12 => b[11] = b[11].wrapping_add(k8),
        2 if b.len() >= 6 => b[5] = b[5].wrapping_add(k8),
        3 if k % 2 == 1 && b.len() >= 12 => {
            if b.len() >= 16 && b[12..14] == ETHERTYPE_VLAN.to_be_bytes() {
                b.drain(12..16);
            } else {
                b.splice(12..12, [0x81, 0x00, 0x00, 0x00]);
                b.truncate(MEM_BUF_SIZE - v.headroom);
            }
        }
        _ => {}
    }
    v
}

/// The bytes `input` (received with tag `vid`, in `vlan`) leaves with
/// through a port whose rule for `vlan` is `action`; `None` if the rule
/// drops it.
fn egress_bytes(
    input: &[u8],
    vid: Option<u16>,
    vlan: u16,
    action: EgressAction,
) -> Option<Vec<u8>> {
    let mut f = input.to_vec();
    match (action, vid) {
        (EgressAction::Drop, _) => return None,
        (EgressAction::Untagged, None) => {}
        (EgressAction::Untagged, Some(_)) => {
            f.drain(12..16);
        }
        (EgressAction::Tagged, Some(v)) if v == vlan => {}
        (EgressAction::Tagged, Some(_)) => {
            f[14] = (f[14] & 0xf0) | (vlan >> 8) as u8;
            f[15] = vlan as u8;
        }
        (EgressAction::Tagged, None) => {
            let mut tag = ETHERTYPE_VLAN.to_be_bytes().to_vec();
            tag.extend_from_slice(&vlan.to_be_bytes());
            f.splice(12..12, tag);
        }
    }
    Some(f)
}

fn is_reserved_group(m: &MacAddr) -> bool {
    m.0[..5] == [0x01, 0x80, 0xc2, 0, 0] && m.0[5] < 0x10
}

fn is_gratuitous_arp(ethertype: u16, l3: usize, frame: &[u8]) -> bool {
    ethertype == ETHERTYPE_ARP
        && frame
            .get(l3..)
            .and_then(|p| ArpPacket::new_checked(p).ok())
            .is_some_and(|a| a.is_gratuitous())
}

/// A bond machine for `n` members whose carrier follows the interfaces'
/// links (some lost on the way), with LACP status from the input.
fn bond_machine(b: &mut Bytes, ifaces: &[IfaceView], now: Millis) -> Bond {
    let n = ifaces.len();
    let cfg = BondConfig {
        mode: b.pick(&[
            BondMode::ActiveBackup,
            BondMode::BalanceSlb,
            BondMode::BalanceTcp,
        ]),
        lacp: b.chance(100),
        lacp_fallback_ab: b.bool(),
        primary: if b.chance(60) {
            Some(b.below(n) as u16)
        } else {
            None
        },
        hash_basis: b.u32(),
        ..BondConfig::default()
    };
    let lacp = cfg.lacp;
    let ids: Vec<u16> = (0..n as u16).collect();
    let mut bond = Bond::new(cfg, &ids, now);
    for (i, ifv) in ifaces.iter().enumerate() {
        let _ = bond.set_carrier(i as u16, ifv.link_up && !b.chance(40), now);
    }
    if lacp {
        let en: Vec<(u16, bool)> = ids.iter().map(|&i| (i, b.chance(200))).collect();
        let _ = bond.set_lacp(b.chance(200), &en, now);
    }
    bond
}

/// Change a bond view in ways no machine would: the pipeline must cope.
fn distort(b: &mut Bytes, v: &mut BondView) {
    for _ in 0..1 + b.below(3) {
        match b.below(7) {
            0 => v.enabled = u64::from(b.u8()),
            1 => v.active = b.bool().then(|| b.u8() % 8),
            2 => {
                let i = b.below(v.buckets.len());
                v.buckets[i] = b.pick(&[0, 1, 2, 5, 7, NO_MEMBER]);
            }
            3 => {
                let k = 1 + b.below(8);
                for (i, x) in v.buckets.iter_mut().enumerate() {
                    *x = (i % k) as u8;
                }
            }
            4 => v.up = !v.up,
            5 => v.lacp_negotiated = !v.lacp_negotiated,
            _ => {
                v.mode = b.pick(&[
                    BondMode::ActiveBackup,
                    BondMode::BalanceSlb,
                    BondMode::BalanceTcp,
                ])
            }
        }
    }
}

fn new_iface(b: &mut Bytes, port: usize, member: usize, n_pmds: usize) -> IfaceView {
    IfaceView {
        name: Arc::from("i"),
        bridge: 0,
        port: port as PortIdx,
        member: member as u8,
        admin_up: !b.chance(24),
        link_up: !b.chance(40),
        max_frame_len: b.pick(&[1518, 1518, 1518, 1522, 9018, 1500, 64, 60, 18, 14, 0]),
        lacp: b.chance(64),
        counters: Counters::new(n_pmds),
        // QoS is not modelled here (datapath's unit tests cover it).
        policing: None,
    }
}

impl Switch {
    fn build(b: &mut Bytes) -> Switch {
        let now = Millis::from_secs(1 + u64::from(b.u8()));
        let n_pmds = 1 + b.below(2);
        let pmd_id = b.below(3);
        let mac = MacTable::with_seed(10 + b.below(16), 15 + u32::from(b.u8()), b.u64());
        let n_ports = 2 + b.below(4);
        let mut ifaces: Vec<IfaceView> = Vec::new();
        let mut ports = Vec::new();
        let mut bonds = Vec::new();
        for p in 0..n_ports {
            let vlan = port_vlan(b);
            if b.chance(90) {
                let n = 1 + b.below(6);
                let first = ifaces.len();
                for m in 0..n {
                    ifaces.push(new_iface(b, p, m, n_pmds));
                }
                let bond = bond_machine(b, &ifaces[first..], now);
                let mut view = bond.view();
                let faithful = !b.chance(40);
                if !faithful {
                    distort(b, &mut view);
                }
                ports.push(PortView {
                    name: Arc::from("bond"),
                    vlan,
                    kind: PortKind::Bond(Box::new(BondPort {
                        view,
                        ifaces: (first..first + n).map(|i| i as IfaceIdx).collect(),
                        loads: BucketLoads::new(n_pmds),
                    })),
                    counters: Counters::new(n_pmds),
                    egress_qos: None,
                });
                bonds.push(Some(BondState { bond, faithful }));
            } else {
                ifaces.push(new_iface(b, p, 0, n_pmds));
                ports.push(PortView {
                    name: Arc::from("p"),
                    vlan,
                    kind: PortKind::Single((ifaces.len() - 1) as IfaceIdx),
                    counters: Counters::new(n_pmds),
                    egress_qos: None,
                });
                bonds.push(None);
            }
        }
        if b.chance(40) {
            // An interface in no bridge.
            let mut i = new_iface(b, 0, 0, n_pmds);
            i.bridge = NO_BRIDGE;
            ifaces.push(i);
        }
        let mut io = MemIo {
            control_room: b.pick(&[1024, 1024, 0, 1, 2]),
            ..MemIo::default()
        };
        let mut room = Vec::new();
        for _ in 0..ifaces.len() {
            let mut q = MemTxQueue::new();
            let r = b.chance(50).then(|| b.below(4));
            q.set_room(r);
            io.tx.push(q);
            room.push(r);
        }
        let snap = Snapshot {
            generation: 1,
            bridges: vec![BridgeView {
                name: Arc::from("br0"),
                mac: Arc::new(mac),
                ports,
            }],
            ifaces,
        };
        for _ in 0..b.below(4) {
            let vlan = b.pick(&VIDS[..6]);
            let _ = snap.bridges[0]
                .mac
                .add_static(vlan, station(b), b.below(n_ports + 1) as u16);
        }
        if tracing() {
            for (p, pv) in snap.bridges[0].ports.iter().enumerate() {
                trace!("port {p}: {:?} {}", pv.vlan, kind_summary(&pv.kind));
            }
            for (i, ifv) in snap.ifaces.iter().enumerate() {
                trace!(
                    "iface {i}: port {} member {} admin {} link {} max {} lacp {}",
                    ifv.port,
                    ifv.member,
                    ifv.admin_up,
                    ifv.link_up,
                    ifv.max_frame_len,
                    ifv.lacp
                );
            }
            trace!(
                "mac: max {} entries {:?}",
                snap.bridges[0].mac.max_entries(),
                snap.bridges[0].mac.entries(now)
            );
        }
        let mut pmd = Pmd::new(pmd_id);
        pmd.sync(&snap);
        Switch {
            snap,
            pmd,
            io,
            now,
            bonds,
            room,
            prev: None,
        }
    }

    fn mac(&self) -> &MacTable {
        &self.snap.bridges[0].mac
    }

    fn n_ports(&self) -> usize {
        self.snap.bridges[0].ports.len()
    }

    /// Adopt a changed snapshot, as the daemon's PMD does between bursts.
    fn resync(&mut self) {
        self.pmd.flush(&self.snap, &mut self.io);
        self.drain_output();
        self.snap.generation += 1;
        self.pmd.sync(&self.snap);
    }

    /// Forget what was transmitted (checked already, or not part of a
    /// checked iteration).
    fn drain_output(&mut self) {
        for q in &mut self.io.tx {
            q.take_sent();
        }
        self.io.control.clear();
    }

    /// Put bond `p`'s machine view into the snapshot (unless distorted).
    fn refresh_bond(&mut self, p: usize) {
        let Some(Some(st)) = self.bonds.get(p) else {
            return;
        };
        if !st.faithful {
            return;
        }
        let view = st.bond.view();
        if let PortKind::Bond(bp) = &mut self.snap.bridges[0].ports[p].kind {
            bp.view = view;
        }
    }

    /// Time passes: bond timers run, the MAC table ages.
    fn advance(&mut self, b: &mut Bytes) {
        let step = b.pick(&[0, 1, 10, 999, 1000, 2000, 16_000, 301_000, 4_000_000]);
        let step = if step == 0 { u64::from(b.u16()) } else { step };
        self.now = self.now + step;
        trace!("advance {step} ms to {:?}", self.now);
        for p in 0..self.bonds.len() {
            if let Some(st) = &mut self.bonds[p] {
                let _ = st.bond.tick(self.now);
                if st.bond.rebalance_due(self.now) {
                    if let PortKind::Bond(bp) = &self.snap.bridges[0].ports[p].kind {
                        let loads = bp.loads.totals();
                        let _ = st.bond.rebalance(&loads, self.now);
                    }
                }
            }
            self.refresh_bond(p);
        }
        if b.chance(200) {
            self.mac().age(self.now);
        }
        self.resync();
    }

    /// Change something, as a new snapshot from the control thread does.
    fn reconfigure(&mut self, b: &mut Bytes) {
        let n_ifaces = self.snap.ifaces.len();
        let n_ports = self.n_ports();
        match b.below(8) {
            0 => {
                let i = b.below(n_ifaces);
                let ifv = &mut self.snap.ifaces[i];
                match b.below(4) {
                    0 => ifv.link_up = !ifv.link_up,
                    1 => ifv.admin_up = !ifv.admin_up,
                    2 => ifv.lacp = !ifv.lacp,
                    _ => ifv.max_frame_len = b.pick(&[1518, 9018, 64, 0]),
                }
                let (port, member, up) = (ifv.port as usize, ifv.member, ifv.link_up);
                if ifv.bridge != NO_BRIDGE {
                    if let Some(Some(st)) = self.bonds.get_mut(port) {
                        let _ = st.bond.set_carrier(u16::from(member), up, self.now);
                    }
                    self.refresh_bond(port);
                }
            }
            1 => {
                let p = b.below(n_ports);
                if let Some(st) = &mut self.bonds[p] {
                    let n = st.bond.members().count();
                    match b.below(4) {
                        0 => {
                            let en: Vec<(u16, bool)> =
                                (0..n as u16).map(|i| (i, b.chance(200))).collect();
                            let _ = st.bond.set_lacp(b.chance(200), &en, self.now);
                        }
                        1 => {
                            let m = b.below(n) as u16;
                            let _ = st.bond.set_carrier(m, b.bool(), self.now);
                        }
                        2 => {
                            let m = b.below(n) as u16;
                            let _ = st.bond.set_admin(m, b.bool(), self.now);
                        }
                        _ => {
                            st.faithful = false;
                            if let PortKind::Bond(bp) = &mut self.snap.bridges[0].ports[p].kind {
                                distort(b, &mut bp.view);
                            }
                        }
                    }
                }
                self.refresh_bond(p);
            }
            2 => {
                let mac = self.snap.bridges[0].mac.clone();
                match b.below(6) {
                    0 => {
                        mac.flush_port(b.below(n_ports) as u16);
                    }
                    1 => {
                        mac.flush_vlan(b.pick(&VIDS[..6]));
                    }
                    2 => {
                        mac.flush_all();
                    }
                    3 => {
                        mac.remove(b.pick(&VIDS[..6]), station(b));
                    }
                    4 => {
                        mac.remove_static(b.pick(&VIDS[..6]), station(b));
                    }
                    _ => {
                        let vlan = b.pick(&VIDS[..6]);
                        let _ = mac.add_static(vlan, station(b), b.below(n_ports + 1) as u16);
                    }
                }
            }
            3 => {
                let p = b.below(n_ports);
                self.snap.bridges[0].ports[p].vlan = port_vlan(b);
                // The daemon flushes the port's entries on a VLAN change.
                if b.chance(200) {
                    self.mac().flush_port(p as u16);
                }
            }
            4 => {
                let i = b.below(n_ifaces);
                let room = b.bool().then(|| b.below(5));
                self.io.tx[i].set_room(room);
                self.room[i] = room;
            }
            5 => self.io.control_room = b.pick(&[1024, 0, 1, 2]),
            6 => {
                let resized = self.mac().resized(10 + b.below(16));
                self.snap.bridges[0].mac = Arc::new(resized);
            }
            _ => {
                // A fresh PMD (thread restart), with another id.
                self.pmd.flush(&self.snap, &mut self.io);
                self.pmd = Pmd::new(b.below(3));
            }
        }
        if tracing() {
            trace!("reconfigured:");
            for (p, pv) in self.snap.bridges[0].ports.iter().enumerate() {
                trace!("  port {p}: {:?} {}", pv.vlan, kind_summary(&pv.kind));
            }
            for (i, ifv) in self.snap.ifaces.iter().enumerate() {
                trace!(
                    "  iface {i}: admin {} link {} max {} lacp {}",
                    ifv.admin_up,
                    ifv.link_up,
                    ifv.max_frame_len,
                    ifv.lacp
                );
            }
            trace!("  mac: {:?}", self.mac().entries(self.now));
        }
        self.resync();
    }

    /// Where frame `f` received on `in_iface` must go, added to `exp`.
    fn model(&self, in_iface: IfaceIdx, f: &Frame, exp: &mut Expect) {
        let i = usize::from(in_iface);
        if i >= self.snap.ifaces.len() {
            return;
        }
        let data = &f.bytes[..];
        exp.rx[i][Counter::RxPackets as usize] += 1;
        exp.rx[i][Counter::RxBytes as usize] += data.len() as u64;
        match self.fate(in_iface, data, &mut exp.learns) {
            Fate::Drop(c) => exp.rx[i][c as usize] += 1,
            Fate::Control if exp.control_room > 0 => {
                exp.control_room -= 1;
                exp.control.push((in_iface, data.to_vec()));
            }
            Fate::Control => exp.rx[i][Counter::RxControlRingFull as usize] += 1,
            Fate::Out {
                vid,
                vlan,
                src,
                l3,
                ethertype,
                ports,
            } => {
                // Flooded: every target but the last gets a copy (a fresh
                // buffer with full headroom), the last the frame itself.
                let copy_headroom = MEM_HEADROOM.min(MEM_BUF_SIZE - data.len());
                let last = ports.len() - 1;
                for (k, &p) in ports.iter().enumerate() {
                    let p = usize::from(p);
                    exp.offers[p] += 1;
                    let headroom = if k == last {
                        f.headroom
                    } else if f.copy_fails {
                        exp.port_tx[p][Counter::TxCopyFailed as usize] += 1;
                        continue;
                    } else {
                        copy_headroom
                    };
                    let o = Offer {
                        data,
                        vid,
                        vlan,
                        src,
                        l3,
                        ethertype,
                        headroom,
                        rss: f.rss,
                    };
                    self.offer(p, &o, exp);
                }
            }
        }
    }

    /// One frame offered to port `p`: which interface queues it, or which
    /// counter drops it (as `Pmd::target`, `member_out`, `bond_output` and
    /// `emit` decide).
    fn offer(&self, p: usize, o: &Offer, exp: &mut Expect) {
        let port = &self.snap.bridges[0].ports[p];
        let iface = match &port.kind {
            PortKind::Single(i) => *i,
            PortKind::Bond(bp) => {
                let v = &bp.view;
                let h = match v.mode {
                    BondMode::ActiveBackup => 0,
                    BondMode::BalanceSlb => hash::slb(o.src, o.vlan, v.hash_basis),
                    BondMode::BalanceTcp => match o.rss {
                        Some(r) => hash::mix(r ^ v.hash_basis),
                        None => match FiveTuple::extract(o.data, o.l3, o.ethertype) {
                            Some(t) => hash::l4(&t, v.hash_basis),
                            None => hash::slb(o.src, o.vlan, v.hash_basis),
                        },
                    },
                };
                let bucket = hash::bucket(h);
                let m = usize::from(v.buckets[usize::from(bucket)]);
                if m >= v.members.len().min(bp.ifaces.len()) {
                    exp.port_tx[p][Counter::TxNoMember as usize] += 1;
                    return;
                }
                if v.mode != BondMode::ActiveBackup {
                    exp.loads[p][usize::from(bucket)] += o.data.len() as u64;
                }
                bp.ifaces[m]
            }
        };
        let i = usize::from(iface);
        let Some(ifv) = self.snap.ifaces.get(i) else {
            exp.port_tx[p][Counter::TxLinkDown as usize] += 1;
            return;
        };
        if !(ifv.link_up && ifv.admin_up) {
            exp.iface_tx[i][Counter::TxLinkDown as usize] += 1;
            return;
        }
        let action = port.vlan.egress(o.vlan);
        if action == EgressAction::Tagged && o.vid.is_none() && o.headroom < 4 {
            exp.iface_tx[i][Counter::TxNoHeadroom as usize] += 1;
            return;
        }
        match egress_bytes(o.data, o.vid, o.vlan, action) {
            Some(out) => exp.queued[i].push(out),
            None => exp.iface_tx[i][Counter::TxVlanFiltered as usize] += 1,
        }
    }

    /// What the pipeline must do with `data` received on existing
    /// interface `in_iface`, given the snapshot and the MAC table now.
    /// A frame that reaches learning adds its (VLAN, source, port) to
    /// `learns`.
    fn fate(&self, in_iface: IfaceIdx, data: &[u8], learns: &mut Vec<Learnt>) -> Fate {
        let ifv = &self.snap.ifaces[usize::from(in_iface)];
        let br = &self.snap.bridges[0];
        let port = if ifv.bridge == 0 && ifv.admin_up {
            br.ports.get(usize::from(ifv.port))
        } else {
            None
        };
        let Some(port) = port else {
            return Fate::Drop(Counter::RxAdminDown);
        };
        if data.len() > ifv.max_frame_len as usize {
            return Fate::Drop(Counter::RxOversize);
        }
        let Ok(l2) = parse_l2(data) else {
            return Fate::Drop(Counter::RxMalformed);
        };
        // Untagged Slow Protocols frames are never bridged, whatever their
        // destination (wire::slow, docs/architecture.md); frames to the
        // other 802.1D reserved group addresses neither.
        let slow = l2.tag.is_none() && l2.ethertype == ETHERTYPE_SLOW;
        if slow && ifv.lacp {
            return Fate::Control;
        }
        if slow {
            return Fate::Drop(Counter::RxSlowProtocols);
        }
        if is_reserved_group(&l2.dst) {
            return Fate::Drop(Counter::RxReservedMulticast);
        }
        let off = l2.payload_offset;
        if !declared_lengths_ok(l2.ethertype, &data[off..], data.len() - off) {
            return Fate::Drop(Counter::RxMalformed);
        }
        let mut slb_check = false;
        if let PortKind::Bond(bp) = &port.kind {
            match bp.view.admit(ifv.member, l2.dst.is_multicast()) {
                Admit::Accept => {}
                Admit::Drop => return Fate::Drop(Counter::RxMemberDisabled),
                Admit::DropMulticast => return Fate::Drop(Counter::RxBondLoop),
                Admit::DropIfMoved => {
                    slb_check = !is_gratuitous_arp(l2.ethertype, l2.payload_offset, data)
                }
            }
        }
        let vid = match l2.tag {
            None => None,
            Some(t) if t.tpid == ETHERTYPE_VLAN => Some(t.vid),
            Some(_) => return Fate::Drop(Counter::RxVlanFiltered),
        };
        let Some(vlan) = port.vlan.ingress(vid) else {
            return Fate::Drop(Counter::RxVlanFiltered);
        };
        let in_port = ifv.port;
        if slb_check && !l2.src.is_multicast() {
            if let Some(e) = br.mac.entry(vlan, l2.src, self.now) {
                if e.port != in_port {
                    return Fate::Drop(Counter::RxBondLoop);
                }
            }
        }
        if !l2.src.is_multicast() {
            learns.push(Learnt {
                vlan,
                mac: l2.src,
                port: in_port,
            });
        }
        let flood = || -> Vec<PortIdx> {
            (0..br.ports.len())
                .filter(|&p| p != usize::from(in_port))
                .filter(|&p| br.ports[p].vlan.carries(vlan) && self.can_send(&br.ports[p]))
                .map(|p| p as PortIdx)
                .collect()
        };
        let ports = if l2.dst.is_multicast() {
            flood()
        } else {
            match br.mac.lookup(vlan, l2.dst) {
                Some(p) if p == in_port => return Fate::Drop(Counter::RxHairpin),
                Some(p) if usize::from(p) < br.ports.len() => vec![p],
                _ => flood(),
            }
        };
        if ports.is_empty() {
            return Fate::Drop(Counter::RxNoOutput);
        }
        Fate::Out {
            vid,
            vlan,
            src: l2.src,
            l3: l2.payload_offset,
            ethertype: l2.ethertype,
            ports,
        }
    }

    fn can_send(&self, p: &PortView) -> bool {
        match &p.kind {
            PortKind::Single(i) => self
                .snap
                .ifaces
                .get(usize::from(*i))
                .is_some_and(|v| v.admin_up && v.link_up),
            PortKind::Bond(b) => b.view.up && b.view.enabled != 0,
        }
    }

    fn iface_totals(&self) -> Vec<[u64; N_COUNTERS]> {
        self.snap
            .ifaces
            .iter()
            .map(|i| i.counters.totals())
            .collect()
    }

    fn port_totals(&self) -> Vec<[u64; N_COUNTERS]> {
        self.snap.bridges[0]
            .ports
            .iter()
            .map(|p| p.counters.totals())
            .collect()
    }

    /// One polling iteration: one to three bursts, then a flush; then
    /// every invariant.
    fn iteration(&mut self, b: &mut Bytes, reach: &mut Reach) {
        let n_ifaces = self.snap.ifaces.len();
        let n_ports = self.n_ports();
        let if_before = self.iface_totals();
        let port_before = self.port_totals();
        let loads_before = self.bond_loads();
        let mut exp = Expect {
            rx: vec![[0; N_COUNTERS]; n_ifaces],
            iface_tx: vec![[0; N_COUNTERS]; n_ifaces],
            port_tx: vec![[0; N_COUNTERS]; n_ports],
            queued: vec![Vec::new(); n_ifaces],
            offers: vec![0; n_ports],
            loads: vec![[0; 256]; n_ports],
            control: Vec::new(),
            control_room: self.io.control_room,
            learns: Vec::new(),
        };
        for _ in 0..1 + b.below(3) {
            let in_iface = if b.chance(6) {
                (n_ifaces + b.below(3)) as IfaceIdx
            } else {
                b.below(n_ifaces) as IfaceIdx
            };
            let n = b.below(BURST + 1);
            let frames = if b.chance(64) {
                // One frame n times over, varied per copy: few bytes make
                // long runs (the decision cache) or many stations (learning,
                // eviction).
                let f = frame(b, self.prev.as_ref());
                let how = b.below(4);
                let copies: Vec<Frame> = (0..n).map(|k| vary(&f, how, k)).collect();
                self.prev = Some(f);
                copies
            } else {
                let mut frames = Vec::with_capacity(n);
                for _ in 0..n {
                    if b.is_empty() {
                        break;
                    }
                    let f = frame(b, self.prev.as_ref());
                    self.prev = Some(f.clone());
                    frames.push(f);
                }
                frames
            };
            // The model reads the MAC table as the burst will find it: it
            // changes only at the end of a burst (the learn batch).
            trace!("burst on iface {in_iface} at {:?}:", self.now);
            for f in &frames {
                self.model(in_iface, f, &mut exp);
                trace!(
                    "  {:02x?} headroom {} copy_fails {} rss {:?} -> {:?}",
                    f.bytes,
                    f.headroom,
                    f.copy_fails,
                    f.rss,
                    (in_iface as usize).lt(&n_ifaces).then(|| self.fate(
                        in_iface,
                        &f.bytes,
                        &mut Vec::new()
                    ))
                );
            }
            let evicted = self.mac().stats().evicted;
            let mut burst: Burst<MemPacket> = frames.iter().map(Frame::packet).collect();
            self.pmd.process(
                &self.snap,
                in_iface,
                &mut burst,
                self.now.into(),
                &mut self.io,
            );
            assert!(burst.is_empty(), "process left frames in the burst");
            trace!("mac after burst: {:?}", self.mac().stats());
            self.check_mac_table();
            self.check_learned(&exp.learns, evicted);
            exp.learns.clear();
        }
        self.pmd.flush(&self.snap, &mut self.io);
        self.check(&exp, &if_before, &port_before, &loads_before);
        reach.iterations += 1;
        reach.control += self.io.control.len() as u64;
        reach.sent += self.io.tx.iter().map(|q| q.sent.len() as u64).sum::<u64>();
        for (after, before) in self
            .iface_totals()
            .iter()
            .zip(&if_before)
            .chain(self.port_totals().iter().zip(&port_before))
        {
            for (r, (a, b)) in reach.counters.iter_mut().zip(after.iter().zip(before)) {
                *r += a.wrapping_sub(*b);
            }
        }
        self.drain_output();
    }

    fn check_mac_table(&self) {
        let mac = self.mac();
        assert!(
            mac.len() <= mac.max_entries(),
            "MAC table holds {} entries, more than its {}",
            mac.len(),
            mac.max_entries()
        );
        let entries = mac.entries(self.now);
        assert_eq!(entries.len(), mac.len(), "len() disagrees with entries()");
        for e in &entries {
            assert!(!e.mac.is_multicast(), "multicast entry {e:?}");
            assert!(e.vlan <= 4094, "entry in VLAN {}: {e:?}", e.vlan);
            assert!(
                e.is_static || usize::from(e.port) < self.n_ports(),
                "learned entry on a port that does not exist: {e:?}"
            );
        }
    }

    /// After a burst: every source that reached learning is in the table
    /// on its port (or static: learning never moves those), unless the
    /// table is full (learning may then be refused) or the burst evicted
    /// entries (`evicted` is the count before it). Evictions
    /// happen when the table is full, and also, rarely, below that: when
    /// the cuckoo displacement finds no free slot for a new entry, the
    /// stalest dynamic entry of its two buckets goes (`mac_table/writer.rs`,
    /// `make_room`; see fuzz/RESULTS.md).
    fn check_learned(&self, learns: &[Learnt], evicted: u64) {
        let mac = self.mac();
        if mac.len() >= mac.max_entries() || mac.stats().evicted != evicted {
            return;
        }
        for l in learns {
            match mac.entry(l.vlan, l.mac, self.now) {
                Some(e) if e.port == l.port || e.is_static => {}
                e => panic!("{l:?} not learned: the table has {e:?}"),
            }
        }
    }

    /// Bytes per bucket so far, per port (zero for single interfaces).
    fn bond_loads(&self) -> Vec<[u64; 256]> {
        self.snap.bridges[0]
            .ports
            .iter()
            .map(|p| match &p.kind {
                PortKind::Bond(b) => b.loads.totals(),
                PortKind::Single(_) => [0; 256],
            })
            .collect()
    }

    /// Every invariant of one iteration, against what the model expects.
    fn check(
        &self,
        exp: &Expect,
        if_before: &[[u64; N_COUNTERS]],
        port_before: &[[u64; N_COUNTERS]],
        loads_before: &[[u64; 256]],
    ) {
        let if_after = self.iface_totals();
        let port_after = self.port_totals();
        let delta = |a: &[u64; N_COUNTERS], b: &[u64; N_COUNTERS], c: Counter| {
            a[c as usize].wrapping_sub(b[c as usize])
        };

        // Receive side, per interface and counter.
        for (i, want) in exp.rx.iter().enumerate() {
            for &c in Counter::ALL.iter().filter(|c| is_rx_counter(**c)) {
                assert_eq!(
                    delta(&if_after[i], &if_before[i], c),
                    want[c as usize],
                    "interface {i}: {} (expected counts {:?})",
                    c.name(),
                    want
                );
            }
        }
        // The control ring.
        assert_eq!(
            self.io.control.len(),
            exp.control.len(),
            "frames handed to the control thread"
        );
        for ((gi, gp), (wi, wf)) in self.io.control.iter().zip(&exp.control) {
            assert_eq!(gi, wi, "control frame from the wrong interface");
            assert_eq!(gp.data(), &wf[..], "control frame changed");
        }

        // Transmit side, per interface: the queue goes out in batches of
        // at most BURST (a full batch is sent before the next frame is
        // queued, the rest at the flush), of which the queue takes `room`.
        let br = &self.snap.bridges[0];
        for (i, ifv) in self.snap.ifaces.iter().enumerate() {
            let mut want_sent: Vec<&[u8]> = Vec::new();
            let mut full = 0u64;
            for batch in exp.queued[i].chunks(BURST) {
                let n = self.room[i].map_or(batch.len(), |r| r.min(batch.len()));
                want_sent.extend(batch[..n].iter().map(|f| &f[..]));
                full += (batch.len() - n) as u64;
            }
            let sent: Vec<&[u8]> = self.io.tx[i].sent.iter().map(|p| p.data()).collect();
            assert!(
                sent == want_sent,
                "interface {i}: sent {} frames, expected {}:\n{sent:02x?}\nexpected:\n{want_sent:02x?}",
                sent.len(),
                want_sent.len()
            );
            let mut want = exp.iface_tx[i];
            want[Counter::TxFull as usize] = full;
            want[Counter::TxPackets as usize] = sent.len() as u64;
            want[Counter::TxBytes as usize] = sent.iter().map(|f| f.len() as u64).sum();
            for &c in Counter::ALL.iter().filter(|c| !is_rx_counter(**c)) {
                assert_eq!(
                    delta(&if_after[i], &if_before[i], c),
                    want[c as usize],
                    "interface {i}: {}",
                    c.name()
                );
            }
            // Slow Protocols frames (to 01:80:c2:00:00:02) and the other
            // reserved group addresses never leave. (Untagged 0x8809
            // frames to other addresses are never forwarded either, which
            // the model checks; but a bridged *tagged* 0x8809 frame may
            // leave untagged through a port that pops its VLAN, as in
            // OVS.)
            for d in &sent {
                if let Ok(l2) = parse_l2(d) {
                    assert!(
                        !is_reserved_group(&l2.dst),
                        "interface {i} sent a frame to a reserved group address: {d:02x?}"
                    );
                }
            }
            if ifv.bridge != 0 {
                assert!(sent.is_empty(), "interface {i} is in no bridge but sent");
                continue;
            }
            // A faithful bond view sends only on enabled members, and only
            // on the active one in active-backup.
            let port = usize::from(ifv.port);
            if let (Some(Some(st)), Some(PortKind::Bond(bp))) =
                (self.bonds.get(port), br.ports.get(port).map(|p| &p.kind))
            {
                if st.faithful && !sent.is_empty() {
                    let v = &bp.view;
                    assert!(
                        v.index_enabled(ifv.member),
                        "sent on disabled member {}",
                        ifv.member
                    );
                    if v.mode == BondMode::ActiveBackup {
                        assert_eq!(v.active, Some(ifv.member), "active-backup sent on a backup");
                    }
                }
            }
        }

        // Per port: its own counters, every offer accounted for once, and
        // the bond's bucket loads.
        let loads_after = self.bond_loads();
        for (p, pv) in br.ports.iter().enumerate() {
            let mut offers = 0u64;
            for &c in Counter::ALL.iter() {
                let d = delta(&port_after[p], &port_before[p], c);
                if is_tx_offer_counter(c) {
                    offers += d;
                    for i in self.port_ifaces(pv) {
                        offers += delta(&if_after[i], &if_before[i], c);
                    }
                }
                let want = if is_tx_offer_counter(c) {
                    exp.port_tx[p][c as usize]
                } else {
                    0
                };
                assert_eq!(d, want, "port {p}: {}", c.name());
            }
            assert_eq!(
                offers, exp.offers[p],
                "port {p}: frames offered (sent + tx drops) vs expected"
            );
            for (k, (a, b)) in loads_after[p].iter().zip(&loads_before[p]).enumerate() {
                assert_eq!(
                    a.wrapping_sub(*b),
                    exp.loads[p][k],
                    "port {p}: load of bucket {k}"
                );
            }
        }
    }

    /// The interfaces of port `pv` (that exist).
    fn port_ifaces(&self, pv: &PortView) -> Vec<usize> {
        let n = self.snap.ifaces.len();
        match &pv.kind {
            PortKind::Single(i) => vec![usize::from(*i)],
            PortKind::Bond(b) => b.ifaces.iter().map(|&i| usize::from(i)).collect(),
        }
        .into_iter()
        .filter(|&i| i < n)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_short_inputs_run() {
        run(&[]);
        run(&[0; 64]);
        run(&[0xff; 300]);
    }

    #[test]
    fn egress_edits() {
        let f: Vec<u8> = (0..30).collect();
        assert_eq!(egress_bytes(&f, None, 5, EgressAction::Drop), None);
        let t = egress_bytes(&f, None, 5, EgressAction::Tagged).unwrap();
        assert_eq!(&t[12..16], &[0x81, 0, 0, 5]);
        assert_eq!(&t[16..], &f[12..]);
        let u = egress_bytes(&t, Some(5), 5, EgressAction::Untagged).unwrap();
        assert_eq!(u, f);
        let s = egress_bytes(&t, Some(5), 0x123, EgressAction::Tagged).unwrap();
        assert_eq!(&s[14..16], &[0x01, 0x23]);
    }
}
