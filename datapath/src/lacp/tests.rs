//! Unit tests of the LACP machine, driven by hand-made partner LACPDUs and a
//! fake clock. Two machines wired back to back are tested in
//! `tests/lacp_negotiation.rs`.

use super::*;

const OUR_SYS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
const THEIR_SYS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xbb]);

fn cfg(mode: LacpMode, fast: bool) -> LacpConfig {
    LacpConfig {
        mode,
        fast,
        ..LacpConfig::new(OUR_SYS)
    }
}

fn member(port_id: u16) -> MemberConfig {
    MemberConfig {
        port_id,
        port_priority: DEFAULT_PORT_PRIORITY,
        mac: MacAddr([0x02, 0, 0, 0, 1, port_id as u8]),
    }
}

fn ms(v: u64) -> Millis {
    Millis(v)
}

/// A partner port as it would describe itself.
fn their_port(port_id: u16, key: u16, state: LacpState) -> LacpInfo {
    LacpInfo {
        sys_priority: 0x8000,
        sys_id: THEIR_SYS,
        key,
        port_priority: 0x8000,
        port_id,
        state,
    }
}

const IN_SYNC: LacpState = LacpState(
    LacpState::ACTIVITY.bits()
        | LacpState::AGGREGATION.bits()
        | LacpState::SYNCHRONIZATION.bits()
        | LacpState::COLLECTING.bits()
        | LacpState::DISTRIBUTING.bits(),
);

/// The frame a partner sends: `actor` about itself, `partner` its view of us.
fn pdu(actor: LacpInfo, partner: LacpInfo) -> [u8; 124] {
    Lacpdu {
        actor,
        partner,
        collector_max_delay: 0,
    }
    .encode(MacAddr([0x02, 0, 0, 0, 2, actor.port_id as u8]))
}

/// The LACPDUs (parsed) in `actions` sent on member `id`.
fn sent(actions: &LacpActions, id: MemberId) -> Vec<Lacpdu> {
    actions
        .tx
        .iter()
        .filter(|(m, _)| *m == id)
        .filter_map(|(_, f)| Lacpdu::parse(f).ok())
        .collect()
}

fn member_status(l: &Lacp, id: MemberId) -> LacpMemberStatus {
    l.status().member(id).cloned().unwrap()
}

/// A machine with one member (port 1) that has exchanged LACPDUs with a
/// well-behaved partner until it distributes. Returns the machine and the
/// time reached.
fn negotiated_one(fast: bool) -> (Lacp, Millis) {
    let mut l = Lacp::new(cfg(LacpMode::Active, fast));
    l.add_member(1, member(1), ms(0));
    let first = sent(&l.tick(ms(0)), 1);
    assert_eq!(first.len(), 1);
    let mut now = ms(0);
    // The partner answers with what we sent as its view of us; repeat
    // until the aggregate wait is over and both sides are in sync.
    let mut ours = first[0].actor;
    for _ in 0..10 {
        now = now + 500;
        let a = l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), ours), now);
        if let Some(p) = sent(&a, 1).last() {
            ours = p.actor;
        }
        let t = l.tick(now);
        if let Some(p) = sent(&t, 1).last() {
            ours = p.actor;
        }
    }
    assert!(l.member_enabled(1), "{:?}", l.status());
    (l, now)
}

#[test]
fn new_member_speaks_at_once_with_defaulted_partner() {
    let mut l = Lacp::new(cfg(LacpMode::Active, false));
    l.add_member(5, member(5), ms(100));
    assert_eq!(l.next_deadline(), Some(ms(100)));
    let a = l.tick(ms(100));
    let p = sent(&a, 5);
    assert_eq!(p.len(), 1);
    let actor = p[0].actor;
    assert_eq!(actor.sys_id, OUR_SYS);
    assert_eq!(actor.sys_priority, DEFAULT_SYSTEM_PRIORITY);
    assert_eq!(actor.key, 5, "automatic key is the first member's port id");
    assert_eq!(actor.port_id, 5);
    assert_eq!(actor.port_priority, DEFAULT_PORT_PRIORITY);
    assert_eq!(
        actor.state,
        LacpState::ACTIVITY | LacpState::AGGREGATION | LacpState::DEFAULTED | LacpState::EXPIRED
    );
    // Partner unknown: all zero but the short timeout we ask for while expired.
    assert_eq!(
        p[0].partner,
        LacpInfo {
            state: LacpState::TIMEOUT,
            ..LacpInfo::default()
        }
    );
    assert_eq!(member_status(&l, 5).counters.tx_pdus, 1);
    assert!(!l.negotiated());
}

#[test]
fn full_handshake_enables_member() {
    let (l, _) = negotiated_one(true);
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::Current);
    assert_eq!(s.mux_state, MuxState::Distributing);
    assert!(s.attached && s.may_enable);
    assert!(l.negotiated());
    assert_eq!(s.partner.sys_id, THEIR_SYS);
    assert!(s.actor.state.contains(IN_SYNC | LacpState::TIMEOUT));
    assert!(!s
        .actor
        .state
        .intersects(LacpState::DEFAULTED | LacpState::EXPIRED));
}

#[test]
fn aggregate_wait_holds_attachment_for_two_seconds() {
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    let ours = sent(&l.tick(ms(0)), 1)[0].actor;
    l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), ours), ms(10));
    let s = member_status(&l, 1);
    assert!(s.attached);
    assert_eq!(s.mux_state, MuxState::Waiting);
    assert!(!s.actor.state.is_synchronized());
    // Following next_deadline (periodic LACPDUs come first) lands exactly
    // on the end of the wait.
    let end = ms(10 + AGGREGATE_WAIT_MS);
    let mut d = l.next_deadline().unwrap();
    while d < end {
        l.tick(d);
        assert_eq!(member_status(&l, 1).mux_state, MuxState::Waiting);
        d = l.next_deadline().unwrap();
    }
    assert_eq!(d, end);
    l.tick(end - 1);
    assert_eq!(member_status(&l, 1).mux_state, MuxState::Waiting);
    let a = l.tick(end);
    // Attached → we advertise sync at once (NTT).
    let p = sent(&a, 1);
    assert_eq!(p.len(), 1);
    assert!(p[0].actor.state.is_synchronized());
    // The partner's sync only counts once its view of us matches: it was
    // built from our first (unsynced) PDU, which matches in every field
    // that counts, so we move on to collecting.
    assert!(member_status(&l, 1).mux_state >= MuxState::Attached);
}

