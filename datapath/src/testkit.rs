//! Test and benchmark support: a one-bridge switch over in-memory ports,
//! and frame builders.
//!
//! Not used by the daemon. It lives in the library (rather than under
//! `tests/`) so the unit tests, the integration tests and the criterion
//! benchmarks share one fixture.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::bond::{Bond, BondConfig, BondMode, BondView, DetectMode};
use crate::counters::Counter;
use crate::mac_table::MacTable;
use crate::mem::{MemPacket, MemTxQueue};
use crate::packet::{Burst, BURST};
use crate::pipeline::{
    BondPort, BridgeView, BucketLoads, Counters, IfaceIdx, IfaceView, Io, Pmd, PortIdx, PortKind,
    PortView, QosShare, Snapshot,
};
use crate::qos::{EgressQos, Rate};
use crate::time::{Millis, Nanos};
use crate::vlan::PortVlan;
use crate::wire::MacAddr;

/// [`Io`] over in-memory queues: one [`MemTxQueue`] per interface and a
/// bounded list standing in for the ring to the control thread.
#[derive(Debug, Default)]
pub struct MemIo {
    /// Transmit queue of each interface.
    pub tx: Vec<MemTxQueue>,
    /// Frames handed to the control thread.
    pub control: Vec<(IfaceIdx, MemPacket)>,
    /// How many more frames the control hand-off accepts.
    pub control_room: usize,
}

impl Io<MemPacket> for MemIo {
    fn tx(&mut self, iface: IfaceIdx, pkts: &mut Burst<MemPacket>) {
        use crate::packet::TxQueue;
        self.tx[iface as usize].tx_burst(pkts);
    }

    fn to_control(&mut self, iface: IfaceIdx, pkt: MemPacket) -> Result<(), MemPacket> {
        if self.control_room == 0 {
            return Err(pkt);
        }
        self.control_room -= 1;
        self.control.push((iface, pkt));
        Ok(())
    }
}

/// One bridge, its ports and interfaces, a PMD and a fake clock.
#[derive(Debug)]
pub struct Rig {
    /// The snapshot the PMD forwards against (rebuilt by the mutators).
    pub snap: Snapshot,
    /// The PMD thread state (id 0).
    pub pmd: Pmd<MemPacket>,
    /// The in-memory queues.
    pub io: MemIo,
    /// The fake clock.
    pub now: Millis,
}

impl Default for Rig {
    fn default() -> Self {
        Rig::new(MacTable::new(crate::mac_table::DEFAULT_MAX_ENTRIES, 300))
    }
}

impl Rig {
    /// An empty bridge `br0` learning into `mac`.
    pub fn new(mac: MacTable) -> Rig {
        let snap = Snapshot {
            generation: 1,
            bridges: vec![BridgeView {
                name: "br0".into(),
                mac: Arc::new(mac),
                ports: Vec::new(),
            }],
            ifaces: Vec::new(),
        };
        let mut pmd = Pmd::new(0);
        pmd.sync(&snap);
        Rig {
            snap,
            pmd,
            io: MemIo {
                control_room: 1024,
                ..MemIo::default()
            },
            now: Millis::from_secs(1),
        }
    }

    /// The bridge's MAC table.
    pub fn mac(&self) -> &MacTable {
        &self.snap.bridges[0].mac
    }

    fn new_iface(&mut self, name: &str, port: PortIdx, member: u8) -> IfaceIdx {
        let idx = self.snap.ifaces.len() as IfaceIdx;
        self.snap.ifaces.push(IfaceView {
            name: name.into(),
            bridge: 0,
            port,
            member,
            admin_up: true,
            link_up: true,
            max_frame_len: 1518,
            lacp: false,
            counters: Counters::new(1),
            policing: None,
        });
        self.io.tx.push(MemTxQueue::new());
        idx
    }

    fn resync(&mut self) {
        self.pmd.flush(&self.snap, &mut self.io);
        self.snap.generation += 1;
        self.pmd.sync(&self.snap);
    }

