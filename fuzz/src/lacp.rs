//! The LACP machine fed arbitrary frames: a bond of two members
//! negotiated with a partner, then a sequence (chosen by the fuzzer) of
//! garbage frames, mutated LACPDUs and Marker PDUs, valid keep-alive
//! LACPDUs, forged LACPDUs claiming our own system ID, and clock steps.
//!
//! The sequence may also restart the daemon: a fresh machine resumes from
//! what the running one saved (`Lacp::saved`, `Lacp::resume`).
//!
//! Checked after every received frame:
//! - a frame that is neither a valid LACPDU nor a valid Marker PDU counts
//!   as a bad PDU;
//! - a frame counted as bad changes nothing: no member is enabled or
//!   disabled, no partner changes, nothing is sent;
//! - a member that was resuming is enabled by a frame only if that frame
//!   came from its saved partner port, in sync.
//!
//! Checked at every restart: resuming never enables a member by itself.

use datapath::lacp::{
    Lacp, LacpConfig, LacpMemberStatus, LacpMode, LacpSaved, MemberConfig, MemberId,
    DEFAULT_PORT_PRIORITY,
};
use datapath::time::Millis;
use datapath::wire::lacpdu::{LacpInfo, LacpState, Lacpdu};
use datapath::wire::marker::MarkerPdu;
use datapath::wire::MacAddr;

use crate::bytes::Bytes;

const OURS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
const THEIRS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xbb]);
const MEMBERS: [MemberId; 2] = [1, 2];

const IN_SYNC: LacpState = LacpState(
    LacpState::ACTIVITY.0
        | LacpState::AGGREGATION.0
        | LacpState::SYNCHRONIZATION.0
        | LacpState::COLLECTING.0
        | LacpState::DISTRIBUTING.0,
);

fn partner_port(m: MemberId, state: LacpState) -> LacpInfo {
    LacpInfo {
        sys_priority: 0x8000,
        sys_id: THEIRS,
        key: 9,
        port_priority: 0x8000,
        port_id: 100 + m,
        state,
    }
}

fn frame(actor: LacpInfo, partner: LacpInfo) -> [u8; 124] {
    Lacpdu {
        actor,
        partner,
        collector_max_delay: 0,
    }
    .encode(MacAddr([0x02, 0, 0, 0, 2, actor.port_id as u8]))
}

fn status(l: &Lacp, m: MemberId) -> LacpMemberStatus {
    l.status()
        .members
        .into_iter()
        .find(|s| s.id == m)
        .expect("member exists")
}

/// Our side of the exchange: what the partner echoes as its view of us.
fn actor_of(l: &Lacp, m: MemberId) -> LacpInfo {
    status(l, m).actor
}

fn member_cfg(m: MemberId) -> MemberConfig {
    MemberConfig {
        port_id: m,
        port_priority: DEFAULT_PORT_PRIORITY,
        mac: MacAddr([0x02, 0, 0, 0, 1, m as u8]),
    }
}

/// A fresh bond with both members, carriers up, nothing sent.
fn fresh(now: Millis) -> Lacp {
    let mut l = Lacp::new(LacpConfig {
        mode: LacpMode::Active,
        fast: true,
        ..LacpConfig::new(OURS)
    });
    for m in MEMBERS {
        l.add_member(m, member_cfg(m), now);
        l.set_carrier(m, true, now);
    }
    l
}

/// A bond with both members negotiated with `THEIRS` at `now`.
fn negotiated() -> (Lacp, Millis) {
    let mut l = fresh(Millis(0));
    let mut now = Millis(0);
    l.tick(now);
    for _ in 0..12 {
        now = Millis(now.0 + 500);
        for m in MEMBERS {
            let ours = actor_of(&l, m);
            l.rx_frame(m, &frame(partner_port(m, IN_SYNC), ours), now);
        }
        l.tick(now);
    }
    assert!(
        MEMBERS.iter().all(|&m| l.member_enabled(m)),
        "setup: {:?}",
        l.status()
    );
    (l, now)
}