#[test]
fn partner_sync_counts_only_when_it_sees_us_right() {
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    let ours = sent(&l.tick(ms(0)), 1)[0].actor;
    // The partner claims sync, but with the wrong key for us.
    let wrong = LacpInfo {
        key: ours.key + 1,
        ..ours
    };
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), wrong), now);
        l.tick(now);
    }
    let s = member_status(&l, 1);
    assert!(s.attached);
    assert_eq!(
        s.mux_state,
        MuxState::Attached,
        "partner not matched: not collecting"
    );
    assert!(!s.partner.state.is_synchronized());
    assert!(!l.member_enabled(1));
    // Once it has us right, we collect and distribute.
    let right = member_status(&l, 1).actor;
    let a = l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), right), now + 100);
    assert_eq!(a.enabled_changed, vec![(1, true)]);
    assert_eq!(member_status(&l, 1).mux_state, MuxState::Distributing);
}

#[test]
fn individual_partner_needs_no_match() {
    // An individual partner port (aggregation clear) is matched whatever it
    // thinks of us (802.1AX-2008 recordPDU).
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    l.tick(ms(0));
    let individual = IN_SYNC.without(LacpState::AGGREGATION);
    let mut now = ms(0);
    for _ in 0..6 {
        now = now + 500;
        l.rx_frame(
            1,
            &pdu(their_port(7, 9, individual), LacpInfo::default()),
            now,
        );
        l.tick(now);
    }
    assert!(l.member_enabled(1));
}

#[test]
fn expiry_boundaries_fast() {
    let (mut l, t) = negotiated_one(true);
    // Last partner LACPDU at `t`.
    l.tick(t + SHORT_TIMEOUT_MS - 1);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Current);
    assert!(l.member_enabled(1));
    let a = l.tick(t + SHORT_TIMEOUT_MS);
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::Expired);
    assert_eq!(s.counters.link_expired, 1);
    assert!(!s.partner.state.is_synchronized());
    assert!(s.partner.state.is_short_timeout());
    assert!(s.actor.state.is_expired());
    assert!(!s.may_enable);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    // Still attached to the (expired) partner, not defaulted yet.
    assert!(s.attached);
    l.tick(t + 2 * SHORT_TIMEOUT_MS - 1);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Expired);
    l.tick(t + 2 * SHORT_TIMEOUT_MS);
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::Defaulted);
    assert_eq!(s.counters.link_defaulted, 1);
    assert_eq!(s.partner, LacpInfo::default());
    assert!(s.actor.state.is_defaulted() && !s.actor.state.is_expired());
    assert!(!s.attached);
    assert_eq!(s.mux_state, MuxState::Detached);
    assert!(!l.negotiated());
}

#[test]
fn expiry_boundaries_slow() {
    let (mut l, t) = negotiated_one(false);
    l.tick(t + LONG_TIMEOUT_MS - 1);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Current);
    l.tick(t + LONG_TIMEOUT_MS);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Expired);
    // Expired always waits the short timeout.
    l.tick(t + LONG_TIMEOUT_MS + SHORT_TIMEOUT_MS - 1);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Expired);
    l.tick(t + LONG_TIMEOUT_MS + SHORT_TIMEOUT_MS);
    assert_eq!(member_status(&l, 1).rx_state, RxState::Defaulted);
}

#[test]
fn late_tick_counts_both_expiries() {
    let (mut l, t) = negotiated_one(true);
    l.tick(t + 60_000);
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::Defaulted);
    assert_eq!((s.counters.link_expired, s.counters.link_defaulted), (1, 1));
}

#[test]
fn next_deadline_points_at_expiry() {
    let (mut l, t) = negotiated_one(true);
    // Periodic transmission (every second: the partner asked for fast) comes
    // first; the expiry is at t + 3 s.
    let mut now = t;
    let mut seen_expiry = false;
    for _ in 0..20 {
        let d = l.next_deadline().unwrap();
        assert!(
            d > now || d == now && !seen_expiry,
            "deadline {d:?} not after {now:?}"
        );
        now = d;
        l.tick(now);
        if member_status(&l, 1).rx_state == RxState::Expired {
            assert_eq!(now, t + SHORT_TIMEOUT_MS, "expired exactly at the deadline");
            seen_expiry = true;
            break;
        }
    }
    assert!(seen_expiry);
}

#[test]
fn at_most_three_lacpdus_per_second() {
    let (mut l, t) = negotiated_one(true);
    let ours = member_status(&l, 1).actor;
    // The partner keeps getting our key wrong and right in turn: every
    // LACPDU asks for an answer (update_NTT).
    let mut sent_at = Vec::new();
    for i in 0..20u64 {
        let now = t + 1 + i * 10;
        let view = LacpInfo {
            key: ours.key + (i % 2) as u16,
            ..ours
        };
        let a = l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), view), now);
        sent_at.extend(sent(&a, 1).iter().map(|_| now));
    }
    assert_eq!(sent_at.len(), 3, "{sent_at:?}");
    // The held-back answer goes out when the oldest of the three leaves the
    // one-second window, and next_deadline says when.
    let release = sent_at[0] + FAST_PERIODIC_MS;
    assert_eq!(l.next_deadline(), Some(release));
    assert!(sent(&l.tick(release - 1), 1).is_empty());
    assert_eq!(sent(&l.tick(release), 1).len(), 1);
}

