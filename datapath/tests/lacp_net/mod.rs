//! LACP machines wired back to back, shared by the LACP integration tests
//! (`lacp_negotiation.rs`, `lacp_reconfigure.rs`, `lacp_resume.rs`): every
//! frame one node sends on a member is fed to the `rx_frame` of the member
//! at the other end of that "cable", at once and in order. Time is a fake
//! clock that jumps from one `next_deadline` to the next, and a deadline
//! in the past fails the test. Every `enabled_changed` is recorded with its
//! time, so a test can say "never disabled".
//!
//! A cable can be cut ([`Net::set_cable`]) or made lossy ([`Cable::lossy`]:
//! every other frame in each direction is lost, deterministically).
//!
//! A node can be *dead* (a killed daemon): it is not ticked, sends
//! nothing, and frames sent to it are lost. [`Net::replace`] puts a new
//! machine in its place.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};

use datapath::lacp::{
    Lacp, LacpActions, LacpConfig, LacpMode, MemberConfig, MemberId, MuxState, RxState,
    DEFAULT_PORT_PRIORITY,
};
use datapath::time::Millis;
use datapath::wire::lacpdu::{LacpState, Lacpdu};
use datapath::wire::MacAddr;

/// One end of a cable: (node index, member id).
pub type End = (usize, MemberId);

#[derive(Debug)]
pub struct Cable {
    pub ends: [End; 2],
    pub up: bool,
    /// Lose every other frame in each direction (deterministically: the
    /// 2nd, 4th, ... frame put on the cable at each end).
    pub lossy: bool,
    /// Frames put on the cable at `ends[0]` and at `ends[1]`.
    pub carried: [u64; 2],
}

/// A frame that went out.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Millis,
    pub from: End,
    pub frame: [u8; 124],
    pub delivered: bool,
}

/// An `enabled_changed` entry: when, where, and the new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnabledChange {
    pub at: Millis,
    pub end: End,
    pub enabled: bool,
}

pub struct Net {
    pub now: Millis,
    pub nodes: Vec<Lacp>,
    pub dead: Vec<bool>,
    /// Frames sent from these ends are lost (one-way loss).
    pub muted: Vec<End>,
    pub cables: Vec<Cable>,
    pub log: Vec<Sent>,
    /// `enabled` per member as the actions reported it.
    pub enabled: HashMap<End, bool>,
    /// Every `enabled_changed`, in order.
    pub changes: Vec<EnabledChange>,
}

pub fn sys(n: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, n])
}

pub fn config(system: u8, mode: LacpMode, fast: bool) -> LacpConfig {
    LacpConfig {
        mode,
        fast,
        ..LacpConfig::new(sys(system))
    }
}

/// Member `id` of node `node`: port ID `id`, default priority.
pub fn member_cfg(node: usize, id: MemberId) -> MemberConfig {
    MemberConfig {
        port_id: id,
        port_priority: DEFAULT_PORT_PRIORITY,
        mac: MacAddr([0x02, 0, 0, node as u8 + 1, 0, id as u8]),
    }
}

pub const IN_SYNC_COLLECTING_DISTRIBUTING: LacpState = LacpState(
    LacpState::SYNCHRONIZATION.bits()
        | LacpState::COLLECTING.bits()
        | LacpState::DISTRIBUTING.bits(),
);

impl Net {
    pub fn new(cfgs: Vec<LacpConfig>) -> Net {
        let n = cfgs.len();
        Net {
            now: Millis::ZERO,
            nodes: cfgs.into_iter().map(Lacp::new).collect(),
            dead: vec![false; n],
            muted: Vec::new(),
            cables: Vec::new(),
            log: Vec::new(),
            enabled: HashMap::new(),
            changes: Vec::new(),
        }
    }

    /// Add member `a.1` to node `a.0` (with [`member_cfg`]) and `b.1` to
    /// `b.0`, unless they exist, and cable them together.
    pub fn cable(&mut self, a: End, b: End) {
        let now = self.now;
        for (node, id) in [a, b] {
            if !self.nodes[node].members().any(|m| m == id) {
                self.nodes[node].add_member(id, member_cfg(node, id), now);
            }
        }
        self.cables.push(Cable {
            ends: [a, b],
            up: true,
            lossy: false,
            carried: [0; 2],
        });
    }