    /// Add a single-interface port; returns its port and interface indices.
    pub fn add_port(&mut self, name: &str, vlan: PortVlan) -> (PortIdx, IfaceIdx) {
        let port = self.snap.bridges[0].ports.len() as PortIdx;
        let iface = self.new_iface(name, port, 0);
        self.snap.bridges[0].ports.push(PortView {
            name: name.into(),
            vlan,
            kind: PortKind::Single(iface),
            counters: Counters::new(1),
            egress_qos: None,
        });
        self.resync();
        (port, iface)
    }

    /// Add a bond port whose members follow `view` (member ids are ignored:
    /// member position `i` is interface `members[i]`).
    pub fn add_bond(
        &mut self,
        name: &str,
        vlan: PortVlan,
        n_members: usize,
        view: BondView,
    ) -> (PortIdx, Vec<IfaceIdx>) {
        let port = self.snap.bridges[0].ports.len() as PortIdx;
        let ifaces: Vec<IfaceIdx> = (0..n_members)
            .map(|i| self.new_iface(&format!("{name}m{i}"), port, i as u8))
            .collect();
        self.snap.bridges[0].ports.push(PortView {
            name: name.into(),
            vlan,
            kind: PortKind::Bond(Box::new(BondPort {
                view,
                ifaces: ifaces.iter().copied().collect::<SmallVec<_>>(),
                loads: BucketLoads::new(1),
            })),
            counters: Counters::new(1),
            egress_qos: None,
        });
        self.resync();
        (port, ifaces)
    }

    /// Replace the bond view of port `port`.
    pub fn set_bond_view(&mut self, port: PortIdx, view: BondView) {
        if let PortKind::Bond(b) = &mut self.snap.bridges[0].ports[port as usize].kind {
            b.view = view;
        }
        self.resync();
    }

    /// Edit interface `iface` (link, admin state, LACP flag, MTU).
    pub fn edit_iface(&mut self, iface: IfaceIdx, f: impl FnOnce(&mut IfaceView)) {
        f(&mut self.snap.ifaces[iface as usize]);
        self.resync();
    }

    /// Receive `frames` on `iface` (in bursts of 32) and flush.
    pub fn send(&mut self, iface: IfaceIdx, frames: &[Vec<u8>]) {
        self.send_at(iface, frames, Nanos::from(self.now));
    }

    /// [`Rig::send`] at a time finer than the rig's clock, which moves to
    /// `now` (truncated to milliseconds).
    pub fn send_at(&mut self, iface: IfaceIdx, frames: &[Vec<u8>], now: Nanos) {
        self.now = now.millis();
        for chunk in frames.chunks(BURST) {
            let mut burst: Burst<MemPacket> =
                chunk.iter().map(|f| MemPacket::from_bytes(f)).collect();
            self.pmd
                .process(&self.snap, iface, &mut burst, now, &mut self.io);
            self.pmd.flush(&self.snap, &mut self.io);
        }
    }

    /// Police what interface `iface` receives at `rate` (`None`: stop),
    /// shared by the PMD threads `pmds`.
    pub fn set_policing(&mut self, iface: IfaceIdx, rate: Option<Rate>, pmds: &[usize]) {
        self.snap.ifaces[iface as usize].policing = rate.map(|settings| {
            Arc::new(QosShare {
                settings,
                pmds: pmds.to_vec(),
            })
        });
        self.resync();
    }

    /// Apply `qos` to what port `port` sends (`None`: stop), shared by the
    /// PMD threads `pmds`.
    pub fn set_egress_qos(&mut self, port: PortIdx, qos: Option<EgressQos>, pmds: &[usize]) {
        self.snap.bridges[0].ports[port as usize].egress_qos = qos.map(|settings| {
            Arc::new(QosShare {
                settings,
                pmds: pmds.to_vec(),
            })
        });
        self.resync();
    }

