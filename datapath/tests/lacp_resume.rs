//! A restart the partner does not notice (`Lacp::saved` / `Lacp::resume`,
//! `Bond::saved` / `Bond::restore`).
//!
//! Node 0 (side A, system 1) and node 1 (side B, system 2) negotiate over
//! members 3, 7 and 12. Then A "dies": it sends and receives nothing for
//! 800 ms (B keeps running). A new machine A' is built from the same
//! configuration, resumes from what A saved, and takes A's place. B never
//! restarts.

mod lacp_net;

use datapath::bond::{Bond, BondConfig, BondMode, BondSaved, RESTORE_WINDOW_MS};
use datapath::lacp::{
    Lacp, LacpConfig, LacpMode, LacpSaved, MemberConfig, MemberId, MuxState, RxState,
    AGGREGATE_WAIT_MS, FAST_PERIODIC_MS, LONG_TIMEOUT_MS, RESUME_TIMEOUT_MS,
};
use datapath::time::Millis;
use datapath::wire::lacpdu::LacpState;
use lacp_net::{
    assert_fully_negotiated, config, member_cfg, pair, sys, Net, IN_SYNC_COLLECTING_DISTRIBUTING,
};

const IDS: [MemberId; 3] = [3, 7, 12];
const DOWN_MS: u64 = 800;

fn negotiated(a: LacpConfig, b: LacpConfig) -> Net {
    let mut net = pair(a, b, &IDS);
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
    // Some steady state after negotiation.
    net.run_for(5 * FAST_PERIODIC_MS + 123);
    net
}

/// A fresh machine for node 0 as the new process builds it: `cfg`, the
/// members with `members(id)`, carriers up. Nothing is ticked.
fn fresh(cfg: LacpConfig, members: impl Fn(MemberId) -> MemberConfig, now: Millis) -> Lacp {
    let mut l = Lacp::new(cfg);
    for id in IDS {
        l.add_member(id, members(id), now);
        // Carrier is up: reporting it changes nothing and sends nothing.
        assert!(l.set_carrier(id, true, now).is_empty());
    }
    l
}

/// Kill node 0, let `DOWN_MS` pass, and return what it saved and when it
/// died.
fn kill_a(net: &mut Net) -> (LacpSaved, Millis) {
    let saved = net.lacp(0).saved();
    let died = net.now;
    net.kill(0);
    net.run_for(DOWN_MS);
    (saved, died)
}

/// Put `l` in node 0's place and carry out `resume`'s actions.
fn start_a(net: &mut Net, mut l: Lacp, saved: &LacpSaved) -> usize {
    let now = net.now;
    let mark = net.mark();
    let a = l.resume(saved, now);
    assert!(a.enabled_changed.is_empty(), "resume never enables: {a:?}");
    net.replace(0, l);
    net.deliver(0, a);
    mark
}

/// B (node 1) never noticed anything since `since`: no member disabled, no
/// partner expired or defaulted, every member enabled.
fn assert_b_undisturbed(net: &Net, since: Millis) {
    for m in IDS {
        assert_eq!(
            net.disables((1, m), since),
            Vec::<Millis>::new(),
            "B member {m}"
        );
        assert_eq!(net.expiries((1, m)), (0, 0), "B member {m}");
        assert!(net.lacp(1).member_enabled(m), "B member {m}");
    }
}

#[test]
fn saved_state_holds_what_a_resume_needs_and_nothing_that_ticks() {
    let mut net = negotiated(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
    );
    let saved = net.lacp(0).saved();
    assert_eq!(&saved.config, net.lacp(0).config());
    assert_eq!(saved.key, 3, "automatic key: the first member's port ID");
    assert_eq!(saved.members.iter().map(|m| m.id).collect::<Vec<_>>(), IDS);
    let b = net.lacp(1).status();
    for m in &saved.members {
        assert_eq!(m.config, member_cfg(0, m.id));
        assert_eq!(m.partner, b.member(m.id).unwrap().actor);
        assert!(m.partner.state.is_synchronized());
    }
    // Periodic LACPDUs, counters and timers do not change it.
    net.run_for(10 * LONG_TIMEOUT_MS);
    assert_eq!(net.lacp(0).saved(), saved);
    // A member that stops being enabled leaves it.
    net.set_cable((1, 7), false);
    net.run_for(4_000);
    assert!(!net.lacp(0).member_enabled(7));
    let now_saved = net.lacp(0).saved();
    assert_eq!(
        now_saved.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![3, 12]
    );
}

