//! One PMD thread's forwarding state and the per-burst pipeline.

use core::iter::FusedIterator;
use smallvec::SmallVec;

use super::qos::{self, PmdQos, NO_METER};
use super::snapshot::{
    BondPort, BridgeView, IfaceIdx, LoadRow, PortIdx, PortKind, PortView, Snapshot, NO_BRIDGE,
};
use crate::bond::{Admit, BondMode};
use crate::counters::{Counter, CounterBlock, PmdCounter, PmdCounts};
use crate::hash;
use crate::mac_table::{Learn, LearnCheck};
use crate::packet::{Burst, Packet, BURST};
use crate::time::{Millis, Nanos};
use crate::vlan::EgressAction;
use crate::wire::arp::ArpPacket;
use crate::wire::ethernet::{
    declared_lengths_ok, parse_l2, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_SLOW, ETHERTYPE_VLAN,
};
use crate::wire::ip::{has_ports, FiveTuple};
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

/// The forwarding decision for one (VLAN, source, destination) within a burst.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Decision {
    Drop(Counter),
    Unicast(PortIdx),
    Flood,
}

/// How a frame leaves through a port that carries its VLAN.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Egress {
    Untagged,
    Tagged,
}

/// Where a frame goes when it leaves through one port, with the checks
/// that do not depend on the frame already made.
#[derive(Copy, Clone)]
enum Target<'s> {
    /// Drop, counting `why` in that block.
    Drop(&'s CounterBlock, Counter),
    /// Queue on this interface (up, in a port that carries the VLAN), whose
    /// counters these are.
    Iface(IfaceIdx, &'s CounterBlock, Egress),
    /// Queue on the member of a bond port that the frame's hash picks.
    Bond(BondTarget<'s>),
}

/// Bond members whose output a run's [`BondTarget`] works out in advance;
/// frames hashed to a member past these, and flooded copies, take the
/// per-frame path ([`Pmd::member_out`]).
const TABLE_MEMBERS: usize = 4;

/// A bond port as an output, resolved for one VLAN: what happens to a
/// frame sent to each member (the same checks, in the same order, as
/// [`Pmd::member_out`] makes for one frame).
#[derive(Copy, Clone)]
struct BondTarget<'s> {
    op: &'s PortView,
    b: &'s BondPort,
    /// `None`: the port does not carry the VLAN.
    egress: Option<Egress>,
    /// This PMD's row of the bond's bucket loads, unless in active-backup.
    loads: Option<LoadRow<'s>>,
    /// Member positions below this have a member and an interface.
    valid: usize,
    /// How many of `members` are filled in.
    known: usize,
    /// The output of the first members.
    members: [MemberOut<'s>; TABLE_MEMBERS],
    /// (bucket, member position) when every frame of the run hashes alike:
    /// active-backup, and balance-slb (source MAC and VLAN are the run's).
    fixed: Option<(u8, usize)>,
}

/// What happens to a frame the hash sends to one bond member.
#[derive(Copy, Clone)]
enum MemberOut<'s> {
    /// Queue on this interface, whose counters these are.
    Send(IfaceIdx, &'s CounterBlock, Egress),
    /// Drop, counting `why` in that block.
    Drop(&'s CounterBlock, Counter),
}

/// What to do with every frame of one (VLAN, source, destination) run: the
/// [`Decision`] with its output port resolved, so that the frames after the
/// first of a conversation are only edited and queued.
#[derive(Copy, Clone)]
enum Plan<'s> {
    /// One target (a drop, or the unicast output port).
    One(Target<'s>),
    /// Send a copy out of every other port that carries the VLAN.
    Flood,
}

/// The first word of the decision cache key of a frame whose VLAN is
/// `vlan` and destination `dst`; bit 60 is balance-slb's source check.
/// Never `u64::MAX`.
#[inline(always)]
fn key_hi(vlan: u16, dst: MacAddr, slb_check: bool) -> u64 {
    dst.to_u64() | u64::from(vlan & 0x0fff) << 48 | u64::from(slb_check) << 60
}

/// Start loading the MAC-table buckets of every source and destination
/// address of a burst, so that the cache misses of a burst of many
/// stations overlap instead of stalling one frame at a time. `untagged` is
/// the VLAN of the port's untagged frames; a guess that turns out wrong
/// (a VLAN the port refuses) costs one wasted prefetch. Skipped when the
/// first and last frames share their addresses, the mark of a burst of
/// one conversation, whose lookups the run cache already saves.
#[inline(never)]
fn prefetch_stations<P: Packet>(br: &BridgeView, untagged: u16, pkts: &Burst<P>) {
    let (Some(first), Some(last)) = (pkts.first(), pkts.last()) else {
        return;
    };
    let macs = |p: &P| p.data().first_chunk::<12>().copied();
    if pkts.len() < 3 || macs(first) == macs(last) {
        return;
    }
    // An address the previous frame had in the same role is not fetched
    // again (one destination for many sources, or the reverse).
    let (mut last_dst, mut last_src) = (u64::MAX, u64::MAX);
    for p in pkts.iter() {
        let Some(h) = p.data().first_chunk::<16>() else {
            continue;
        };
        let vlan = if u16::from_be_bytes([h[12], h[13]]) == ETHERTYPE_VLAN {
            u16::from_be_bytes([h[14], h[15]]) & 0x0fff
        } else {
            untagged
        };
        let dst = MacAddr([h[0], h[1], h[2], h[3], h[4], h[5]]);
        let src = MacAddr([h[6], h[7], h[8], h[9], h[10], h[11]]);
        let (d, s) = (
            dst.to_u64() | u64::from(vlan) << 48,
            src.to_u64() | u64::from(vlan) << 48,
        );
        if s != last_src {
            br.mac.prefetch(vlan, src);
            last_src = s;
        }
        if d != last_dst && !dst.is_multicast() {
            br.mac.prefetch(vlan, dst);
            last_dst = d;
        }
    }
}

/// An IEEE 802.1D reserved group address, 01:80:c2:00:00:00 to 0f.
#[inline(always)]
fn is_reserved_group(mac: &MacAddr) -> bool {
    mac.to_u64() & !0xf == 0x0180_c200_0000
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

/// The first 18 bytes of a frame: addresses, ethertype or tag, and the two
/// bytes after it (the inner ethertype of a tagged frame). Frames with the
/// same first 18 bytes parse the same ([`Pmd::repeat_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeadSig(u64, u64, u16);

impl HeadSig {
    /// `None` for a frame shorter than 18 bytes.
    #[inline(always)]
    fn of(frame: &[u8]) -> Option<HeadSig> {
        let h = frame.first_chunk::<18>()?;
        let (a, rest) = h.split_first_chunk::<8>()?;
        let (b, c) = rest.split_first_chunk::<8>()?;
        let c = c.first_chunk::<2>()?;
        Some(HeadSig(
            u64::from_ne_bytes(*a),
            u64::from_ne_bytes(*b),
            u16::from_ne_bytes(*c),
        ))
    }
}

/// Whether a frame received with `vid` (its tag, if any) in `vlan` needs a
/// VLAN edit to leave a port of egress kind `e`: [`Pmd::emit`]'s cases.
#[inline(always)]
fn needs_edit(e: Egress, vid: Option<u16>, vlan: u16) -> bool {
    !matches!((e, vid), (Egress::Untagged, None))
        && !matches!((e, vid), (Egress::Tagged, Some(v)) if v == vlan)
}

/// Frames waiting for one interface, and their length in bytes.
#[derive(Debug)]
struct OutQueue<P> {
    pkts: Burst<P>,
    bytes: u64,
    /// The egress meter of the interface's port, or [`NO_METER`].
    meter: u16,
}

impl<P> OutQueue<P> {
    fn new() -> OutQueue<P> {
        OutQueue {
            pkts: Burst::new(),
            bytes: 0,
            meter: NO_METER,
        }
    }
}

/// One PMD thread's mutable forwarding state.
///
/// Nothing here allocates once [`Pmd::sync`] has sized it for a snapshot.
#[derive(Debug)]
pub struct Pmd<P: Packet> {
    id: usize,
    /// Pending output per interface.
    out: Vec<OutQueue<P>>,
    /// Interfaces with pending output, in first-use order.
    pending: SmallVec<[IfaceIdx; 16]>,
    learn: SmallVec<[Learn; BURST]>,
    drops: Burst<P>,
    counters: PmdCounts,
    /// QoS meters (ingress policing, egress QoS).
    qos: PmdQos,
    /// The time of the burst being processed, for the egress meters.
    now: Nanos,
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
            counters: PmdCounts::default(),
            qos: PmdQos::default(),
            now: Nanos::ZERO,
        }
    }

    /// This thread's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Thread-level counters.
    pub fn counters(&self) -> &PmdCounts {
        &self.counters
    }

    /// Thread-level counters, for the counts the caller keeps (packets
    /// received, cycles, iterations).
    pub fn counters_mut(&mut self) -> &mut PmdCounts {
        &mut self.counters
    }

    /// Size the per-interface state for `snap`. Call when adopting a new
    /// snapshot, after [`Pmd::flush`]. May allocate.
    pub fn sync(&mut self, snap: &Snapshot) {
        debug_assert!(self.pending.is_empty(), "sync with output pending");
        self.out.resize_with(snap.ifaces.len(), OutQueue::new);
        self.out.truncate(snap.ifaces.len());
        let out = &mut self.out;
        self.qos.sync(self.id, snap, |i, k| {
            if let Some(q) = out.get_mut(usize::from(i)) {
                q.meter = k;
            }
        });
        // An interface is pending at most once: with room for all of them,
        // queueing output never allocates.
        self.pending.reserve(snap.ifaces.len());
    }

    /// Run one burst received on `in_iface` at `now` through the pipeline;
    /// `pkts` is left empty. Output is queued per interface until
    /// [`Pmd::flush`], which meters it with the same `now`.
    pub fn process<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        in_iface: IfaceIdx,
        pkts: &mut Burst<P>,
        now: Nanos,
        io: &mut I,
    ) {
        if pkts.is_empty() {
            return;
        }
        self.now = now;
        let now = now.millis();
        debug_assert_eq!(self.out.len(), snap.ifaces.len(), "Pmd::sync not called");
        let Some(ifv) = snap.ifaces.get(in_iface as usize) else {
            P::free_bulk(pkts);
            return;
        };
        let cnt = ifv.counters.pmd(self.id);
        let n = pkts.len() as u64;
        cnt.add(Counter::RxPackets, n);

        let port = match snap.bridges.get(ifv.bridge as usize) {
            Some(br) if ifv.bridge != NO_BRIDGE && ifv.admin_up => {
                br.ports.get(ifv.port as usize).map(|p| (br, p))
            }
            _ => None,
        };
        let Some((br, port)) = port else {
            cnt.add(
                Counter::RxBytes,
                pkts.iter().map(|p| p.pkt_len() as u64).sum(),
            );
            cnt.add(Counter::RxAdminDown, n);
            P::free_bulk(pkts);
            return;
        };
        if ifv.policing.is_some() {
            self.police_rx(in_iface, cnt, pkts);
            if pkts.is_empty() {
                return;
            }
        }

        // Bond admission depends only on the member and the destination
        // class, so it is computed once per burst.
        let admission = port.bond().map(|b| Admission {
            unicast: b.view.admit(ifv.member, false),
            multicast: b.view.admit(ifv.member, true),
        });
        let max_len = ifv.max_frame_len as usize;
        let mut rx_bytes = 0u64;
        if br.mac.prefers_prefetch() {
            prefetch_stations(br, port.vlan.ingress(None).unwrap_or(0), pkts);
        }

        // The decision cache: the key of the last (VLAN, source,
        // destination) and what to do with its frames.
        let mut last_hi = u64::MAX;
        let mut last_src = 0u64;
        let mut plan = Plan::Flood;
        // A frame that [`Pmd::repeat_run`] handed back: the first of the
        // burst's next run.
        let mut carry: Option<P> = None;
        let mut drain = pkts.drain(..);

        loop {
            let Some(pkt) = carry.take().or_else(|| drain.next()) else {
                break;
            };
            let len = pkt.pkt_len();
            rx_bytes += len as u64;
            if len > max_len {
                self.drop(cnt, Counter::RxOversize, pkt);
                continue;
            }
            let Ok(l2) = parse_l2(pkt.data()) else {
                self.drop(cnt, Counter::RxMalformed, pkt);
                continue;
            };
            // Slow Protocols frames are steered by ethertype, whatever
            // their destination (as OVS and Linux do): never bridged.
            let slow = l2.tag.is_none() && l2.ethertype == ETHERTYPE_SLOW;
            if slow || is_reserved_group(&l2.dst) {
                self.reserved(cnt, ifv.lacp, in_iface, slow, pkt, io);
                continue;
            }
            // A frame whose IP (or 802.3) header declares more bytes than
            // it carries is dropped, not switched.
            let off = l2.payload_offset;
            if !declared_lengths_ok(l2.ethertype, &pkt.data()[off..], len.saturating_sub(off)) {
                self.drop(cnt, Counter::RxMalformed, pkt);
                continue;
            }
            let mut slb_check = false;
            let mut slb_admission = false;
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
                    Admit::DropIfMoved => {
                        slb_admission = true;
                        slb_check = !is_gratuitous_arp(l2.ethertype, l2.payload_offset, pkt.data())
                    }
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

            let hi = key_hi(vlan, l2.dst, slb_check);
            let src = l2.src.to_u64();
            if hi != last_hi || src != last_src {
                last_src = src;
                if hi == last_hi && !slb_check && matches!(plan, Plan::One(Target::Iface(..))) {
                    // Same VLAN and destination from another source, to a
                    // single interface, with no balance-slb check: only
                    // learning differs. Many stations behind one port
                    // talking to one server take this path.
                    self.learn_src(br, ifv.port, vlan, l2.src, now);
                } else {
                    last_hi = hi;
                    plan = self.plan(
                        snap, br, cnt, ifv.port, slb_check, vlan, l2.src, l2.dst, now,
                    );
                }
            }
            match &plan {
                // The common cases first: unicast to a single interface or
                // to a bond.
                Plan::One(target @ (Target::Iface(..) | Target::Bond(_))) => {
                    // Balance-slb admission of an ARP frame reads its
                    // payload (gratuitous or not), so those never repeat.
                    let head = HeadSig::of(pkt.data())
                        .filter(|_| !(slb_admission && l2.ethertype == ETHERTYPE_ARP));
                    let ing = Ingress {
                        vid,
                        vlan,
                        src: l2.src,
                        l3: l2.payload_offset,
                        ethertype: l2.ethertype,
                    };
                    self.send_to(snap, target, pkt, &ing, io);
                    if let Some(head) = head {
                        carry = self.repeat_run(
                            snap,
                            cnt,
                            &mut drain,
                            (head, max_len),
                            &ing,
                            target,
                            &mut rx_bytes,
                            io,
                        );
                    }
                }
                Plan::One(Target::Drop(c, why)) => self.drop(c, *why, pkt),
                Plan::Flood => {
                    let ing = Ingress {
                        vid,
                        vlan,
                        src: l2.src,
                        l3: l2.payload_offset,
                        ethertype: l2.ethertype,
                    };
                    if let Err(pkt) = self.flood(snap, br, ifv.port, pkt, &ing, io) {
                        self.drop(cnt, Counter::RxNoOutput, pkt);
                    }
                }
            }
        }
        cnt.add(Counter::RxBytes, rx_bytes);

        if !self.learn.is_empty() {
            let outcome = br.mac.learn_batch(&self.learn, now);
            if outcome.skipped {
                self.counters[PmdCounter::LearnSkipped] += 1;
            } else {
                self.counters[PmdCounter::Learned] += u64::from(outcome.learned + outcome.moved);
            }
            self.learn.clear();
        }
        if !self.drops.is_empty() {
            P::free_bulk(&mut self.drops);
        }
    }

    /// The frames that follow one sent to `target` (an interface or a
    /// bond) and start with the same 18 bytes (`head`): they parse to the
    /// same addresses, tag and ethertype (`ing`), so the same VLAN and plan
    /// apply, and only their length checks and the output remain (a bond
    /// still hashes each frame). Frames longer than `max_len` and the first
    /// frame that differs are handed back for the full path. Out of line,
    /// so that this loop keeps its values in registers.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn repeat_run<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        cnt: &CounterBlock,
        pkts: &mut impl FusedIterator<Item = P>,
        (head, max_len): (HeadSig, usize),
        ing: &Ingress,
        target: &Target<'_>,
        rx_bytes: &mut u64,
        io: &mut I,
    ) -> Option<P> {
        // A bond whose member is the same for the whole run (active-backup,
        // balance-slb) is resolved once: its frames go straight to that
        // member, and the run's bytes are added to the bucket at the end.
        let mut target = *target;
        let mut bucket_load = None;
        if let Target::Bond(t) = target {
            if let Some((bucket, m)) = t.fixed {
                if let (true, Some(MemberOut::Send(i, ic, e))) = (m < t.valid, t.members.get(m)) {
                    if m < t.known {
                        target = Target::Iface(*i, ic, *e);
                        bucket_load = t.loads.map(|row| (row, bucket));
                    }
                }
            }
        }
        let (mut bytes, mut sent) = (0u64, 0u64);
        // Frames that need no VLAN edit go straight onto the interface's
        // queue until one needs more than that (a different header, a bad
        // length); that one and the rest take the loop below.
        let mut first = None;
        if let Target::Iface(i, _, e) = target {
            if !needs_edit(e, ing.vid, ing.vlan) {
                let (plain, stop) = self.plain_run(snap, i, pkts, (head, max_len), ing, io);
                (bytes, sent) = (plain, plain);
                first = stop;
            }
        }
        let mut carry = None;
        // When the plain run took every frame, `pkts` (fused) yields none.
        for pkt in first.into_iter().chain(pkts) {
            let len = pkt.pkt_len();
            if len > max_len || HeadSig::of(pkt.data()) != Some(head) {
                carry = Some(pkt);
                break;
            }
            bytes += len as u64;
            let off = ing.l3;
            if declared_lengths_ok(ing.ethertype, &pkt.data()[off..], len - off) {
                sent += len as u64;
                self.send_to(snap, &target, pkt, ing, io);
            } else {
                self.drop(cnt, Counter::RxMalformed, pkt);
            }
        }
        *rx_bytes += bytes;
        if let Some((row, bucket)) = bucket_load {
            row.add(bucket, sent);
        }
        carry
    }

    /// The plain part of a run to interface `iface` whose frames need no
    /// VLAN edit: each frame of the same header (`head`), at most
    /// `max_len` bytes long and with sound declared lengths is queued with
    /// no other decision. Returns the bytes queued and the first frame that
    /// is not like that (`None` when `pkts` ran out).
    #[inline(always)]
    fn plain_run<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        iface: IfaceIdx,
        pkts: &mut impl FusedIterator<Item = P>,
        (head, max_len): (HeadSig, usize),
        ing: &Ingress,
        io: &mut I,
    ) -> (u64, Option<P>) {
        let (off, ethertype) = (ing.l3, ing.ethertype);
        let mut total = 0u64;
        loop {
            let Some(pkt) = pkts.next() else {
                return (total, None);
            };
            let len = pkt.pkt_len();
            let d = pkt.data();
            if len > max_len
                || HeadSig::of(d) != Some(head)
                || !declared_lengths_ok(ethertype, &d[off..], len - off)
            {
                return (total, Some(pkt));
            }
            total += len as u64;
            self.enqueue(snap, iface, pkt, io);
        }
    }

    /// Queue `pkt` (described by `ing`) for a single-destination target.
    #[inline(always)]
    fn send_to<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        target: &Target<'_>,
        pkt: P,
        ing: &Ingress,
        io: &mut I,
    ) {
        match target {
            Target::Iface(i, ic, e) => self.emit(snap, *i, ic, *e, pkt, ing.vid, ing.vlan, io),
            Target::Bond(t) => self.bond_output(snap, t, pkt, ing, io),
            Target::Drop(c, why) => self.drop(c, *why, pkt),
        }
    }

    /// An untagged Slow Protocols frame (`slow`, any destination) or a
    /// frame to 01:80:c2:00:00:0x: Slow Protocols go to the control thread
    /// on LACP interfaces; everything else is dropped.
    #[cold]
    #[inline(never)]
    fn reserved<I: Io<P>>(
        &mut self,
        cnt: &CounterBlock,
        lacp: bool,
        in_iface: IfaceIdx,
        slow: bool,
        pkt: P,
        io: &mut I,
    ) {
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

    /// The plan for the frames of one (VLAN, src, dst) received on `in_port`
    /// (whose interface counters are `cnt`): learn, look up, resolve the
    /// output port. Once per run of such frames, so kept out of the loop.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn plan<'s>(
        &mut self,
        snap: &'s Snapshot,
        br: &'s BridgeView,
        cnt: &'s CounterBlock,
        in_port: PortIdx,
        slb_check: bool,
        vlan: u16,
        src: MacAddr,
        dst: MacAddr,
        now: Millis,
    ) -> Plan<'s> {
        match self.decide(br, in_port, slb_check, vlan, src, dst, now) {
            Decision::Drop(c) => Plan::One(Target::Drop(cnt, c)),
            Decision::Unicast(p) => match br.ports.get(p as usize) {
                Some(op) => Plan::One(self.target(snap, op, vlan, Some(src))),
                None => Plan::Flood,
            },
            Decision::Flood => Plan::Flood,
        }
    }

    /// Refresh the entry of `src` or queue it for learning on `in_port`.
    #[inline(always)]
    fn learn_src(
        &mut self,
        br: &BridgeView,
        in_port: PortIdx,
        vlan: u16,
        src: MacAddr,
        now: Millis,
    ) {
        let check = br.mac.touch_or_check(vlan, src, in_port, now);
        self.queue_learn(check, in_port, vlan, src);
    }

    /// Queue `src` for learning on `in_port` if `check` says so.
    #[inline(always)]
    fn queue_learn(&mut self, check: LearnCheck, in_port: PortIdx, vlan: u16, src: MacAddr) {
        if check.needs_learn() && self.learn.len() < BURST {
            self.learn.push(Learn {
                vlan,
                mac: src,
                port: in_port,
            });
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
        // back to us through the physical switch (and moves nothing).
        if slb_check && check.other_port().is_some() {
            return Decision::Drop(Counter::RxBondLoop);
        }
        self.queue_learn(check, in_port, vlan, src);
        if dst.is_multicast() {
            return Decision::Flood;
        }
        match br.mac.lookup(vlan, dst) {
            Some(p) if p == in_port => Decision::Drop(Counter::RxHairpin),
            Some(p) if (p as usize) < br.ports.len() => Decision::Unicast(p),
            _ => Decision::Flood,
        }
    }

    /// The checks for sending frames of `vlan` out of port `op` that do not
    /// depend on the frame: interface state and the egress VLAN rule (for a
    /// bond, for each member the hash may pick when `run`: the target
    /// serves a run of frames rather than one flooded copy).
    #[inline]
    /// `run` carries the source MAC when the target serves a run of frames.
    fn target<'s>(
        &self,
        snap: &'s Snapshot,
        op: &'s PortView,
        vlan: u16,
        run: Option<MacAddr>,
    ) -> Target<'s> {
        let egress = match op.vlan.egress(vlan) {
            EgressAction::Drop => None,
            EgressAction::Untagged => Some(Egress::Untagged),
            EgressAction::Tagged => Some(Egress::Tagged),
        };
        match &op.kind {
            PortKind::Single(i) => {
                let Some(ifv) = snap.ifaces.get(*i as usize) else {
                    return Target::Drop(op.counters.pmd(self.id), Counter::TxLinkDown);
                };
                let ic = ifv.counters.pmd(self.id);
                if !(ifv.link_up && ifv.admin_up) {
                    return Target::Drop(ic, Counter::TxLinkDown);
                }
                match egress {
                    Some(e) => Target::Iface(*i, ic, e),
                    None => Target::Drop(ic, Counter::TxVlanFiltered),
                }
            }
            PortKind::Bond(b) => {
                let valid = b.view.members.len().min(b.ifaces.len());
                let known = if run.is_some() {
                    valid.min(TABLE_MEMBERS)
                } else {
                    0
                };
                let nothing = MemberOut::Drop(op.counters.pmd(self.id), Counter::TxNoMember);
                let mut members = [nothing; TABLE_MEMBERS];
                for (m, out) in members.iter_mut().enumerate().take(known) {
                    *out = self.member_out(snap, op, b, egress, m);
                }
                let v = &b.view;
                let fixed = match (v.mode, run) {
                    (BondMode::ActiveBackup, _) => Some(0),
                    (BondMode::BalanceSlb, Some(src)) => Some(hash::slb(src, vlan, v.hash_basis)),
                    _ => None,
                }
                .map(|h| {
                    let bucket = hash::bucket(h);
                    (bucket, usize::from(v.buckets[usize::from(bucket)]))
                });
                Target::Bond(BondTarget {
                    op,
                    b,
                    egress,
                    loads: (v.mode != BondMode::ActiveBackup).then(|| b.loads.row(self.id)),
                    valid,
                    known,
                    members,
                    fixed,
                })
            }
        }
    }

    /// What happens to a frame of a VLAN with egress rule `egress` that the
    /// hash sends to member position `m` (below `valid`) of bond port `op`.
    fn member_out<'s>(
        &self,
        snap: &'s Snapshot,
        op: &'s PortView,
        b: &'s BondPort,
        egress: Option<Egress>,
        m: usize,
    ) -> MemberOut<'s> {
        let Some(&iface) = b.ifaces.get(m) else {
            return MemberOut::Drop(op.counters.pmd(self.id), Counter::TxNoMember);
        };
        let Some(ifv) = snap.ifaces.get(iface as usize) else {
            return MemberOut::Drop(op.counters.pmd(self.id), Counter::TxLinkDown);
        };
        let ic = ifv.counters.pmd(self.id);
        if !(ifv.link_up && ifv.admin_up) {
            return MemberOut::Drop(ic, Counter::TxLinkDown);
        }
        match egress {
            Some(e) => MemberOut::Send(iface, ic, e),
            None => MemberOut::Drop(ic, Counter::TxVlanFiltered),
        }
    }

    /// Send `pkt` out of every port but `in_port` that carries its VLAN.
    /// Gives the frame back when there is no such port.
    #[inline(never)]
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

    /// Send `pkt` out of port `op`.
    fn output<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        op: &PortView,
        pkt: P,
        ing: &Ingress,
        io: &mut I,
    ) {
        match self.target(snap, op, ing.vlan, None) {
            Target::Drop(c, why) => self.drop(c, why, pkt),
            Target::Iface(i, ic, e) => self.emit(snap, i, ic, e, pkt, ing.vid, ing.vlan, io),
            Target::Bond(t) => self.bond_output(snap, &t, pkt, ing, io),
        }
    }

    /// Queue `pkt` on the member of bond target `t` that its flow hash
    /// picks. Not inlined: it would crowd the registers of the main loop.
    #[inline(never)]
    fn bond_output<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        t: &BondTarget<'_>,
        pkt: P,
        ing: &Ingress,
        io: &mut I,
    ) {
        let v = &t.b.view;
        let (bucket, m) = match t.fixed {
            Some(f) => f,
            None => {
                let h = match v.mode {
                    BondMode::ActiveBackup => 0,
                    BondMode::BalanceSlb => hash::slb(ing.src, ing.vlan, v.hash_basis),
                    // The NIC's RSS hash is computed over the same 5-tuple:
                    // use it when the frame carries one, as OVS does.
                    BondMode::BalanceTcp => match pkt.rss_hash() {
                        Some(r) => hash::mix(r ^ v.hash_basis),
                        None => match l4_hash(pkt.data(), ing.l3, ing.ethertype, v.hash_basis) {
                            Some(h) => h,
                            None => hash::slb(ing.src, ing.vlan, v.hash_basis),
                        },
                    },
                };
                let bucket = hash::bucket(h);
                (bucket, usize::from(v.buckets[usize::from(bucket)]))
            }
        };
        if m >= t.valid {
            self.drop(t.op.counters.pmd(self.id), Counter::TxNoMember, pkt);
            return;
        }
        if let Some(row) = t.loads {
            row.add(bucket, pkt.pkt_len() as u64);
        }
        let out = match t.members.get(m) {
            Some(out) if m < t.known => *out,
            _ => self.member_out(snap, t.op, t.b, t.egress, m),
        };
        match out {
            MemberOut::Send(iface, ic, e) => {
                self.emit(snap, iface, ic, e, pkt, ing.vid, ing.vlan, io)
            }
            MemberOut::Drop(c, why) => self.drop(c, why, pkt),
        }
    }

    /// Edit the 802.1Q header of a frame of `vlan` that arrived with tag
    /// `vid` for its output port, and queue it on interface `iface` (whose
    /// counters are `ic`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn emit<I: Io<P>>(
        &mut self,
        snap: &Snapshot,
        iface: IfaceIdx,
        ic: &CounterBlock,
        egress: Egress,
        mut pkt: P,
        vid: Option<u16>,
        vlan: u16,
        io: &mut I,
    ) {
        match (egress, vid) {
            (Egress::Untagged, None) => {}
            (Egress::Untagged, Some(_)) => {
                pop_vlan(&mut pkt);
            }
            (Egress::Tagged, Some(v)) if v == vlan => {}
            (Egress::Tagged, Some(_)) => {
                set_vid(pkt.data_mut(), vlan);
            }
            (Egress::Tagged, None) => {
                if !push_vlan(&mut pkt, ETHERTYPE_VLAN, vlan) {
                    self.drop(ic, Counter::TxNoHeadroom, pkt);
                    return;
                }
            }
        }
        self.enqueue(snap, iface, pkt, io);
    }

    /// Append `pkt`, edited for its way out, to `iface`'s batch: the
    /// interface becomes pending with its first frame, and a full batch is
    /// sent first.
    #[inline(always)]
    fn enqueue<I: Io<P>>(&mut self, snap: &Snapshot, iface: IfaceIdx, pkt: P, io: &mut I) {
        let i = iface as usize;
        let queued = self.out[i].pkts.len();
        if queued == 0 {
            self.pending.push(iface);
        } else if queued == BURST {
            // Still pending: the batch goes now, the queue is reused.
            self.tx_one(snap, iface, io);
        }
        let q = &mut self.out[i];
        q.bytes += pkt.pkt_len() as u64;
        q.pkts.push(pkt);
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
        let i = iface as usize;
        if self.out[i].meter != NO_METER {
            self.police_tx(snap, iface);
        }
        let q = &mut self.out[i];
        if q.pkts.is_empty() {
            return;
        }
        let n = q.pkts.len() as u64;
        let mut bytes = core::mem::take(&mut q.bytes);
        io.tx(iface, &mut q.pkts);
        let left = q.pkts.len() as u64;
        if left > 0 {
            let left_bytes: u64 = q.pkts.iter().map(|p| p.pkt_len() as u64).sum();
            bytes = bytes.saturating_sub(left_bytes);
        }
        self.counters[PmdCounter::TxBatches] += 1;
        self.counters[PmdCounter::TxBatchedPackets] += n;
        if let Some(ifv) = snap.ifaces.get(iface as usize) {
            let c = ifv.counters.pmd(self.id);
            c.add(Counter::TxPackets, n - left);
            c.add(Counter::TxBytes, bytes);
            if left > 0 {
                c.add(Counter::TxFull, left);
            }
        }
        if left > 0 {
            P::free_bulk(&mut self.out[iface as usize].pkts);
        }
    }

    /// Ingress policing of a burst received on `in_iface` (counters `cnt`):
    /// frames above the rate are counted (`rx_dropped_qos`, and their
    /// bytes as received) and freed.
    #[inline(never)]
    fn police_rx(&mut self, in_iface: IfaceIdx, cnt: &CounterBlock, pkts: &mut Burst<P>) {
        let Some(m) = self.qos.rx(in_iface) else {
            return;
        };
        let (n, bytes) = qos::police(m, self.now, pkts);
        if n > 0 {
            cnt.add(Counter::RxQos, n);
            cnt.add(Counter::RxBytes, bytes);
        }
    }

    /// Egress QoS of the batch queued for `iface`: frames above the port's
    /// rate are counted on the interface (`tx_dropped_qos`) and freed.
    #[inline(never)]
    fn police_tx(&mut self, snap: &Snapshot, iface: IfaceIdx) {
        let q = &mut self.out[iface as usize];
        let Some(m) = self.qos.tx(q.meter).filter(|_| !q.pkts.is_empty()) else {
            return;
        };
        let (n, bytes) = qos::police(m, self.now, &mut q.pkts);
        if n > 0 {
            q.bytes = q.bytes.saturating_sub(bytes);
            if let Some(ifv) = snap.ifaces.get(iface as usize) {
                ifv.counters.pmd(self.id).add(Counter::TxQos, n);
            }
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

/// balance-tcp's hash of a frame: [`hash::l4`] of
/// [`FiveTuple::extract`]`(frame, l3, ethertype)`, `None` when that is.
///
/// The common case, an IPv4 header without options that is not a later
/// fragment, carrying TCP, UDP or SCTP ports inside its total length, is
/// read directly (the same checks and fields, without building a
/// `FiveTuple`); everything else goes through `FiveTuple::extract`. The
/// tests check that both ways agree on any input.
#[inline(always)]
fn l4_hash(frame: &[u8], l3: usize, ethertype: u16, basis: u32) -> Option<u32> {
    if ethertype == ETHERTYPE_IPV4 {
        let ip = frame.get(l3..)?;
        if let Some(h) = ip.first_chunk::<24>() {
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let proto = h[9];
            if h[0] == 0x45
                && (24..=ip.len()).contains(&total)
                && h[6] & 0x1f == 0
                && h[7] == 0
                && has_ports(proto)
            {
                return Some(hash::l4_ipv4(
                    u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
                    u32::from_be_bytes([h[16], h[17], h[18], h[19]]),
                    proto,
                    u16::from_be_bytes([h[20], h[21]]),
                    u16::from_be_bytes([h[22], h[23]]),
                    basis,
                ));
            }
        }
    }
    FiveTuple::extract(frame, l3, ethertype).map(|t| hash::l4(&t, basis))
}

/// A gratuitous ARP (`ethertype` and the `l3` offset of what follows it):
/// balance-slb lets it through even when its source is learned elsewhere, so
/// a VM that moved is re-learned (as OVS does).
#[inline(never)]
fn is_gratuitous_arp(ethertype: u16, l3: usize, frame: &[u8]) -> bool {
    ethertype == ETHERTYPE_ARP
        && frame
            .get(l3..)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hash as the bond would compute it without the fast path.
    fn reference(frame: &[u8], l3: usize, ethertype: u16, basis: u32) -> Option<u32> {
        FiveTuple::extract(frame, l3, ethertype).map(|t| hash::l4(&t, basis))
    }

    /// An Ethernet + IPv4 frame whose header fields are mostly plausible,
    /// so that the fast path's every condition is exercised both ways.
    fn ipv4_frame() -> impl Strategy<Value = (Vec<u8>, usize)> {
        (
            prop_oneof![
                Just(0x45u8),
                Just(0x46),
                Just(0x4f),
                Just(0x44),
                Just(0x55),
                any::<u8>()
            ],
            0usize..80,
            prop_oneof![Just(0u8), Just(0x20), Just(0x40), Just(0x01), any::<u8>()],
            prop_oneof![Just(0u8), Just(1), any::<u8>()],
            prop_oneof![Just(6u8), Just(17), Just(132), Just(1), any::<u8>()],
            proptest::collection::vec(any::<u8>(), 0..64),
            prop_oneof![Just(14usize), Just(18), 0usize..70],
        )
            .prop_map(|(vi, total, f0, f1, proto, rest, l3)| {
                let mut f = vec![0xaa; l3];
                let mut ip = vec![
                    vi,
                    0,
                    (total >> 8) as u8,
                    total as u8,
                    0,
                    0,
                    f0,
                    f1,
                    64,
                    proto,
                ];
                ip.extend_from_slice(&rest);
                f.extend_from_slice(&ip);
                (f, l3)
            })
    }

    proptest! {
        #[test]
        fn fast_l4_hash_agrees_with_five_tuple(
            (frame, l3) in ipv4_frame(),
            basis in any::<u32>(),
        ) {
            prop_assert_eq!(
                l4_hash(&frame, l3, ETHERTYPE_IPV4, basis),
                reference(&frame, l3, ETHERTYPE_IPV4, basis)
            );
        }

        #[test]
        fn l4_hash_of_any_bytes_agrees(
            frame in proptest::collection::vec(any::<u8>(), 0..100),
            l3 in 0usize..120,
            ethertype in prop_oneof![Just(ETHERTYPE_IPV4), Just(0x86dd), any::<u16>()],
            basis in any::<u32>(),
        ) {
            prop_assert_eq!(
                l4_hash(&frame, l3, ethertype, basis),
                reference(&frame, l3, ethertype, basis)
            );
        }
    }

    /// A balance-slb bond of `n` members, all enabled, bucket `i` on member
    /// `i % n`, hash basis 7.
    fn wide_view(n: u16) -> crate::bond::BondView {
        let members: Vec<u16> = (0..n).collect();
        let mut v = crate::bond::BondView::down(BondMode::BalanceSlb, &members, 7);
        for (i, b) in v.buckets.iter_mut().enumerate() {
            *b = (i % usize::from(n)) as u8;
        }
        v.enabled = (1 << n) - 1;
        v.active = Some(0);
        v.up = true;
        v.lacp_negotiated = true;
        v
    }

    /// How many frames from each of `srcs` (VLAN 1) the balance-slb hash
    /// sends to each member of `view`.
    fn frames_per_member(view: &crate::bond::BondView, srcs: &[MacAddr]) -> Vec<u64> {
        let mut want = vec![0u64; view.members.len()];
        for &s in srcs {
            let h = hash::slb(s, 1, view.hash_basis);
            want[usize::from(view.index_for_hash(h).unwrap())] += 1;
        }
        want
    }

    #[test]
    fn every_member_of_a_wide_bond_gets_its_frames_or_counts_them() {
        // Members past the precomputed table take the per-frame path; both
        // must send each frame where the hash says, or count why not.
        use crate::testkit::{mac, udp_frame, Rig};
        use crate::vlan::PortVlan;
        const N: u16 = 7;
        assert!(usize::from(N) > TABLE_MEMBERS);
        let mut r = Rig::default();
        let (_, a) = r.add_port("a", PortVlan::access(1));
        let view = wide_view(N);
        let (bp, m) = r.add_bond("bond0", PortVlan::trunk_all(), usize::from(N), view.clone());
        // One member inside the table and one past it lose their link.
        for down in [1, 5] {
            r.edit_iface(m[down], |i| i.link_up = false);
        }
        r.mac().add_static(1, mac(0xb), bp).unwrap();
        let srcs: Vec<MacAddr> = (0..2000u16).map(|i| mac(0x100 + i)).collect();
        let frames: Vec<Vec<u8>> = srcs
            .iter()
            .map(|&s| udp_frame(mac(0xb), s, None, 1, 2))
            .collect();
        r.send(a, &frames);
        let want = frames_per_member(&view, &srcs);
        for k in 0..usize::from(N) {
            let sent = r.sent(m[k]);
            if k == 1 || k == 5 {
                assert!(sent.is_empty(), "member {k} is down");
                assert_eq!(r.counter(m[k], Counter::TxLinkDown), want[k], "member {k}");
            } else {
                assert_eq!(sent.len() as u64, want[k], "member {k}");
                assert!(sent.iter().all(|f| crate::testkit::vid_of(f) == Some(1)));
            }
            assert!(want[k] > 0, "no frame hashed to member {k}");
        }
    }

    #[test]
    fn a_bond_that_does_not_carry_the_vlan_counts_on_the_member() {
        // A static entry sends VLAN 1 to a bond that only trunks 300: the
        // frame is dropped as tx_dropped_vlan_filtered on the member the
        // hash picks (or tx_dropped_link_down if that one is down), as
        // before the per-run table existed.
        use crate::testkit::{mac, udp_frame, Rig};
        use crate::vlan::{PortVlan, VlanMode, VlanSet};
        const N: u16 = 6;
        let mut r = Rig::default();
        let (_, a) = r.add_port("a", PortVlan::access(1));
        let trunk =
            PortVlan::new(Some(VlanMode::Trunk), None, &VlanSet::parse("300").unwrap()).unwrap();
        let view = wide_view(N);
        let (bp, m) = r.add_bond("bond0", trunk, usize::from(N), view.clone());
        r.edit_iface(m[4], |i| i.link_up = false);
        r.mac().add_static(1, mac(0xb), bp).unwrap();
        let srcs: Vec<MacAddr> = (0..600u16).map(|i| mac(0x100 + i)).collect();
        let frames: Vec<Vec<u8>> = srcs
            .iter()
            .map(|&s| udp_frame(mac(0xb), s, None, 1, 2))
            .collect();
        r.send(a, &frames);
        let want = frames_per_member(&view, &srcs);
        for k in 0..usize::from(N) {
            assert!(r.sent(m[k]).is_empty());
            let (c, other) = if k == 4 {
                (Counter::TxLinkDown, Counter::TxVlanFiltered)
            } else {
                (Counter::TxVlanFiltered, Counter::TxLinkDown)
            };
            assert_eq!(r.counter(m[k], c), want[k], "member {k}");
            assert_eq!(r.counter(m[k], other), 0, "member {k}");
        }
    }

    #[test]
    fn frames_keep_their_order_and_vlan_per_interface_across_runs() {
        // Runs to a bond in two VLANs alternate with runs to a plain port
        // within bursts; every interface must send all its frames, in
        // arrival order, in their own VLAN.
        use crate::testkit::{mac, udp_frame, vid_of, Rig};
        use crate::vlan::{PortVlan, VlanMode, VlanSet};
        let trunk =
            || PortVlan::new(Some(VlanMode::Trunk), None, &VlanSet::parse("1,2").unwrap()).unwrap();
        let mut r = Rig::default();
        let (_, a) = r.add_port("a", trunk());
        let (cp, c) = r.add_port("c", PortVlan::access(1));
        let mut view = wide_view(2);
        view.mode = BondMode::BalanceTcp;
        let (bp, m) = r.add_bond("bond0", trunk(), 2, view);
        for vlan in [1, 2] {
            r.mac().add_static(vlan, mac(0xb), bp).unwrap();
        }
        r.mac().add_static(1, mac(0xc), cp).unwrap();
        let mut frames = Vec::new();
        let mut seq = 0u16;
        let runs = [5, 3, 7, 1, 1, 9, 2, 4, 6, 8, 3, 11];
        for (k, len) in runs.iter().cycle().take(60).enumerate() {
            // Bond in VLAN 1, bond in VLAN 2, port C in VLAN 1, ...
            let (dst, vlan) = match k % 3 {
                0 => (mac(0xb), 1),
                1 => (mac(0xb), 2),
                _ => (mac(0xc), 1),
            };
            for _ in 0..*len {
                frames.push(udp_frame(dst, mac(0xa), Some(vlan), seq, 80 + vlan));
                seq += 1;
            }
        }
        r.send(a, &frames);
        let port = |f: &Vec<u8>, at: usize| u16::from_be_bytes([f[at], f[at + 1]]);
        let mut total = 0;
        for i in [m[0], m[1]] {
            let sent = r.sent(i);
            assert!(!sent.is_empty());
            // Tagged: the UDP ports start at 14 + 4 + 20.
            assert!(sent.windows(2).all(|w| port(&w[0], 38) < port(&w[1], 38)));
            for f in &sent {
                assert_eq!(vid_of(f), Some(port(f, 40) - 80), "frame {}", port(f, 38));
            }
            total += sent.len();
        }
        let sent = r.sent(c);
        assert!(sent.windows(2).all(|w| port(&w[0], 34) < port(&w[1], 34)));
        assert!(sent.iter().all(|f| vid_of(f).is_none()));
        total += sent.len();
        assert_eq!(total, frames.len());
    }

    #[test]
    fn fast_path_is_taken_for_a_plain_udp_frame() {
        // A frame the fast path reads, compared with the reference, so the
        // property tests above cover the fast path and not only the fallback.
        let f = crate::testkit::udp_frame_ip(
            crate::testkit::mac(1),
            crate::testkit::mac(2),
            None,
            [10, 0, 0, 1],
            [10, 1, 0, 1],
            1234,
            80,
        );
        let h = l4_hash(&f, 14, ETHERTYPE_IPV4, 9);
        assert_eq!(h, reference(&f, 14, ETHERTYPE_IPV4, 9));
        assert_eq!(
            h,
            Some(hash::l4_ipv4(0x0a00_0001, 0x0a01_0001, 17, 1234, 80, 9))
        );
    }
}