    /// Take the frames transmitted on `iface` so far.
    pub fn sent(&mut self, iface: IfaceIdx) -> Vec<Vec<u8>> {
        let f = self.io.tx[iface as usize].sent_frames();
        self.io.tx[iface as usize].take_sent();
        f
    }

    /// Counter `c` of interface `iface`.
    pub fn counter(&self, iface: IfaceIdx, c: Counter) -> u64 {
        self.snap.ifaces[iface as usize].counters.total(c)
    }

    /// Counter `c` of port `port`.
    pub fn port_counter(&self, port: PortIdx, c: Counter) -> u64 {
        self.snap.bridges[0].ports[port as usize].counters.total(c)
    }

    /// Sum of every drop counter of interface `iface`.
    pub fn drops(&self, iface: IfaceIdx) -> u64 {
        Counter::ALL
            .iter()
            .filter(|c| c.name().contains("_dropped_"))
            .map(|c| self.counter(iface, *c))
            .sum()
    }
}

/// A MAC address 52:54:00:00:xx:yy for test station `n`.
pub fn mac(n: u16) -> MacAddr {
    let b = n.to_be_bytes();
    MacAddr([0x52, 0x54, 0x00, 0x00, b[0], b[1]])
}

/// A 64-byte (60 without FCS when untagged, 64 when tagged) IPv4/UDP frame.
pub fn udp_frame(dst: MacAddr, src: MacAddr, vid: Option<u16>, sport: u16, dport: u16) -> Vec<u8> {
    udp_frame_ip(dst, src, vid, [10, 0, 0, 1], [10, 0, 0, 2], sport, dport)
}

/// An IPv4/UDP frame with given addresses and ports, padded to 60 bytes
/// before any tag.
#[allow(clippy::too_many_arguments)]
pub fn udp_frame_ip(
    dst: MacAddr,
    src: MacAddr,
    vid: Option<u16>,
    sip: [u8; 4],
    dip: [u8; 4],
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    if let Some(v) = vid {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(v & 0xfff).to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_start = f.len();
    let total_len: u16 = 20 + 8 + 18;
    f.extend_from_slice(&[
        0x45,
        0,
        (total_len >> 8) as u8,
        total_len as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&sip);
    f.extend_from_slice(&dip);
    let csum = {
        let mut s: u32 = 0;
        for c in f[ip_start..ip_start + 20].chunks(2) {
            s += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    };
    f[ip_start + 10..ip_start + 12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&(8u16 + 18).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(ip_start + total_len as usize, 0);
    f
}

/// An Ethernet frame with `ethertype` and a zero payload, padded to 60 bytes.
pub fn raw_frame(dst: MacAddr, src: MacAddr, ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.resize(60, 0);
    f
}

/// The VLAN ID of a frame's outer 802.1Q tag, or `None` when untagged.
pub fn vid_of(frame: &[u8]) -> Option<u16> {
    crate::wire::ethernet::parse_l2(frame).ok()?.vid()
}

/// The view of a bond of `n` members (ids 0..n) in `mode`, every member's
/// carrier up and, with `lacp`, LACP negotiated on all of them; no
/// rebalancing.
pub fn bond_view(mode: BondMode, lacp: bool, n: u16) -> BondView {
    let cfg = BondConfig {
        mode,
        lacp,
        detect: DetectMode::Carrier,
        rebalance_interval_ms: 0,
        ..BondConfig::default()
    };
    let members: Vec<u16> = (0..n).collect();
    let now = Millis::from_secs(1);
    let mut bond = Bond::new(cfg, &members, now);
    for m in &members {
        let _ = bond.set_carrier(*m, true, now);
    }
    if lacp {
        let en: Vec<(u16, bool)> = members.iter().map(|m| (*m, true)).collect();
        let _ = bond.set_lacp(true, &en, now);
    }
    let _ = bond.tick(now + 10_000);
    bond.view()
}