#[test]
fn restart_is_invisible_to_the_partner() {
    for (fast_a, fast_b, mode_a) in [
        (true, true, LacpMode::Active),
        (false, false, LacpMode::Active),
        (true, false, LacpMode::Active),
        (false, true, LacpMode::Active),
        (true, true, LacpMode::Passive),
    ] {
        let what = format!("A fast={fast_a} {mode_a}, B fast={fast_b}");
        let cfg_a = config(1, mode_a, fast_a);
        let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, fast_b));
        let before: Vec<_> = IDS
            .iter()
            .map(|&m| net.lacp(0).status().member(m).unwrap().actor)
            .collect();
        let (saved, died) = kill_a(&mut net);
        // B has not noticed yet: 800 ms is well within its timeout.
        assert_b_undisturbed(&net, died);

        let restart = net.now;
        let a2 = fresh(cfg_a.clone(), |id| member_cfg(0, id), restart);
        let mark = start_a(&mut net, a2, &saved);

        for (i, &m) in IDS.iter().enumerate() {
            // A' speaks at once, as A did before, in sync, collecting and
            // distributing.
            let first = net.lacpdus_after((0, m), mark);
            let (at, pdu) = first
                .first()
                .unwrap_or_else(|| panic!("{what}: A' silent on {m}"));
            assert_eq!(*at, restart, "{what}");
            let mut expected = before[i];
            expected.state = expected.state.with(LacpState::EXPIRED);
            assert_eq!(pdu.actor, expected, "{what}: member {m}");
            assert!(pdu.actor.state.contains(IN_SYNC_COLLECTING_DISTRIBUTING));
            // Our view of B: as saved, not in sync.
            let mut b_view = saved.members[i].partner;
            b_view.state.set(LacpState::SYNCHRONIZATION, false);
            assert_eq!(pdu.partner, b_view, "{what}");
            // B answers at once, not at its next periodic time.
            let answers = net.lacpdus_after((1, m), mark);
            assert_eq!(
                answers.first().map(|a| a.0),
                Some(restart),
                "{what}: member {m}"
            );
            // A' carries traffic within that one exchange.
            assert_eq!(
                net.enabled_at((0, m), restart),
                Some(restart),
                "{what}: member {m}"
            );
            assert!(!net.lacp(0).member_resuming(m));
        }
        assert_b_undisturbed(&net, died);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        // What A' would save is what A saved: nothing to write.
        assert_eq!(net.lacp(0).saved(), saved, "{what}");
        // And it stays that way.
        net.run_for(3 * LONG_TIMEOUT_MS);
        assert_b_undisturbed(&net, died);
        for m in IDS {
            assert_eq!(
                net.disables((0, m), restart),
                Vec::<Millis>::new(),
                "{what}"
            );
        }
        assert_fully_negotiated(&net, 0, 1);
    }
}

#[test]
fn without_resume_the_partner_drops_the_links() {
    // The baseline the resume avoids: a fresh A' negotiating from scratch
    // makes B stop distributing until the aggregate wait is over.
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (_, died) = kill_a(&mut net);
    let restart = net.now;
    net.replace(0, fresh(cfg_a, |id| member_cfg(0, id), restart));
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    for m in IDS {
        assert_eq!(net.disables((1, m), died), vec![restart], "B member {m}");
        assert!(net.enabled_at((0, m), restart).unwrap() >= restart + AGGREGATE_WAIT_MS);
    }
}