#[test]
fn rate_limit_holds_at_time_zero() {
    // Sends at the epoch itself must count like any others.
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    let mut n = sent(&l.tick(ms(0)), 1).len();
    let ours = member_status(&l, 1).actor;
    for i in 0..10u16 {
        let view = LacpInfo {
            key: ours.key + i % 2,
            ..ours
        };
        let a = l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), view), ms(0));
        n += sent(&a, 1).len();
    }
    assert_eq!(n, MAX_TX_PER_FAST_PERIODIC);
    assert_eq!(l.next_deadline(), Some(ms(FAST_PERIODIC_MS)));
}

#[test]
fn periodic_interval_follows_partner_timeout() {
    for (partner_fast, interval) in [(true, FAST_PERIODIC_MS), (false, SLOW_PERIODIC_MS)] {
        let mut l = Lacp::new(cfg(LacpMode::Active, false));
        l.add_member(1, member(1), ms(0));
        l.tick(ms(0));
        let mut state = IN_SYNC;
        state.set(LacpState::TIMEOUT, partner_fast);
        // A partner that keeps answering forever (long timeout on our side).
        let mut times = Vec::new();
        let mut now = ms(0);
        while now < ms(200_000) {
            let ours = member_status(&l, 1).actor;
            let a = l.rx_frame(1, &pdu(their_port(7, 9, state), ours), now);
            times.extend(sent(&a, 1).iter().map(|_| now));
            let next = l.next_deadline().unwrap().min(now + 500);
            now = next.max(now + 1);
            let a = l.tick(now);
            times.extend(sent(&a, 1).iter().map(|_| now));
        }
        // After the handshake, only periodic LACPDUs: exactly `interval` apart.
        let steady: Vec<u64> = times
            .windows(2)
            .map(|w| w[1].as_millis() - w[0].as_millis())
            .skip_while(|d| *d != interval)
            .collect();
        assert!(steady.len() >= 5, "{times:?}");
        assert!(
            steady.iter().all(|d| *d == interval),
            "{partner_fast}: {steady:?}"
        );
    }
}

#[test]
fn passive_speaks_only_to_active_partner() {
    let mut l = Lacp::new(cfg(LacpMode::Passive, true));
    l.add_member(1, member(1), ms(0));
    assert!(l.tick(ms(0)).tx.is_empty());
    assert!(l.tick(ms(100_000)).tx.is_empty());
    // A passive partner does not wake us either.
    let passive_partner = IN_SYNC.without(LacpState::ACTIVITY);
    let a = l.rx_frame(
        1,
        &pdu(their_port(7, 9, passive_partner), LacpInfo::default()),
        ms(100_001),
    );
    assert!(a.tx.is_empty());
    // An active one does: we answer at once.
    let a = l.rx_frame(
        1,
        &pdu(their_port(7, 9, IN_SYNC), LacpInfo::default()),
        ms(100_002),
    );
    let p = sent(&a, 1);
    assert_eq!(p.len(), 1);
    assert!(!p[0].actor.state.is_active());
    // Once the partner is gone (defaulted), we fall silent again.
    l.tick(ms(100_002 + 2 * SHORT_TIMEOUT_MS));
    assert_eq!(member_status(&l, 1).rx_state, RxState::Defaulted);
    assert!(l.tick(ms(200_000)).tx.is_empty());
    assert_eq!(l.next_deadline(), None);
}

#[test]
fn loopback_is_never_selected() {
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    l.tick(ms(0));
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        // Our own LACPDUs coming back: bad PDUs, never a partner.
        let ours = member_status(&l, 1).actor;
        l.rx_frame(1, &pdu(ours, ours), now);
        l.tick(now);
    }
    let s = member_status(&l, 1);
    assert_eq!(s.counters.rx_bad_pdus, 10);
    assert_eq!(s.counters.rx_pdus, 0);
    assert_ne!(s.partner.sys_id, OUR_SYS);
    assert_eq!(s.rx_state, RxState::Defaulted);
    assert!(!s.attached && !s.may_enable);
    assert!(!l.negotiated());
}

#[test]
fn a_forged_lacpdu_with_our_system_id_changes_nothing() {
    let (mut l, mut now) = negotiated_one(true);
    assert!(l.member_enabled(1));
    let before = member_status(&l, 1);
    // Someone on the wire claims to be us (any port, in sync).
    let mut forged = their_port(99, 9, IN_SYNC);
    forged.sys_id = OUR_SYS;
    now = now + 10;
    let a = l.rx_frame(1, &pdu(forged, before.actor), now);
    assert!(a.enabled_changed.is_empty(), "{a:?}");
    let s = member_status(&l, 1);
    assert_eq!(s.counters.rx_bad_pdus, before.counters.rx_bad_pdus + 1);
    assert_eq!(s.counters.rx_pdus, before.counters.rx_pdus);
    assert_eq!(s.partner, before.partner);
    assert!(l.member_enabled(1) && l.negotiated());
}

#[test]
fn individual_partners_do_not_aggregate_with_others() {
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    for id in 1..=3 {
        l.add_member(id, member(id), ms(0));
    }
    l.tick(ms(0));
    let individual = IN_SYNC.without(LacpState::AGGREGATION);
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        for id in 1..=3u16 {
            let ours = member_status(&l, id).actor;
            // Member 1's partner port is aggregatable, 2 and 3 are individual,
            // all in the same partner system and key.
            let state = if id == 1 { IN_SYNC } else { individual };
            l.rx_frame(id, &pdu(their_port(10 + id, 9, state), ours), now);
        }
        l.tick(now);
    }
    let attached: Vec<bool> = (1..=3).map(|id| member_status(&l, id).attached).collect();
    // Member 1 leads (it is aggregatable and has the best port priority
    // tie-break: lowest partner port); the individual ports stay out.
    assert_eq!(attached, vec![true, false, false]);
    assert!(l.member_enabled(1) && !l.member_enabled(2) && !l.member_enabled(3));
}