    /// Cut or restore the cable at `end` without telling either side.
    pub fn set_cable(&mut self, end: End, up: bool) {
        for c in &mut self.cables {
            if c.ends.contains(&end) {
                c.up = up;
            }
        }
    }

    /// Lose (`true`) or carry again every frame sent from `end`; frames
    /// to it still arrive.
    pub fn mute(&mut self, end: End, muted: bool) {
        self.muted.retain(|e| *e != end);
        if muted {
            self.muted.push(end);
        }
    }

    /// Where a frame sent at `end` arrives, if it does. Counts the frame
    /// in [`Cable::carried`] when it goes onto an up cable.
    fn carry(&mut self, end: End) -> Option<End> {
        if self.dead[end.0] || self.muted.contains(&end) {
            return None;
        }
        let c = self
            .cables
            .iter_mut()
            .find(|c| c.up && c.ends.contains(&end))?;
        let from = usize::from(c.ends[1] == end);
        c.carried[from] += 1;
        if c.lossy && c.carried[from] % 2 == 0 {
            return None;
        }
        let to = c.ends[1 - from];
        (!self.dead[to.0]).then_some(to)
    }

    /// Carry out `actions` of `node`, and everything they cause, at `now`.
    pub fn deliver(&mut self, node: usize, actions: LacpActions) {
        let mut queue = VecDeque::from([(node, actions)]);
        let mut rounds = 0;
        while let Some((node, actions)) = queue.pop_front() {
            rounds += 1;
            assert!(rounds < 10_000, "frames ping-pong forever");
            for (id, on) in actions.enabled_changed {
                let prev = self.enabled.insert((node, id), on).unwrap_or(false);
                assert_ne!(prev, on, "enabled_changed repeated a value for {node}/{id}");
                self.changes.push(EnabledChange {
                    at: self.now,
                    end: (node, id),
                    enabled: on,
                });
            }
            for (id, frame) in actions.tx {
                let to = self.carry((node, id));
                self.log.push(Sent {
                    at: self.now,
                    from: (node, id),
                    frame,
                    delivered: to.is_some(),
                });
                if let Some((pn, pid)) = to {
                    let a = self.nodes[pn].rx_frame(pid, &frame, self.now);
                    queue.push_back((pn, a));
                }
            }
        }
    }

    pub fn tick_all(&mut self) {
        for n in 0..self.nodes.len() {
            if self.dead[n] {
                continue;
            }
            let a = self.nodes[n].tick(self.now);
            self.deliver(n, a);
        }
    }