#[test]
fn resume_waits_for_the_partner_to_confirm() {
    // B's answers are lost for a while: A' keeps the links unused (never
    // enabled) but in sync from B's point of view (B keeps distributing),
    // and carries traffic as soon as an answer arrives.
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (saved, died) = kill_a(&mut net);
    let restart = net.now;
    for m in IDS {
        net.mute((1, m), true);
    }
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    for m in IDS {
        assert!(net.lacp(0).member_resuming(m));
        assert!(!net.lacp(0).member_enabled(m));
    }
    net.run_for(1_500);
    for m in IDS {
        assert!(net.lacp(0).member_resuming(m));
        assert_eq!(net.enabled_at((0, m), restart), None);
        let st = net.lacp(0).status();
        assert_eq!(st.member(m).unwrap().mux_state, MuxState::Distributing);
        assert_eq!(st.member(m).unwrap().rx_state, RxState::Expired);
    }
    assert_b_undisturbed(&net, died);
    let back = net.now;
    for m in IDS {
        net.mute((1, m), false);
    }
    net.run_for(FAST_PERIODIC_MS);
    for m in IDS {
        // B's next periodic LACPDU (every second: A asks for fast) confirms.
        let at = net.enabled_at((0, m), restart).expect("enabled");
        assert!(at >= back && at <= back + FAST_PERIODIC_MS, "{at:?}");
    }
    assert_b_undisturbed(&net, died);
}