#[test]
fn same_partner_system_with_another_key_is_another_aggregate() {
    // The partner switch put our three links into two LAGs (keys 9 and 10).
    // Only the LAG of the lead (best priority: lowest partner port, on
    // member 2) is selected.
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    for id in 1..=3 {
        l.add_member(id, member(id), ms(0));
    }
    l.tick(ms(0));
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        for (id, port, key) in [(1u16, 12u16, 9u16), (2, 11, 10), (3, 13, 10)] {
            let ours = member_status(&l, id).actor;
            l.rx_frame(id, &pdu(their_port(port, key, IN_SYNC), ours), now);
        }
        l.tick(now);
    }
    let attached: Vec<bool> = (1..=3).map(|id| member_status(&l, id).attached).collect();
    assert_eq!(attached, vec![false, true, true]);
    assert!(!l.member_enabled(1) && l.member_enabled(2) && l.member_enabled(3));
    // Member 1 tells its partner it is not in sync.
    assert!(!member_status(&l, 1).actor.state.is_synchronized());
}

#[test]
fn working_aggregate_is_not_abandoned_for_a_better_partner() {
    // Member 1 distributes to THEIR_SYS; then member 2 hears a system with
    // a much better priority. Like OVS (and Linux ad_select=stable), the
    // working aggregate stays; member 2 is not selected.
    let (mut l, t) = negotiated_one(true);
    l.add_member(2, member(2), t);
    let better = LacpInfo {
        sys_priority: 1,
        sys_id: MacAddr([0x02, 0, 0, 0, 0, 0xcc]),
        ..their_port(1, 1, IN_SYNC)
    };
    let mut now = t;
    for _ in 0..10 {
        now = now + 500;
        let ours1 = member_status(&l, 1).actor;
        l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), ours1), now);
        let ours2 = member_status(&l, 2).actor;
        l.rx_frame(2, &pdu(better, ours2), now);
        l.tick(now);
    }
    assert!(l.member_enabled(1));
    let s2 = member_status(&l, 2);
    assert!(!s2.attached && !s2.may_enable);
    // Once member 1's partner is gone, the better one takes over.
    let mut now2 = now;
    for _ in 0..20 {
        now2 = now2 + 500;
        let ours2 = member_status(&l, 2).actor;
        l.rx_frame(2, &pdu(better, ours2), now2);
        l.tick(now2);
    }
    assert_eq!(member_status(&l, 1).rx_state, RxState::Defaulted);
    assert!(l.member_enabled(2));
}

#[test]
fn individual_lead_aggregates_alone() {
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    for id in 1..=2 {
        l.add_member(id, member(id), ms(0));
    }
    l.tick(ms(0));
    let individual = IN_SYNC.without(LacpState::AGGREGATION);
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        for id in 1..=2u16 {
            let ours = member_status(&l, id).actor;
            l.rx_frame(id, &pdu(their_port(10 + id, 9, individual), ours), now);
        }
        l.tick(now);
    }
    let attached: Vec<bool> = (1..=2).map(|id| member_status(&l, id).attached).collect();
    assert_eq!(attached.iter().filter(|a| **a).count(), 1, "{attached:?}");
}

#[test]
fn marker_request_gets_response_with_same_transaction() {
    let (mut l, t) = negotiated_one(true);
    let req = MarkerPdu {
        kind: MarkerKind::Request,
        port: 7,
        system: THEIR_SYS,
        transaction_id: 0x0102_0304,
    };
    let a = l.rx_frame(1, &req.encode(MacAddr([0x02, 0, 0, 0, 2, 7])), t + 1);
    let responses: Vec<(MemberId, MarkerPdu)> =
        a.tx.iter()
            .filter_map(|(m, f)| MarkerPdu::parse(f).ok().map(|p| (*m, p)))
            .collect();
    assert_eq!(
        responses,
        vec![(
            1,
            MarkerPdu {
                kind: MarkerKind::Response,
                ..req
            }
        )]
    );
    // Sent from the member's own MAC.
    let frame = &a.tx[0].1;
    assert_eq!(&frame[6..12], &member(1).mac.0);
    let c = member_status(&l, 1).counters;
    assert_eq!(
        (c.rx_marker_requests, c.tx_marker_responses, c.rx_bad_pdus),
        (1, 1, 0)
    );
    // A response is not answered, and is not a bad PDU.
    let resp = MarkerPdu {
        kind: MarkerKind::Response,
        ..req
    };
    let a = l.rx_frame(1, &resp.encode(MacAddr([0x02, 0, 0, 0, 2, 7])), t + 2);
    assert!(a.tx.iter().all(|(_, f)| MarkerPdu::parse(f).is_err()));
    let c = member_status(&l, 1).counters;
    assert_eq!(
        (c.rx_marker_requests, c.tx_marker_responses, c.rx_bad_pdus),
        (1, 1, 0)
    );
    // Still enabled: markers do not disturb LACP.
    assert!(l.member_enabled(1));
}

#[test]
fn marker_responses_are_rate_limited() {
    let (mut l, t) = negotiated_one(true);
    let req = MarkerPdu {
        kind: MarkerKind::Request,
        port: 7,
        system: THEIR_SYS,
        transaction_id: 1,
    }
    .encode(MacAddr([0x02, 0, 0, 0, 2, 7]));
    let mut answered = 0;
    for i in 0..50 {
        let a = l.rx_frame(1, &req, t + 1 + i);
        answered +=
            a.tx.iter()
                .filter(|(_, f)| MarkerPdu::parse(f).is_ok())
                .count();
    }
    assert_eq!(answered, MAX_MARKER_RESPONSES_PER_SEC as usize);
    let a = l.rx_frame(1, &req, t + 1 + 1000);
    assert_eq!(
        a.tx.iter()
            .filter(|(_, f)| MarkerPdu::parse(f).is_ok())
            .count(),
        1
    );
    assert_eq!(member_status(&l, 1).counters.rx_marker_requests, 51);
}

