//! One PMD thread's QoS meters: ingress policing per interface, egress QoS
//! per port.
//!
//! The meters live in the thread's [`super::Pmd`], one per (interface or
//! port, thread), so metering takes no lock and no atomic operation. Each
//! meters the thread's share of the configured rate ([`QosShare`]). When a
//! new snapshot is adopted, a meter whose share did not change is kept with
//! its tokens; a new or changed one starts full.

use std::collections::HashMap;
use std::sync::Arc;

use super::snapshot::{IfaceIdx, PortKind, QosShare, Snapshot};
use crate::packet::{Burst, Packet};
use crate::qos::{EgressQos, Meter, Rate, MAX_BURST};
use crate::time::Nanos;

/// Bytes of a frame the meters do not charge: its Ethernet header. OVS
/// defines the rates in "bytes of IP packets ... not link specific (e.g.
/// Ethernet) headers" (vswitch.xml, QoS `cir`), and OVS-DPDK charges
/// `pkt_len - 14` for a frame (a VLAN tag is charged).
const UNCHARGED: u32 = 14;

/// What the meters charge for a frame of `len` bytes.
#[inline(always)]
fn charged(len: usize) -> u32 {
    (len as u32).saturating_sub(UNCHARGED)
}

/// [`OutQueue`](super::pmd) meter index of an interface whose port has no
/// egress QoS.
pub(super) const NO_METER: u16 = u16::MAX;

/// A meter, the share it enforces and what it belongs to.
#[derive(Debug)]
struct Held<T> {
    /// Interface or port name.
    key: Arc<str>,
    share: T,
    meter: Meter,
}

/// Keep `old`'s meter if it enforces the same share for the same key.
fn keep_or_new<T: PartialEq>(
    old: &mut HashMap<Arc<str>, Held<T>>,
    key: &Arc<str>,
    share: T,
    new: impl FnOnce(&T) -> Meter,
) -> Held<T> {
    match old.remove(key) {
        Some(h) if h.share == share => h,
        _ => Held {
            key: key.clone(),
            meter: new(&share),
            share,
        },
    }
}

/// One PMD thread's meters.
#[derive(Debug, Default)]
pub(super) struct PmdQos {
    /// Ingress meters by interface index.
    rx: Vec<Option<Held<Rate>>>,
    /// Egress meters, one per port with egress QoS.
    tx: Vec<Held<EgressQos>>,
}

impl PmdQos {
    /// Meters for `snap`, as seen by PMD `pmd`. `out_meter(iface, k)` is
    /// told, for every interface, the index of its port's egress meter (or
    /// [`NO_METER`]).
    pub(super) fn sync(
        &mut self,
        pmd: usize,
        snap: &Snapshot,
        mut out_meter: impl FnMut(IfaceIdx, u16),
    ) {
        let mut old_rx: HashMap<Arc<str>, Held<Rate>> = self
            .rx
            .drain(..)
            .flatten()
            .map(|h| (h.key.clone(), h))
            .collect();
        // A new meter starts full: refilled from time zero, it is capped.
        self.rx = snap
            .ifaces
            .iter()
            .map(|ifv| {
                let q = ifv.policing.as_deref()?;
                let share = share_of(q, pmd, u64::from(charged(ifv.max_frame_len as usize)));
                let new = |r: &Rate| Meter::Single(crate::qos::TokenBucket::new(*r, Nanos::ZERO));
                Some(keep_or_new(&mut old_rx, &ifv.name, share, new))
            })
            .collect();

        let mut old_tx: HashMap<Arc<str>, Held<EgressQos>> =
            self.tx.drain(..).map(|h| (h.key.clone(), h)).collect();
        for i in 0..snap.ifaces.len() {
            out_meter(i as IfaceIdx, NO_METER);
        }
        for br in &snap.bridges {
            for port in &br.ports {
                let Some(q) = port.egress_qos.as_deref() else {
                    continue;
                };
                let members: &[IfaceIdx] = match &port.kind {
                    PortKind::Single(i) => core::slice::from_ref(i),
                    PortKind::Bond(b) => &b.ifaces,
                };
                let longest = members
                    .iter()
                    .filter_map(|i| snap.ifaces.get(usize::from(*i)))
                    .map(|v| u64::from(charged(v.max_frame_len as usize)))
                    .max()
                    .unwrap_or(0);
                let (k, n) = q.share_of(pmd);
                let share = q.settings.share(k, n, longest);
                let new = |e: &EgressQos| Meter::egress(e, Nanos::ZERO);
                let Ok(idx) = u16::try_from(self.tx.len()) else {
                    continue;
                };
                if idx == NO_METER {
                    continue;
                }
                self.tx
                    .push(keep_or_new(&mut old_tx, &port.name, share, new));
                for i in members {
                    out_meter(*i, idx);
                }
            }
        }
    }

    /// The ingress meter of interface `iface`.
    #[inline(always)]
    pub(super) fn rx(&mut self, iface: IfaceIdx) -> Option<&mut Meter> {
        Some(&mut self.rx.get_mut(usize::from(iface))?.as_mut()?.meter)
    }

    /// Egress meter `k`.
    #[inline(always)]
    pub(super) fn tx(&mut self, k: u16) -> Option<&mut Meter> {
        Some(&mut self.tx.get_mut(usize::from(k))?.meter)
    }
}

/// PMD `pmd`'s share of ingress policing `q`.
fn share_of(q: &QosShare<Rate>, pmd: usize, min_burst: u64) -> Rate {
    let (k, n) = q.share_of(pmd);
    q.settings.share(k, n, min_burst)
}

/// Meter `pkts` at `now` with `m` (each frame charged [`charged`] bytes):
/// the frames that pass stay in `pkts`, in order; the others are freed.
/// Returns (frames, bytes) dropped (whole frames' bytes).
#[inline(never)]
pub(super) fn police<P: Packet>(m: &mut Meter, now: Nanos, pkts: &mut Burst<P>) -> (u64, u64) {
    let n = pkts.len();
    let mask = m.police(now, pkts.iter().map(|p| charged(p.pkt_len())));
    if n <= MAX_BURST && mask == u64::MAX >> (64 - n.max(1)) {
        return (0, 0);
    }
    // Stable compaction: the passing frames move to the front.
    let mut kept = 0;
    for i in 0..n {
        if i < MAX_BURST && mask >> i & 1 == 1 {
            pkts.swap(kept, i);
            kept += 1;
        }
    }
    let mut dropped: Burst<P> = pkts.drain(kept..).collect();
    let bytes = dropped.iter().map(|p| p.pkt_len() as u64).sum();
    let count = dropped.len() as u64;
    P::free_bulk(&mut dropped);
    (count, bytes)
}