#[test]
fn a_different_partner_is_never_enabled_before_negotiating() {
    // While A was down, B was replaced by another system (3), which has
    // been running on its own.
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (saved, _) = kill_a(&mut net);
    let mut c = Lacp::new(config(3, LacpMode::Active, true));
    for id in IDS {
        c.add_member(id, member_cfg(1, id), net.now);
    }
    net.replace(1, c);
    net.run_for(DOWN_MS);
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    for m in IDS {
        assert!(
            !net.lacp(0).member_resuming(m),
            "C's answer ended the resume"
        );
        assert!(!net.lacp(0).member_enabled(m));
        // C did not take A''s claim of sync: its view of C was B's.
        assert!(!net.lacp(1).member_enabled(m));
    }
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    for m in IDS {
        let at = net
            .enabled_at((0, m), restart)
            .expect("negotiation completes");
        assert!(
            at >= restart + AGGREGATE_WAIT_MS,
            "member {m} enabled at {at:?}"
        );
        let p = net.lacp(0).status().member(m).unwrap().partner;
        assert_eq!(p.sys_id, sys(3));
    }
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn swapped_cables_are_negotiated_again() {
    // While A was down, the cables of members 3 and 7 were swapped: each
    // now reaches the other's old partner port. Member 12 is untouched.
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (saved, died) = kill_a(&mut net);
    for c in &mut net.cables {
        match c.ends {
            [(0, 3), (1, 3)] => c.ends = [(0, 3), (1, 7)],
            [(0, 7), (1, 7)] => c.ends = [(0, 7), (1, 3)],
            _ => {}
        }
    }
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    assert_eq!(net.enabled_at((0, 12), restart), Some(restart));
    for m in [3, 7] {
        assert!(!net.lacp(0).member_resuming(m));
        assert!(!net.lacp(0).member_enabled(m));
    }
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    for (m, port) in [(3, 7), (7, 3)] {
        let at = net.enabled_at((0, m), restart).expect("negotiated again");
        assert!(
            at >= restart + AGGREGATE_WAIT_MS,
            "member {m} enabled at {at:?}"
        );
        assert_eq!(
            net.lacp(0).status().member(m).unwrap().partner.port_id,
            port
        );
    }
    assert_eq!(net.disables((0, 12), restart), Vec::<Millis>::new());
    assert_eq!(net.disables((1, 12), died), Vec::<Millis>::new());
    assert!(net.all_enabled(0) && net.all_enabled(1));
}

#[test]
fn a_partner_that_restarted_too_is_negotiated_normally() {
    // B restarted as well (same system, fresh machine, not in sync): A'
    // must not enable on its first LACPDU.
    let cfg_a = config(1, LacpMode::Active, true);
    let cfg_b = config(2, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), cfg_b.clone());
    let (saved, _) = kill_a(&mut net);
    let mut b2 = Lacp::new(cfg_b);
    for id in IDS {
        b2.add_member(id, member_cfg(1, id), net.now);
    }
    net.replace(1, b2);
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    for m in IDS {
        assert!(!net.lacp(0).member_resuming(m));
        assert!(!net.lacp(0).member_enabled(m));
    }
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    for m in IDS {
        assert!(net.enabled_at((0, m), restart).unwrap() >= restart + AGGREGATE_WAIT_MS);
    }
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn changed_configuration_means_no_resume() {
    let base = config(1, LacpMode::Active, true);
    /// A change made while A was down: to the bond-wide settings, or to
    /// one member's.
    enum Change {
        Bond(fn(&mut LacpConfig)),
        Member(MemberId, fn(&mut MemberConfig)),
    }
    let cases: Vec<(&str, Change, Vec<MemberId>)> = vec![
        ("key", Change::Bond(|c| c.key = 99), vec![]),
        ("system id", Change::Bond(|c| c.system_id = sys(9)), vec![]),
        (
            "system priority",
            Change::Bond(|c| c.system_priority = 5),
            vec![],
        ),
        ("mode", Change::Bond(|c| c.mode = LacpMode::Passive), vec![]),
        ("rate", Change::Bond(|c| c.fast = false), vec![]),
        // The other members resume.
        (
            "port id of member 7",
            Change::Member(7, |m| m.port_id = 70),
            vec![3, 12],
        ),
        (
            "port priority of member 12",
            Change::Member(12, |m| m.port_priority = 1),
            vec![3, 7],
        ),
        (
            "MAC of member 3",
            Change::Member(3, |m| m.mac.0[5] ^= 0x80),
            vec![7, 12],
        ),
    ];
    for (what, change, resumed) in cases {
        let mut net = negotiated(base.clone(), config(2, LacpMode::Active, true));
        let (saved, _) = kill_a(&mut net);
        let restart = net.now;
        let mut cfg = base.clone();
        if let Change::Bond(f) = &change {
            f(&mut cfg);
        }
        let members = |id| {
            let mut m = member_cfg(0, id);
            match &change {
                Change::Member(which, f) if *which == id => f(&mut m),
                _ => {}
            }
            m
        };
        let mut a2 = fresh(cfg, members, restart);
        let mark = net.mark();
        let a = a2.resume(&saved, restart);
        for m in IDS {
            assert_eq!(
                a2.member_resuming(m),
                resumed.contains(&m),
                "{what}: member {m}"
            );
        }
        net.replace(0, a2);
        net.deliver(0, a);
        net.run_until(restart);
        for m in IDS {
            // What A' said at the restart (a passive A' with no partner yet
            // may say nothing at all).
            let said = net.lacpdus_after((0, m), mark);
            let claims_sync = said
                .iter()
                .filter(|(at, _)| *at == restart)
                .any(|(_, p)| p.actor.state.is_synchronized());
            assert_eq!(claims_sync, resumed.contains(&m), "{what}: member {m}");
            let enabled = net.enabled_at((0, m), restart);
            if resumed.contains(&m) {
                assert_eq!(enabled, Some(restart), "{what}: member {m}");
            } else {
                assert_eq!(enabled, None, "{what}: member {m}");
            }
        }
        // Normal negotiation brings the rest up.
        net.run_for(AGGREGATE_WAIT_MS + 3_000);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
    }
}

#[test]
fn silent_partner_falls_back_and_never_enables() {
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (saved, _) = kill_a(&mut net);
    // B is gone for good.
    net.kill(1);
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    let mark = start_a(&mut net, a2, &saved);
    net.run_until(restart + RESUME_TIMEOUT_MS - 1);
    for m in IDS {
        assert!(net.lacp(0).member_resuming(m));
        assert_eq!(net.rx_state((0, m)), RxState::Expired);
    }
    // While resuming it keeps asking, at the rate the partner wanted.
    let asked = net.lacpdus_after((0, 3), mark);
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked.iter().all(|(_, p)| p.actor.state.is_synchronized()));
    net.run_until(restart + RESUME_TIMEOUT_MS);
    let st = net.lacp(0).status();
    for m in IDS {
        let s = st.member(m).unwrap();
        assert_eq!(s.rx_state, RxState::Defaulted, "member {m}");
        assert_eq!((s.counters.link_expired, s.counters.link_defaulted), (0, 1));
        assert_eq!(s.mux_state, MuxState::Detached);
        assert!(!s.attached && !net.lacp(0).member_resuming(m));
    }
    assert!(!st.negotiated);
    net.run_for(LONG_TIMEOUT_MS);
    for m in IDS {
        assert_eq!(net.enabled_at((0, m), restart), None, "member {m}");
    }
    assert!(net.lacp(0).saved().members.is_empty());
}

