//! One PMD thread's forwarding state and the per-burst pipeline.

use smallvec::SmallVec;

use super::snapshot::{BridgeView, IfaceIdx, PortIdx, PortKind, PortView, Snapshot, NO_BRIDGE};
use crate::bond::{Admit, BondMode};
use crate::counters::{Counter, CounterBlock};
use crate::hash;
use crate::mac_table::Learn;
use crate::packet::{Burst, Packet, BURST};
use crate::time::Millis;
use crate::vlan::EgressAction;
use crate::wire::arp::ArpPacket;
use crate::wire::ethernet::{parse_l2, L2Info, ETHERTYPE_ARP, ETHERTYPE_SLOW, ETHERTYPE_VLAN};
use crate::wire::ip::FiveTuple;
use crate::wire::vlan_tag::{pop_vlan, push_vlan, set_vid};
use crate::wire::MacAddr;

/// What the pipeline needs from the thread that runs it.
pub trait Io<P: Packet> {
    /// Transmit a prefix of `pkts` on this thread's queue of `iface`,
    /// removing what was sent; what stays in `pkts` was refused.
    fn tx(&mut self, iface: IfaceIdx, pkts: &mut Burst<P>);
    /// Hand a Slow Protocols frame received on `iface` to the control
    /// thread; give it back if the hand-off queue is full.
    fn to_control(&mut self, iface: IfaceIdx, pkt: P) -> Result<(), P>;
}

/// Statistics of one PMD thread that belong to no interface.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PmdCounters {
    /// Learn batches skipped because another thread held the table's writer lock.
    pub learn_skipped: u64,
    /// MAC entries this thread learned or moved.
    pub learned: u64,
    /// Output batches transmitted.
    pub tx_batches: u64,
    /// Frames in those batches.
    pub tx_batched_packets: u64,
}

/// The forwarding decision for one (VLAN, source, destination) within a burst.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Decision {
    Drop(Counter),
    Unicast(PortIdx),
    Flood,
}

/// An IEEE 802.1D reserved group address, 01:80:c2:00:00:00 to 0f.
#[inline(always)]
fn is_reserved_group(mac: &MacAddr) -> bool {
    let m = mac.0;
    m[0] == 0x01 && m[1] == 0x80 && m[2] == 0xc2 && m[3] == 0 && m[4] == 0 && m[5] & 0xf0 == 0
}

/// A frame as it entered: what the egress edit and the bond hash need.
#[derive(Copy, Clone)]
struct Ingress {
    /// The 802.1Q tag it carries now: `Some(0)` for a priority tag.
    vid: Option<u16>,
    /// The VLAN it belongs to.
    vlan: u16,
    src: MacAddr,
    /// Offset and type of what follows the outer tag, for the L4 hash.
    l3: usize,
    ethertype: u16,
}

/// How frames received on one interface in one burst are admitted.
#[derive(Copy, Clone)]
struct Admission {
    unicast: Admit,
    multicast: Admit,
}

/// One PMD thread's mutable forwarding state.
///
/// Nothing here allocates once [`Pmd::sync`] has sized it for a snapshot.
#[derive(Debug)]
pub struct Pmd<P: Packet> {
    id: usize,
    /// Pending output per interface.
    out: Vec<Burst<P>>,
    /// Interfaces with pending output, in first-use order.
    pending: SmallVec<[IfaceIdx; 16]>,
    learn: SmallVec<[Learn; BURST]>,
    drops: Burst<P>,
    counters: PmdCounters,
}

impl<P: Packet> Pmd<P> {
    /// State for PMD thread number `id`, which is its row in every counter
    /// block.
    pub fn new(id: usize) -> Pmd<P> {
        Pmd {
            id,
            out: Vec::new(),
            pending: SmallVec::new(),
            learn: SmallVec::new(),
            drops: Burst::new(),
            counters: PmdCounters::default(),
        }
    }

    /// This thread's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Thread-level counters.
    pub fn counters(&self) -> PmdCounters {
        self.counters
    }

    /// Size the per-interface state for `snap`. Call when adopting a new
    /// snapshot, after [`Pmd::flush`]. May allocate.
    pub fn sync(&mut self, snap: &Snapshot) {
        debug_assert!(self.pending.is_empty(), "sync with output pending");
        self.out.resize_with(snap.ifaces.len(), Burst::new);
        self.out.truncate(snap.ifaces.len());
        self.pending.reserve(snap.ifaces.len().min(64));
    }