#[test]
fn bad_frames_are_counted_and_change_nothing() {
    let (mut l, t) = negotiated_one(true);
    let ours = member_status(&l, 1).actor;
    let good = pdu(their_port(7, 9, IN_SYNC), ours);
    // A different partner system and key: if any of these were accepted,
    // the member would be re-selected and disabled.
    let other = LacpInfo {
        sys_id: MacAddr([0x02, 0, 0, 0, 0, 0xcc]),
        key: 99,
        ..their_port(7, 9, IN_SYNC)
    };
    let other_good = pdu(other, ours);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("short", other_good[..100].to_vec()),
        ("version 0", {
            let mut b = other_good.to_vec();
            b[15] = 0;
            b
        }),
        ("actor tlv length", {
            let mut b = other_good.to_vec();
            b[17] = 21;
            b
        }),
        ("partner tlv type", {
            let mut b = other_good.to_vec();
            b[36] = 3;
            b
        }),
        ("collector tlv length", {
            let mut b = other_good.to_vec();
            b[57] = 0;
            b
        }),
        ("terminator", {
            let mut b = other_good.to_vec();
            b[72] = 9;
            b
        }),
        ("unknown subtype", {
            let mut b = other_good.to_vec();
            b[14] = 10;
            b
        }),
        ("not slow protocols", {
            let mut b = other_good.to_vec();
            b[12] = 0x08;
            b[13] = 0;
            b
        }),
        ("marker with bad tlv", {
            let mut b = MarkerPdu {
                kind: MarkerKind::Request,
                port: 1,
                system: THEIR_SYS,
                transaction_id: 1,
            }
            .encode(MacAddr::ZERO)
            .to_vec();
            b[17] = 3;
            b
        }),
    ];
    // Impossible states: distributing without collecting; a zero system.
    let mut dist_no_col = other;
    dist_no_col.state = dist_no_col.state.without(LacpState::COLLECTING);
    cases.push((
        "distributing without collecting",
        pdu(dist_no_col, ours).to_vec(),
    ));
    let zero_sys = LacpInfo {
        sys_id: MacAddr::ZERO,
        ..other
    };
    cases.push(("zero system id", pdu(zero_sys, ours).to_vec()));

    let before = l.status();
    for (i, (what, frame)) in cases.iter().enumerate() {
        let a = l.rx_frame(1, frame, t + 1);
        assert!(a.is_empty(), "{what}: {a:?}");
        let s = member_status(&l, 1);
        assert_eq!(s.counters.rx_bad_pdus, i as u64 + 1, "{what}");
        assert_eq!(s.partner, before.members[0].partner, "{what}");
        assert!(s.attached && s.may_enable, "{what}");
    }
    assert_eq!(
        member_status(&l, 1).counters.rx_pdus,
        before.members[0].counters.rx_pdus
    );
    // And the good one still works afterwards.
    l.rx_frame(1, &good, t + 2);
    assert_eq!(
        member_status(&l, 1).counters.rx_pdus,
        before.members[0].counters.rx_pdus + 1
    );
}

#[test]
fn ovs_style_pre_negotiation_pdu_is_accepted_but_not_in_sync() {
    // OVS, before negotiating, sends collecting|distributing without sync
    // (lib/lacp.c member_get_actor). Not malformed; just not in sync.
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), ms(0));
    l.tick(ms(0));
    let ovs = LacpState::ACTIVITY
        | LacpState::AGGREGATION
        | LacpState::COLLECTING
        | LacpState::DISTRIBUTING
        | LacpState::DEFAULTED;
    l.rx_frame(1, &pdu(their_port(7, 9, ovs), LacpInfo::default()), ms(10));
    let s = member_status(&l, 1);
    assert_eq!(s.counters.rx_bad_pdus, 0);
    assert_eq!(s.counters.rx_pdus, 1);
    assert_eq!(s.rx_state, RxState::Current);
    assert!(s.attached);
    l.tick(ms(10 + AGGREGATE_WAIT_MS));
    let s = member_status(&l, 1);
    assert_eq!(s.mux_state, MuxState::Attached);
    assert!(!s.may_enable);
}

#[test]
fn carrier_loss_disables_and_silences() {
    let (mut l, t) = negotiated_one(true);
    let a = l.set_carrier(1, false, t + 1);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    assert!(a.tx.is_empty());
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::PortDisabled);
    assert!(!s.attached);
    assert_eq!(s.mux_state, MuxState::Detached);
    assert_eq!(s.counters.carrier_changes, 1);
    // Reporting the same carrier again is not a change.
    assert!(l.set_carrier(1, false, t + 2).is_empty());
    assert_eq!(member_status(&l, 1).counters.carrier_changes, 1);
    // Nothing goes out while down, and LACPDUs received are ignored.
    assert!(l.tick(t + 100_000).tx.is_empty());
    let ours = member_status(&l, 1).actor;
    l.rx_frame(1, &pdu(their_port(7, 9, IN_SYNC), ours), t + 100_001);
    assert_eq!(member_status(&l, 1).rx_state, RxState::PortDisabled);
    // Carrier back: expired (fast LACPDUs asked for), one LACPDU at once.
    let a = l.set_carrier(1, true, t + 100_002);
    let s = member_status(&l, 1);
    assert_eq!(s.rx_state, RxState::Expired);
    assert_eq!(s.counters.carrier_changes, 2);
    assert_eq!(sent(&a, 1).len(), 1);
}