#[test]
fn one_member_without_partner_does_not_hold_back_the_others() {
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let (saved, died) = kill_a(&mut net);
    net.set_cable((0, 12), false);
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    assert_eq!(net.enabled_at((0, 3), restart), Some(restart));
    assert_eq!(net.enabled_at((0, 7), restart), Some(restart));
    assert!(net.lacp(0).member_resuming(12));
    net.run_for(2 * RESUME_TIMEOUT_MS);
    assert_eq!(net.enabled_at((0, 12), restart), None);
    assert_eq!(net.rx_state((0, 12)), RxState::Defaulted);
    for m in [3, 7] {
        assert_eq!(net.disables((1, m), died), Vec::<Millis>::new());
        assert_eq!(net.disables((0, m), restart), Vec::<Millis>::new());
    }
    // The cable comes back: normal negotiation.
    net.set_cable((0, 12), true);
    net.run_for(LONG_TIMEOUT_MS);
    assert_fully_negotiated(&net, 0, 1);
}

/// The bond machine of side A, fed by its LACP machine as the daemon does.
fn sync_bond(bond: &mut Bond, lacp: &Lacp, now: Millis) {
    let en: Vec<(MemberId, bool)> = lacp
        .members()
        .map(|m| (m, lacp.member_enabled(m)))
        .collect();
    bond.set_lacp(lacp.negotiated(), &en, now);
}

fn bucket_ids(bond: &Bond) -> Vec<Option<MemberId>> {
    let v = bond.view();
    v.buckets
        .iter()
        .map(|&i| v.members.get(usize::from(i)).copied())
        .collect()
}

#[test]
fn bucket_table_is_restored_for_enabled_members_only() {
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let bcfg = BondConfig {
        mode: BondMode::BalanceTcp,
        lacp: true,
        ..BondConfig::default()
    };
    // A's bond before the restart, with a table that is not the
    // round-robin deal (traffic rebalanced onto member 7).
    let mut bond = Bond::new(bcfg.clone(), &IDS, net.now);
    for m in IDS {
        bond.set_carrier(m, true, net.now);
    }
    sync_bond(&mut bond, net.lacp(0), net.now);
    assert!(bond.view().up);
    let mut tx = [0u64; 256];
    for (b, t) in tx.iter_mut().enumerate() {
        *t = if bond.view().buckets[b] == 0 {
            300_000
        } else {
            1
        };
    }
    let t = net.now + 10_000;
    bond.rebalance(&tx, t);
    let bsaved: BondSaved = bond.saved().unwrap();
    let before = bucket_ids(&bond);
    assert_eq!(bsaved.buckets, before);
    let dealt: Vec<Option<MemberId>> = (0..256).map(|i| Some(IDS[i % 3])).collect();
    assert_ne!(before, dealt, "the rebalance moved buckets");

    // Restart; member 12's partner does not answer.
    let (saved, _) = kill_a(&mut net);
    net.set_cable((1, 12), false);
    let restart = net.now;
    let mut bond2 = Bond::new(bcfg, &IDS, restart);
    bond2.restore(&bsaved, restart).unwrap();
    for m in IDS {
        bond2.set_carrier(m, true, restart);
    }
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    sync_bond(&mut bond2, net.lacp(0), restart);
    let v = bond2.view();
    assert!(v.up && v.is_enabled(3) && v.is_enabled(7) && !v.is_enabled(12));
    let now = bucket_ids(&bond2);
    for b in 0..256 {
        match before[b] {
            Some(12) => assert!(matches!(now[b], Some(3) | Some(7)), "bucket {b}"),
            m => assert_eq!(now[b], m, "bucket {b}"),
        }
    }
    // Saving now loses nothing: member 12's buckets still wait for it.
    assert_eq!(bond2.saved(), Some(bsaved.clone()));
    // Member 12's partner comes back within the window (normal
    // negotiation): it gets exactly its buckets back.
    net.set_cable((1, 12), true);
    net.run_for(RESUME_TIMEOUT_MS + AGGREGATE_WAIT_MS + 2_000);
    assert!(net.now < restart + RESTORE_WINDOW_MS);
    sync_bond(&mut bond2, net.lacp(0), net.now);
    assert!(bond2.view().is_enabled(12));
    assert_eq!(bucket_ids(&bond2), before);
    assert!(!bond2.restore_pending());
}