    /// Run one burst received on `in_iface` through the pipeline; `pkts` is
    /// left empty. Output is queued per interface until [`Pmd::flush`].
    pub fn process<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        in_iface: IfaceIdx,
        pkts: &mut Burst<P>,
        now: Millis,
        io: &mut I,
    ) {
        if pkts.is_empty() {
            return;
        }
        debug_assert_eq!(self.out.len(), snap.ifaces.len(), "Pmd::sync not called");
        let Some(ifv) = snap.ifaces.get(in_iface as usize) else {
            P::free_bulk(pkts);
            return;
        };
        let cnt = ifv.counters.pmd(self.id);
        let n = pkts.len() as u64;
        let bytes: u64 = pkts.iter().map(|p| p.pkt_len() as u64).sum();
        cnt.add(Counter::RxPackets, n);
        cnt.add(Counter::RxBytes, bytes);

        let port = match snap.bridges.get(ifv.bridge as usize) {
            Some(br) if ifv.bridge != NO_BRIDGE && ifv.admin_up => {
                br.ports.get(ifv.port as usize).map(|p| (br, p))
            }
            _ => None,
        };
        let Some((br, port)) = port else {
            cnt.add(Counter::RxAdminDown, n);
            P::free_bulk(pkts);
            return;
        };

        // Bond admission depends only on the member and the destination
        // class, so it is computed once per burst.
        let admission = port.bond().map(|b| Admission {
            unicast: b.view.admit(ifv.member, false),
            multicast: b.view.admit(ifv.member, true),
        });

        let mut last_key = u128::MAX;
        let mut last = Decision::Drop(Counter::RxMalformed);

        for pkt in pkts.drain(..) {
            if pkt.pkt_len() > ifv.max_frame_len as usize {
                self.drop(cnt, Counter::RxOversize, pkt);
                continue;
            }
            let Ok(l2) = parse_l2(pkt.data()) else {
                self.drop(cnt, Counter::RxMalformed, pkt);
                continue;
            };
            if is_reserved_group(&l2.dst) {
                self.reserved(cnt, ifv.lacp, in_iface, &l2, pkt, io);
                continue;
            }
            let mut slb_check = false;
            if let Some(a) = admission {
                match if l2.dst.is_multicast() {
                    a.multicast
                } else {
                    a.unicast
                } {
                    Admit::Accept => {}
                    Admit::Drop => {
                        self.drop(cnt, Counter::RxMemberDisabled, pkt);
                        continue;
                    }
                    Admit::DropMulticast => {
                        self.drop(cnt, Counter::RxBondLoop, pkt);
                        continue;
                    }
                    Admit::DropIfMoved => slb_check = !is_gratuitous_arp(&l2, pkt.data()),
                }
            }
            // Only 802.1Q tags select a VLAN: an 802.1ad (0x88a8) outer tag
            // is never accepted by these port modes.
            let vid = match l2.tag {
                None => None,
                Some(t) if t.tpid == ETHERTYPE_VLAN => Some(t.vid),
                Some(_) => {
                    self.drop(cnt, Counter::RxVlanFiltered, pkt);
                    continue;
                }
            };
            let Some(vlan) = port.vlan.ingress(vid) else {
                self.drop(cnt, Counter::RxVlanFiltered, pkt);
                continue;
            };

            let key = (vlan as u128) << 96
                | (l2.src.to_u64() as u128) << 48
                | l2.dst.to_u64() as u128
                | (slb_check as u128) << 112;
            if key != last_key {
                last_key = key;
                last = self.decide(br, ifv.port, slb_check, vlan, l2.src, l2.dst, now);
            }
            let ing = Ingress {
                vid,
                vlan,
                src: l2.src,
                l3: l2.payload_offset,
                ethertype: l2.ethertype,
            };
            match last {
                Decision::Drop(c) => self.drop(cnt, c, pkt),
                Decision::Unicast(p) => self.output(snap, &br.ports[p as usize], pkt, &ing, io),
                Decision::Flood => {
                    if let Err(pkt) = self.flood(snap, br, ifv.port, pkt, &ing, io) {
                        self.drop(cnt, Counter::RxNoOutput, pkt);
                    }
                }
            }
        }

        if !self.learn.is_empty() {
            let outcome = br.mac.learn_batch(&self.learn, now);
            if outcome.skipped {
                self.counters.learn_skipped += 1;
            } else {
                self.counters.learned += u64::from(outcome.learned + outcome.moved);
            }
            self.learn.clear();
        }
        if !self.drops.is_empty() {
            P::free_bulk(&mut self.drops);
        }
    }

    /// A frame to 01:80:c2:00:00:0x: LACP and Marker go to the control
    /// thread on LACP interfaces; everything else is dropped.
    fn reserved<I: Io<P>>(
        &mut self,
        cnt: &CounterBlock,
        lacp: bool,
        in_iface: IfaceIdx,
        l2: &L2Info,
        pkt: P,
        io: &mut I,
    ) {
        let slow = l2.tag.is_none() && l2.ethertype == ETHERTYPE_SLOW;
        if slow && lacp {
            if let Err(pkt) = io.to_control(in_iface, pkt) {
                self.drop(cnt, Counter::RxControlRingFull, pkt);
            }
        } else if slow {
            self.drop(cnt, Counter::RxSlowProtocols, pkt);
        } else {
            self.drop(cnt, Counter::RxReservedMulticast, pkt);
        }
    }

    /// Learn the source and look up the destination of one
    /// (VLAN, src, dst) received on `in_port`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn decide(
        &mut self,
        br: &BridgeView,
        in_port: PortIdx,
        slb_check: bool,
        vlan: u16,
        src: MacAddr,
        dst: MacAddr,
        now: Millis,
    ) -> Decision {
        let check = br.mac.touch_or_check(vlan, src, in_port, now);
        // balance-slb: a frame whose source is learned on another port came
        // back to us through the physical switch.
        if slb_check && check.other_port().is_some() {
            return Decision::Drop(Counter::RxBondLoop);
        }
        if check.needs_learn() && self.learn.len() < BURST {
            self.learn.push(Learn {
                vlan,
                mac: src,
                port: in_port,
            });
        }
        if dst.is_multicast() {
            return Decision::Flood;
        }
        match br.mac.lookup(vlan, dst) {
            Some(p) if p == in_port => Decision::Drop(Counter::RxHairpin),
            Some(p) if (p as usize) < br.ports.len() => Decision::Unicast(p),
            _ => Decision::Flood,
        }
    }

    /// Send `pkt` out of every port but `in_port` that carries its VLAN.
    /// Gives the frame back when there is no such port.
    fn flood<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        br: &BridgeView,
        in_port: PortIdx,
        pkt: P,
        ing: &Ingress,
        io: &mut I,
    ) -> Result<(), P> {
        let mut targets = br
            .ports
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                *i != in_port as usize && p.vlan.carries(ing.vlan) && can_send(snap, p)
            })
            .map(|(_, p)| p);
        let Some(mut cur) = targets.next() else {
            return Err(pkt);
        };
        for next in targets {
            match pkt.try_copy() {
                Some(copy) => self.output(snap, cur, copy, ing, io),
                None => cur.counters.pmd(self.id).inc(Counter::TxCopyFailed),
            }
            cur = next;
        }
        self.output(snap, cur, pkt, ing, io);
        Ok(())
    }

    /// Pick the interface of port `op` (a bond member by hash), edit the
    /// frame's 802.1Q header for it and queue it.
    #[inline(always)]
    fn output<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        op: &PortView,
        mut pkt: P,
        ing: &Ingress,
        io: &mut I,
    ) {
        let iface = match &op.kind {
            PortKind::Single(i) => *i,
            PortKind::Bond(b) => {
                let v = &b.view;
                let h = match v.mode {
                    BondMode::ActiveBackup => 0,
                    BondMode::BalanceSlb => hash::slb(ing.src, ing.vlan, v.hash_basis),
                    BondMode::BalanceTcp => {
                        match FiveTuple::extract(pkt.data(), ing.l3, ing.ethertype) {
                            Some(t) => hash::l4(&t, v.hash_basis),
                            None => hash::slb(ing.src, ing.vlan, v.hash_basis),
                        }
                    }
                };
                match v.index_for_hash(h).and_then(|m| b.ifaces.get(m as usize)) {
                    Some(i) => {
                        if v.mode != BondMode::ActiveBackup {
                            b.loads.add(self.id, hash::bucket(h), pkt.pkt_len() as u64);
                        }
                        *i
                    }
                    None => {
                        self.drop(op.counters.pmd(self.id), Counter::TxNoMember, pkt);
                        return;
                    }
                }
            }
        };
        let Some(ifv) = snap.ifaces.get(iface as usize) else {
            self.drop(op.counters.pmd(self.id), Counter::TxLinkDown, pkt);
            return;
        };
        let ic = ifv.counters.pmd(self.id);
        if !(ifv.link_up && ifv.admin_up) {
            self.drop(ic, Counter::TxLinkDown, pkt);
            return;
        }
        match op.vlan.egress(ing.vlan) {
            EgressAction::Drop => {
                self.drop(ic, Counter::TxVlanFiltered, pkt);
                return;
            }
            EgressAction::Untagged => {
                if ing.vid.is_some() {
                    pop_vlan(&mut pkt);
                }
            }
            EgressAction::Tagged => match ing.vid {
                Some(v) if v == ing.vlan => {}
                Some(_) => {
                    set_vid(pkt.data_mut(), ing.vlan);
                }
                None => {
                    if !push_vlan(&mut pkt, ETHERTYPE_VLAN, ing.vlan) {
                        self.drop(ic, Counter::TxNoHeadroom, pkt);
                        return;
                    }
                }
            },
        }
        let i = iface as usize;
        if self.out[i].is_empty() {
            self.pending.push(iface);
        } else if self.out[i].len() == BURST {
            self.tx_one(snap, iface, io);
        }
        self.out[i].push(pkt);
    }

    /// Transmit every queued batch once. Frames a queue refuses are freed
    /// and counted as `tx_dropped_full`.
    pub fn flush<I: Io<P>>(&mut self, snap: &Snapshot, io: &mut I) {
        for k in 0..self.pending.len() {
            let iface = self.pending[k];
            self.tx_one(snap, iface, io);
        }
        self.pending.clear();
    }

    fn tx_one<I: Io<P>>(&mut self, snap: &Snapshot, iface: IfaceIdx, io: &mut I) {
        let q = &mut self.out[iface as usize];
        if q.is_empty() {
            return;
        }
        let n = q.len() as u64;
        let bytes: u64 = q.iter().map(|p| p.pkt_len() as u64).sum();
        io.tx(iface, q);
        let left = q.len() as u64;
        let left_bytes: u64 = q.iter().map(|p| p.pkt_len() as u64).sum();
        self.counters.tx_batches += 1;
        self.counters.tx_batched_packets += n;
        if let Some(ifv) = snap.ifaces.get(iface as usize) {
            let c = ifv.counters.pmd(self.id);
            c.add(Counter::TxPackets, n - left);
            c.add(Counter::TxBytes, bytes - left_bytes);
            if left > 0 {
                c.add(Counter::TxFull, left);
            }
        }
        if left > 0 {
            P::free_bulk(q);
        }
    }

    /// Count a dropped frame under `why` and free it with the burst's other drops.
    #[inline(always)]
    fn drop(&mut self, counters: &CounterBlock, why: Counter, pkt: P) {
        counters.inc(why);
        if self.drops.len() == BURST {
            P::free_bulk(&mut self.drops);
        }
        self.drops.push(pkt);
    }
}

/// A gratuitous ARP: balance-slb lets it through even when its source is
/// learned elsewhere, so a VM that moved is re-learned (as OVS does).
fn is_gratuitous_arp(l2: &L2Info, frame: &[u8]) -> bool {
    l2.ethertype == ETHERTYPE_ARP
        && frame
            .get(l2.payload_offset..)
            .and_then(|b| ArpPacket::new_checked(b).ok())
            .is_some_and(|a| a.is_gratuitous())
}

/// Whether flooding to `p` can put a frame on a wire.
fn can_send(snap: &Snapshot, p: &PortView) -> bool {
    match &p.kind {
        PortKind::Single(i) => snap
            .ifaces
            .get(*i as usize)
            .is_some_and(|v| v.admin_up && v.link_up),
        PortKind::Bond(b) => b.view.up && b.view.enabled != 0,
    }
}