#[test]
fn key_follows_first_member_unless_configured() {
    let mut l = Lacp::new(cfg(LacpMode::Active, false));
    assert_eq!(l.status().key, None);
    l.add_member(3, member(30), ms(0));
    l.add_member(1, member(10), ms(0));
    let a = l.tick(ms(0));
    assert!(sent(&a, 3)
        .iter()
        .chain(sent(&a, 1).iter())
        .all(|p| p.actor.key == 30));
    assert_eq!(l.status().key, Some(30));
    // The key member leaves: the key stays, so member 1 changes nothing
    // (a new key would make its partner re-select it).
    let a = l.remove_member(3);
    assert!(sent(&a, 1).is_empty(), "{a:?}");
    assert_eq!(l.status().key, Some(30));
    assert_eq!(l.status().member(1).unwrap().actor.key, 30);
    // Nor does changing the first member's port ID.
    l.add_member(1, member(11), ms(0));
    assert_eq!(l.status().key, Some(30));
    // Once the bond is empty, the next first member sets it again.
    l.remove_member(1);
    assert_eq!(l.status().key, None);
    l.add_member(1, member(10), ms(0));
    assert_eq!(l.status().key, Some(10));
    let a = l.reconfigure(
        LacpConfig {
            key: 777,
            ..cfg(LacpMode::Active, false)
        },
        ms(1),
    );
    assert_eq!(sent(&a, 1)[0].actor.key, 777);
    assert_eq!(l.status().key, Some(777));
}

#[test]
fn removing_enabled_member_reports_it() {
    let (mut l, _) = negotiated_one(true);
    let a = l.remove_member(1);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    assert!(!l.member_enabled(1));
    assert!(l.status().members.is_empty());
    assert!(!l.negotiated());
    // Unknown members are ignored everywhere.
    assert!(l.remove_member(1).is_empty());
    assert!(l.set_carrier(9, false, ms(0)).is_empty());
    assert!(l.rx_frame(9, &[], ms(0)).is_empty());
}

#[test]
fn partner_change_goes_through_detached() {
    let (mut l, t) = negotiated_one(true);
    let ours = member_status(&l, 1).actor;
    // Same partner system, new key: the member must re-select, so it stops
    // distributing and waits again.
    let a = l.rx_frame(1, &pdu(their_port(7, 10, IN_SYNC), ours), t + 1);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    let s = member_status(&l, 1);
    assert!(s.attached);
    assert_eq!(s.mux_state, MuxState::Waiting);
    assert_eq!(s.partner.key, 10);
    // It said so: a LACPDU without sync went out at once.
    assert!(sent(&a, 1).iter().any(|p| !p.actor.state.is_synchronized()));
    let mut now = t + 1;
    for _ in 0..6 {
        now = now + 500;
        let ours = member_status(&l, 1).actor;
        l.rx_frame(1, &pdu(their_port(7, 10, IN_SYNC), ours), now);
        l.tick(now);
    }
    assert!(l.member_enabled(1));
}

#[test]
fn display_strings() {
    assert_eq!(RxState::Current.to_string(), "current");
    assert_eq!(RxState::PortDisabled.to_string(), "disabled");
    assert_eq!(MuxState::Distributing.to_string(), "distributing");
    assert_eq!(LacpMode::Passive.to_string(), "passive");
    let (l, _) = negotiated_one(true);
    assert_eq!(l.status().lacp_time(), "fast");
    assert_eq!(LacpConfig::default_system_priority(1), 65535);
    assert_eq!(LacpConfig::default_system_priority(2), 65534);
}

// ---- resume after a restart ------------------------------------------------

/// A fresh machine like `negotiated_one`'s, with member 1, carrier up,
/// nothing sent yet.
fn fresh_one(fast: bool, now: Millis) -> Lacp {
    let mut l = Lacp::new(cfg(LacpMode::Active, fast));
    l.add_member(1, member(1), now);
    l
}

/// The partner of `negotiated_one`, as it describes itself.
fn their_in_sync() -> LacpInfo {
    their_port(7, 9, IN_SYNC)
}

#[test]
fn saved_state_of_a_negotiated_member() {
    let (l, _) = negotiated_one(true);
    let s = l.saved();
    assert_eq!(s.config, cfg(LacpMode::Active, true));
    assert_eq!(s.key, 1);
    assert_eq!(
        s.members,
        vec![LacpSavedMember {
            id: 1,
            config: member(1),
            partner: their_in_sync(),
        }]
    );
    // Nothing enabled, nothing saved but the settings.
    let fresh = fresh_one(true, ms(0));
    assert!(fresh.saved().members.is_empty());
}

#[test]
fn resume_then_confirmation_enables_at_once() {
    let (old, t) = negotiated_one(true);
    let saved = old.saved();
    let now = t + 800;
    let mut l = fresh_one(true, now);
    let a = l.resume(&saved, now);
    assert!(a.enabled_changed.is_empty());
    assert!(l.member_resuming(1) && !l.member_enabled(1));
    assert!(l.negotiated(), "a resuming member is selected");
    let p = sent(&a, 1);
    assert_eq!(p.len(), 1, "a LACPDU at once");
    let old_actor = member_status(&old, 1).actor;
    assert_eq!(
        p[0].actor,
        LacpInfo {
            state: old_actor.state.with(LacpState::EXPIRED),
            ..old_actor
        }
    );
    assert_eq!(
        p[0].partner,
        LacpInfo {
            state: IN_SYNC.without(LacpState::SYNCHRONIZATION),
            ..their_in_sync()
        }
    );
    let s = member_status(&l, 1);
    assert_eq!(
        (s.rx_state, s.mux_state),
        (RxState::Expired, MuxState::Distributing)
    );
    assert!(s.attached && !s.may_enable);
    // Saving now gives what was saved: a second restart loses nothing.
    assert_eq!(l.saved(), saved);
    // The partner answers (it still knows us exactly).
    let a = l.rx_frame(1, &pdu(their_in_sync(), p[0].actor), now + 1);
    assert_eq!(a.enabled_changed, vec![(1, true)]);
    assert!(!l.member_resuming(1));
    let s = member_status(&l, 1);
    assert_eq!(
        (s.rx_state, s.mux_state),
        (RxState::Current, MuxState::Distributing)
    );
    // No longer expired: said at once.
    assert!(sent(&a, 1).iter().all(|p| !p.actor.state.is_expired()));
    assert_eq!(sent(&a, 1).len(), 1);
    assert_eq!(l.saved(), saved);
}