    /// Run every live node up to and including time `t`, waking each time
    /// one asks to through `next_deadline`. Panics if a deadline is
    /// earlier than `now` (a machine asking for a time already past).
    pub fn run_until(&mut self, t: Millis) {
        let mut steps = 0;
        loop {
            let next = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(n, _)| !self.dead[*n])
                .filter_map(|(_, l)| l.next_deadline())
                .min();
            match next {
                Some(d) if d <= t => {
                    steps += 1;
                    assert!(steps < 1_000_000, "next_deadline never moves on");
                    assert!(
                        d >= self.now,
                        "deadline {d:?} in the past (now {:?})",
                        self.now
                    );
                    self.now = d;
                    self.tick_all();
                }
                _ => break,
            }
        }
        self.now = t;
        self.tick_all();
    }

    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now + ms);
    }

    /// Stop node `n` (no ticks, no frames in or out).
    pub fn kill(&mut self, n: usize) {
        self.dead[n] = true;
    }

    /// Put `l` in place of node `n` and bring it to life. Its members'
    /// `enabled` start false (a new process). `l`'s clock must not be
    /// behind `now` ([`Net::run_until`] rejects past deadlines).
    pub fn replace(&mut self, n: usize, l: Lacp) {
        self.nodes[n] = l;
        self.dead[n] = false;
        self.enabled.retain(|(node, _), _| *node != n);
    }

    pub fn lacp(&self, node: usize) -> &Lacp {
        &self.nodes[node]
    }

    pub fn all_enabled(&self, node: usize) -> bool {
        let l = self.lacp(node);
        l.members().all(|m| l.member_enabled(m))
    }

    /// LACPDUs sent from `end` at or after `since`.
    pub fn lacpdus_from(&self, end: End, since: Millis) -> Vec<(Millis, Lacpdu)> {
        self.log
            .iter()
            .filter(|s| s.from == end && s.at >= since)
            .filter_map(|s| Lacpdu::parse(&s.frame).ok().map(|p| (s.at, p)))
            .collect()
    }

    /// When the last frame sent from `end` reached its peer. Panics if none
    /// did.
    pub fn last_delivery_from(&self, end: End) -> Millis {
        self.log
            .iter()
            .rev()
            .find(|s| s.from == end && s.delivered)
            .map(|s| s.at)
            .unwrap()
    }

    /// A mark in the log: [`Net::lacpdus_after`] returns what was sent
    /// after it, even at the same time.
    pub fn mark(&self) -> usize {
        self.log.len()
    }

    /// LACPDUs sent from `end` since `mark` ([`Net::mark`]).
    pub fn lacpdus_after(&self, end: End, mark: usize) -> Vec<(Millis, Lacpdu)> {
        self.log[mark..]
            .iter()
            .filter(|s| s.from == end)
            .filter_map(|s| Lacpdu::parse(&s.frame).ok().map(|p| (s.at, p)))
            .collect()
    }

    pub fn rx_state(&self, end: End) -> RxState {
        self.lacp(end.0).status().member(end.1).unwrap().rx_state
    }

    /// `enabled_changed (m, false)` reported for `end` at or after `since`.
    pub fn disables(&self, end: End, since: Millis) -> Vec<Millis> {
        self.changes
            .iter()
            .filter(|c| c.end == end && !c.enabled && c.at >= since)
            .map(|c| c.at)
            .collect()
    }

    /// When `end` was last reported enabled, at or after `since`.
    pub fn enabled_at(&self, end: End, since: Millis) -> Option<Millis> {
        self.changes
            .iter()
            .find(|c| c.end == end && c.enabled && c.at >= since)
            .map(|c| c.at)
    }

    /// Link expirations and defaults of `end`.
    pub fn expiries(&self, end: End) -> (u64, u64) {
        let c = self.lacp(end.0).status().member(end.1).unwrap().counters;
        (c.link_expired, c.link_defaulted)
    }
}

/// Two nodes (systems 1 and 2) with cables between members `ids[i]` of
/// both.
pub fn pair(a: LacpConfig, b: LacpConfig, ids: &[MemberId]) -> Net {
    let mut net = Net::new(vec![a, b]);
    for &i in ids {
        net.cable((0, i), (1, i));
    }
    net
}

/// Every member of `node` is enabled, current, distributing, and knows its
/// partner exactly as the partner describes itself.
pub fn assert_fully_negotiated(net: &Net, node: usize, peer: usize) {
    let l = net.lacp(node);
    let st = l.status();
    assert!(st.negotiated, "node {node} not negotiated: {st:#?}");
    for m in &st.members {
        assert!(m.may_enable, "node {node} member {}: {m:#?}", m.id);
        assert!(l.member_enabled(m.id));
        assert_eq!(
            net.enabled.get(&(node, m.id)),
            Some(&true),
            "actions said so"
        );
        assert_eq!(m.rx_state, RxState::Current);
        assert_eq!(m.mux_state, MuxState::Distributing);
        assert!(m.attached);
        assert!(m.actor.state.contains(IN_SYNC_COLLECTING_DISTRIBUTING));
        let other = net.lacp(peer).status();
        let theirs = other.members.iter().find(|p| p.id == m.id).unwrap();
        assert_eq!(m.partner, theirs.actor, "node {node} member {}", m.id);
    }
}