/// Receive `f` on `m` and check the invariants above. `saved`: what the
/// machine resumed from, if it did.
fn receive(l: &mut Lacp, m: MemberId, f: &[u8], now: Millis, saved: Option<&LacpSaved>) {
    let before: Vec<_> = MEMBERS.iter().map(|&i| status(l, i)).collect();
    let enabled: Vec<_> = MEMBERS.iter().map(|&i| l.member_enabled(i)).collect();
    let resuming = l.member_resuming(m);
    let a = l.rx_frame(m, f, now);
    if resuming && l.member_enabled(m) {
        let want = saved
            .and_then(|s| s.members.iter().find(|s| s.id == m))
            .expect("a resuming member was saved")
            .partner;
        let pdu = Lacpdu::parse(f).expect("only a LACPDU confirms a resume");
        let got = pdu.actor;
        assert!(
            (
                got.port_id,
                got.port_priority,
                got.sys_id,
                got.sys_priority,
                got.key
            ) == (
                want.port_id,
                want.port_priority,
                want.sys_id,
                want.sys_priority,
                want.key
            ) && got.state.is_synchronized(),
            "a resume was confirmed by {got:?}, saved {want:?}"
        );
    }
    let after = status(l, m);
    let idx = MEMBERS.iter().position(|&i| i == m).expect("a member");
    let bad = after.counters.rx_bad_pdus > before[idx].counters.rx_bad_pdus;
    if Lacpdu::parse(f).is_err() && MarkerPdu::parse(f).is_err() {
        assert!(bad, "an invalid frame was not counted as bad: {f:02x?}");
    }
    if bad {
        assert!(a.is_empty(), "a bad PDU caused actions: {a:?}");
        for (i, &id) in MEMBERS.iter().enumerate() {
            let s = status(l, id);
            assert_eq!(s.partner, before[i].partner, "a bad PDU changed a partner");
            assert_eq!(
                s.attached, before[i].attached,
                "a bad PDU changed selection"
            );
            assert_eq!(l.member_enabled(id), enabled[i]);
        }
    }
}

/// One fuzz case.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let (mut l, mut now) = negotiated();
    let mut saved: Option<LacpSaved> = None;
    let mut steps = 0;
    while !b.is_empty() && steps < 256 {
        steps += 1;
        let m = MEMBERS[b.below(MEMBERS.len())];
        let resumed = saved.as_ref();
        match b.below(7) {
            0 => {
                // Raw bytes, perhaps with a Slow Protocols header.
                let n = b.below(140);
                let mut f = b.take(n).to_vec();
                if b.bool() && f.len() >= 15 {
                    f[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0, 0, 0x02]);
                    f[12..14].copy_from_slice(&[0x88, 0x09]);
                    f[14] = b.pick(&[1, 2, 3, 10]);
                }
                receive(&mut l, m, &f, now, resumed);
            }
            1 => {
                // A valid LACPDU with some bytes changed, and perhaps cut
                // or extended.
                let ours = actor_of(&l, m);
                let mut f = frame(partner_port(m, LacpState(b.u8())), ours).to_vec();
                for _ in 0..b.below(4) {
                    let i = b.below(f.len());
                    f[i] = b.u8();
                }
                match b.below(4) {
                    0 => f.truncate(b.below(f.len())),
                    1 => f.extend(std::iter::repeat_n(0, b.below(40))),
                    _ => {}
                }
                receive(&mut l, m, &f, now, resumed);
            }
            2 => {
                // A forgery claiming our own system ID.
                let mut actor = partner_port(m, LacpState(b.u8()));
                actor.sys_id = OURS;
                let ours = actor_of(&l, m);
                let f = frame(actor, ours);
                let before = status(&l, m).counters.rx_bad_pdus;
                receive(&mut l, m, &f, now, resumed);
                assert_eq!(status(&l, m).counters.rx_bad_pdus, before + 1);
            }
            3 => {
                // The real partner keeps talking.
                let ours = actor_of(&l, m);
                receive(
                    &mut l,
                    m,
                    &frame(partner_port(m, IN_SYNC), ours),
                    now,
                    resumed,
                );
            }
            4 => {
                now = Millis(now.0 + b.below(4000) as u64);
                let _ = l.tick(now);
            }
            5 => {
                let up = b.chance(200);
                now = Millis(now.0 + b.below(100) as u64);
                let _ = l.set_carrier(m, up, now);
            }
            _ => {
                // The daemon restarts and resumes from what it saved.
                let s = l.saved();
                now = Millis(now.0 + b.below(4000) as u64);
                let mut l2 = fresh(now);
                if b.bool() {
                    // A member whose link is not up yet.
                    let _ = l2.set_carrier(m, false, now);
                }
                let a = l2.resume(&s, now);
                assert!(a.enabled_changed.is_empty(), "a resume enabled: {a:?}");
                assert!(MEMBERS.iter().all(|&i| !l2.member_enabled(i)));
                l = l2;
                saved = Some(s);
            }
        }
    }
    let _ = l.status();
    let _ = l.next_deadline();
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_inputs() {
        super::run(&[]);
        super::run(&[0; 64]);
        super::run(&(0..=255).collect::<Vec<u8>>());
        super::run(&[2, 1, 0, 3, 4, 0, 200]);
        // Restart, then the partner talks (confirms), then time passes.
        super::run(&[0, 6, 0, 0, 0, 0, 3, 1, 3, 0, 4, 0x0b, 0xb8]);
        // The same with member 1's link still down at the restart.
        super::run(&[0, 6, 0, 0, 1, 0, 3, 1, 3, 0, 4, 0x0b, 0xb8]);
    }
}