#[test]
fn resume_needs_the_first_lacpdu_to_confirm() {
    let (old, t) = negotiated_one(true);
    let saved = old.saved();
    let ours = member_status(&old, 1).actor;
    let cases: Vec<(&str, LacpInfo, LacpInfo)> = vec![
        (
            "partner not in sync",
            their_port(7, 9, IN_SYNC.without(LacpState::SYNCHRONIZATION)),
            ours,
        ),
        ("another partner port", their_port(8, 9, IN_SYNC), ours),
        ("another partner key", their_port(7, 10, IN_SYNC), ours),
        (
            "another partner system",
            LacpInfo {
                sys_id: MacAddr([0x02, 0, 0, 0, 0, 0xcc]),
                ..their_in_sync()
            },
            ours,
        ),
        (
            "another partner port priority",
            LacpInfo {
                port_priority: 1,
                ..their_in_sync()
            },
            ours,
        ),
        (
            "another partner system priority",
            LacpInfo {
                sys_priority: 1,
                ..their_in_sync()
            },
            ours,
        ),
        (
            "partner has our key wrong",
            their_in_sync(),
            LacpInfo {
                key: ours.key + 1,
                ..ours
            },
        ),
        (
            "partner has our port wrong",
            their_in_sync(),
            LacpInfo { port_id: 2, ..ours },
        ),
    ];
    for (what, actor, view) in cases {
        let now = t + 800;
        let mut l = fresh_one(true, now);
        l.resume(&saved, now);
        assert!(l.member_resuming(1), "{what}");
        let a = l.rx_frame(1, &pdu(actor, view), now + 1);
        assert!(a.enabled_changed.is_empty(), "{what}: {a:?}");
        assert!(!l.member_resuming(1), "{what}");
        let s = member_status(&l, 1);
        assert!(
            s.mux_state <= MuxState::Waiting,
            "{what}: back through DETACHED"
        );
        assert!(
            !s.actor.state.is_synchronized(),
            "{what}: we say so at once"
        );
        assert!(
            sent(&a, 1).iter().all(|p| !p.actor.state.is_synchronized()),
            "{what}"
        );
        // From now on the partner behaves: still the aggregate wait.
        let mut at = None;
        let mut time = now + 1;
        for _ in 0..12 {
            time = time + 250;
            let ours = member_status(&l, 1).actor;
            let a = l.rx_frame(1, &pdu(their_in_sync(), ours), time);
            let b = l.tick(time);
            if a.enabled_changed.contains(&(1, true)) || b.enabled_changed.contains(&(1, true)) {
                at.get_or_insert(time);
            }
        }
        let at = at.unwrap_or_else(|| panic!("{what}: never enabled"));
        assert!(
            at >= now + 1 + AGGREGATE_WAIT_MS,
            "{what}: enabled at {at:?}"
        );
    }
}

#[test]
fn resume_times_out_into_defaulted() {
    let (old, t) = negotiated_one(true);
    let now = t + 800;
    let mut l = fresh_one(true, now);
    l.resume(&old.saved(), now);
    let mut d = l.next_deadline().unwrap();
    while d < now + RESUME_TIMEOUT_MS {
        // Periodic LACPDUs (the partner asked for fast ones) in between.
        assert!(l.tick(d).enabled_changed.is_empty());
        assert!(l.member_resuming(1));
        d = l.next_deadline().unwrap();
    }
    assert_eq!(
        d,
        now + RESUME_TIMEOUT_MS,
        "next_deadline points at the timeout"
    );
    let a = l.tick(d);
    assert!(a.enabled_changed.is_empty());
    let s = member_status(&l, 1);
    assert!(!l.member_resuming(1));
    assert_eq!(
        (s.rx_state, s.mux_state),
        (RxState::Defaulted, MuxState::Detached)
    );
    assert_eq!((s.counters.link_expired, s.counters.link_defaulted), (0, 1));
    assert!(!s.attached && !l.negotiated());
    assert!(sent(&a, 1).iter().all(|p| !p.actor.state.is_synchronized()));
    assert!(l.saved().members.is_empty());
}

#[test]
fn carrier_loss_or_new_settings_end_a_resume() {
    let (old, t) = negotiated_one(true);
    let saved = old.saved();
    let now = t + 800;
    // Carrier down.
    let mut l = fresh_one(true, now);
    l.resume(&saved, now);
    let a = l.set_carrier(1, false, now + 1);
    assert!(a.enabled_changed.is_empty());
    assert!(!l.member_resuming(1));
    assert_eq!(member_status(&l, 1).mux_state, MuxState::Detached);
    l.set_carrier(1, true, now + 2);
    let ours = member_status(&l, 1).actor;
    let a = l.rx_frame(1, &pdu(their_in_sync(), ours), now + 3);
    assert!(
        a.enabled_changed.is_empty(),
        "normal negotiation: the aggregate wait"
    );
    assert_eq!(member_status(&l, 1).mux_state, MuxState::Waiting);
    // New bond-wide settings.
    let mut l = fresh_one(true, now);
    l.resume(&saved, now);
    l.reconfigure(cfg(LacpMode::Active, true), now + 1);
    assert!(l.member_resuming(1), "the same settings change nothing");
    let a = l.reconfigure(cfg(LacpMode::Passive, true), now + 1);
    assert!(!l.member_resuming(1));
    assert!(sent(&a, 1).iter().all(|p| !p.actor.state.is_synchronized()));
    // New member settings.
    let mut l = fresh_one(true, now);
    l.resume(&saved, now);
    l.add_member(1, member(1), now + 1);
    assert!(l.member_resuming(1), "the same settings change nothing");
    l.add_member(
        1,
        MemberConfig {
            port_priority: 5,
            ..member(1)
        },
        now + 1,
    );
    assert!(!l.member_resuming(1));
    assert_eq!(member_status(&l, 1).mux_state, MuxState::Detached);
}