#[cfg(feature = "serde")]
#[test]
fn saved_state_round_trips_through_json_and_resumes() {
    let cfg_a = config(1, LacpMode::Passive, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let saved = net.lacp(0).saved();
    let json = serde_json::to_string_pretty(&saved).unwrap();
    // Readable: addresses and the mode as they are written in the
    // configuration.
    assert!(
        json.contains("\"system_id\": \"02:00:00:00:00:01\""),
        "{json}"
    );
    assert!(json.contains("\"sys_id\": \"02:00:00:00:00:02\""), "{json}");
    assert!(json.contains("\"mode\": \"passive\""), "{json}");
    let back: LacpSaved = serde_json::from_str(&json).unwrap();
    assert_eq!(back, saved);
    // Damaged files are refused, not misread.
    for bad in [
        json.replace("02:00:00:00:00:02", "02:00:00:00:00"),
        json.replace("\"passive\"", "\"sometimes\""),
        json.replace("\"members\"", "\"memberz\""),
    ] {
        assert!(serde_json::from_str::<LacpSaved>(&bad).is_err(), "{bad}");
    }
    // And what comes back resumes.
    let (_, died) = kill_a(&mut net);
    let restart = net.now;
    let a2 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &back);
    for m in IDS {
        assert_eq!(net.enabled_at((0, m), restart), Some(restart));
    }
    assert_b_undisturbed(&net, died);
}

#[test]
fn a_longer_outage_still_resumes_while_the_partner_remembers_us() {
    // Down for 4 s with fast LACP: B's information about A expired (B
    // stopped using the links) but was not dropped yet. A' still picks up
    // at once, and so does B, without the aggregate wait.
    let cfg_a = config(1, LacpMode::Active, true);
    let mut net = negotiated(cfg_a.clone(), config(2, LacpMode::Active, true));
    let saved = net.lacp(0).saved();
    net.kill(0);
    net.run_for(4_000);
    for m in IDS {
        assert_eq!(net.rx_state((1, m)), RxState::Expired);
        assert!(!net.lacp(1).member_enabled(m));
    }
    let restart = net.now;
    let a2 = fresh(cfg_a.clone(), |id| member_cfg(0, id), restart);
    start_a(&mut net, a2, &saved);
    for m in IDS {
        assert_eq!(
            net.enabled_at((0, m), restart),
            Some(restart),
            "A' member {m}"
        );
        assert_eq!(
            net.enabled_at((1, m), restart),
            Some(restart),
            "B member {m}"
        );
        assert_eq!(net.expiries((1, m)), (1, 0));
    }

    // Down long enough for B to drop A (defaulted): A''s claim is not
    // confirmed, and both sides negotiate from scratch.
    let saved = net.lacp(0).saved();
    net.kill(0);
    net.run_for(7_000);
    for m in IDS {
        assert_eq!(net.rx_state((1, m)), RxState::Defaulted);
    }
    let restart = net.now;
    let a3 = fresh(cfg_a, |id| member_cfg(0, id), restart);
    start_a(&mut net, a3, &saved);
    for m in IDS {
        assert!(!net.lacp(0).member_resuming(m) && !net.lacp(0).member_enabled(m));
    }
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    for m in IDS {
        assert!(net.enabled_at((0, m), restart).unwrap() >= restart + AGGREGATE_WAIT_MS);
    }
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}