#[test]
fn resume_is_refused_when_anything_differs() {
    let (old, t) = negotiated_one(true);
    let saved = old.saved();
    let now = t + 800;
    let refused = |l: &mut Lacp, s: &LacpSaved, what: &str| {
        let a = l.resume(s, now);
        assert!(a.is_empty(), "{what}: {a:?}");
        assert!(!l.member_resuming(1), "{what}");
    };
    let mut l = Lacp::new(cfg(LacpMode::Active, false));
    l.add_member(1, member(1), now);
    refused(&mut l, &saved, "bond-wide settings");
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(
        1,
        MemberConfig {
            mac: MacAddr([0x02, 0, 0, 0, 9, 9]),
            ..member(1)
        },
        now,
    );
    refused(&mut l, &saved, "member settings");
    let mut l = fresh_one(true, now);
    l.set_carrier(1, false, now);
    refused(&mut l, &saved, "carrier down");
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(2, member(1), now);
    refused(&mut l, &saved, "another member id");
    // Something was already heard on the member.
    let mut l = fresh_one(true, now);
    l.tick(now);
    l.rx_frame(1, &pdu(their_in_sync(), LacpInfo::default()), now);
    refused(&mut l, &saved, "already heard");
    // A saved partner that cannot be one.
    for (what, sys_id) in [("zero partner", MacAddr::ZERO), ("our own system", OUR_SYS)] {
        let mut s = saved.clone();
        s.members[0].partner.sys_id = sys_id;
        refused(&mut fresh_one(true, now), &s, what);
    }
    // A configured key that is not the saved one.
    let keyed = LacpConfig {
        key: 44,
        ..cfg(LacpMode::Active, true)
    };
    let s = LacpSaved {
        config: keyed.clone(),
        key: 45,
        ..saved.clone()
    };
    let mut l = Lacp::new(keyed);
    l.add_member(1, member(1), now);
    refused(&mut l, &s, "configured key");
    // At most once per member.
    let mut l = fresh_one(true, now);
    l.resume(&saved, now);
    l.tick(now + RESUME_TIMEOUT_MS);
    assert!(!l.member_resuming(1));
    refused(&mut l, &saved, "second resume");
}

#[test]
fn resume_after_a_late_carrier() {
    let (old, t) = negotiated_one(true);
    let now = t + 800;
    let mut l = fresh_one(true, now);
    l.set_carrier(1, false, now);
    assert!(l.resume(&old.saved(), now).is_empty());
    l.set_carrier(1, true, now + 100);
    let a = l.resume(&old.saved(), now + 100);
    assert!(l.member_resuming(1));
    assert!(sent(&a, 1)[0].actor.state.is_synchronized());
}

#[test]
fn resume_adopts_the_saved_automatic_key() {
    // Before the restart: members 3 (port 30, the key) and 1 (port 10);
    // member 3 was removed, the key stayed 30.
    let mut old = Lacp::new(cfg(LacpMode::Active, true));
    old.add_member(3, member(30), ms(0));
    old.add_member(1, member(1), ms(0));
    old.tick(ms(0));
    let mut now = ms(0);
    for _ in 0..10 {
        now = now + 500;
        let ours = member_status(&old, 1).actor;
        old.rx_frame(1, &pdu(their_in_sync(), ours), now);
        old.tick(now);
    }
    old.remove_member(3);
    assert!(old.member_enabled(1));
    let saved = old.saved();
    assert_eq!(saved.key, 30);
    // After it, the configuration has member 1 only: the key would be 1.
    let now = now + 800;
    let mut l = fresh_one(true, now);
    assert_eq!(l.status().key, Some(1));
    let a = l.resume(&saved, now);
    assert_eq!(l.status().key, Some(30));
    assert_eq!(sent(&a, 1)[0].actor.key, 30);
    let ours = sent(&a, 1)[0].actor;
    let a = l.rx_frame(1, &pdu(their_in_sync(), ours), now + 1);
    assert_eq!(a.enabled_changed, vec![(1, true)]);
    // Not once a partner was heard with the other key.
    let mut l = Lacp::new(cfg(LacpMode::Active, true));
    l.add_member(1, member(1), now);
    l.add_member(2, member(2), now);
    l.rx_frame(2, &pdu(their_port(8, 9, IN_SYNC), LacpInfo::default()), now);
    assert!(l.resume(&saved, now).is_empty());
    assert_eq!(l.status().key, Some(1));
}

#[test]
fn causes_for_the_log() {
    let (mut l, t) = negotiated_one(true);
    let st = member_status(&l, 1);
    assert_eq!(st.last_cause, LacpCause::InSync);
    assert_eq!(
        st.cause(),
        "partner 02:00:00:00:00:bb port 7 in sync, collecting and distributing"
    );
    let p = st.partner;
    let d = |c: LacpCause| c.describe(&p, MuxState::Waiting);
    assert_eq!(d(LacpCause::Negotiating), "mux state waiting");
    assert_eq!(d(LacpCause::LinkDown), "link down");
    assert_eq!(
        d(LacpCause::Timeout),
        "no LACPDU from the partner within the timeout (expired)"
    );
    assert_eq!(d(LacpCause::Defaulted), "no partner (defaulted)");
    assert_eq!(
        d(LacpCause::NotSelected),
        "not selected: partner 02:00:00:00:00:bb key 9 does not match the bond's aggregator"
    );
    assert_eq!(
        d(LacpCause::PartnerOutOfSync),
        "partner 02:00:00:00:00:bb port 7 is not in sync"
    );
    assert_eq!(
        d(LacpCause::PartnerNotCollecting),
        "partner 02:00:00:00:00:bb port 7 is not collecting"
    );
    assert_eq!(
        d(LacpCause::PartnerChanged),
        "partner changed: now 02:00:00:00:00:bb key 9 port 7"
    );
    // From a real status after a real change: expiry.
    let a = l.tick(t + SHORT_TIMEOUT_MS);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    assert_eq!(
        member_status(&l, 1).cause(),
        "no LACPDU from the partner within the timeout (expired)"
    );
}

#[path = "tests_history.rs"]
mod history;
