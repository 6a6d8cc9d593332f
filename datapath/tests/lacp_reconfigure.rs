//! Changing a negotiated bond's LACP settings in place
//! (`Lacp::reconfigure`, `Lacp::add_member` on an existing member, adding
//! and removing members) must not cost traffic: with both sides
//! negotiated, a change on one side never disables a member that stays, on
//! either side, never expires or defaults a partner, and the new settings
//! show in the next LACPDU and in the status.
//!
//! Member ids are 3, 7 and 12 (not positions), as the daemon may number
//! them.

mod lacp_net;

use datapath::lacp::{
    LacpConfig, LacpMode, MemberConfig, MemberId, AGGREGATE_WAIT_MS, FAST_PERIODIC_MS,
    LONG_TIMEOUT_MS, SLOW_PERIODIC_MS,
};
use datapath::time::Millis;
use lacp_net::{assert_fully_negotiated, config, member_cfg, pair, Net};

const IDS: [MemberId; 3] = [3, 7, 12];

/// Both sides negotiated over members 3, 7 and 12.
fn negotiated(a: LacpConfig, b: LacpConfig) -> Net {
    negotiated_over(a, b, &IDS)
}

fn negotiated_over(a: LacpConfig, b: LacpConfig, ids: &[MemberId]) -> Net {
    let mut net = pair(a, b, ids);
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
    net
}

/// Since `t0`, members `staying` were never disabled on either side and no
/// partner of theirs expired or defaulted.
fn assert_no_outage(net: &Net, t0: Millis, staying: &[MemberId]) {
    for node in 0..2 {
        for &m in staying {
            assert_eq!(
                net.disables((node, m), t0),
                Vec::<Millis>::new(),
                "node {node} member {m} was disabled"
            );
            assert_eq!(
                net.expiries((node, m)),
                (0, 0),
                "node {node} member {m}: partner expired or defaulted"
            );
            assert!(net.lacp(node).member_enabled(m), "node {node} member {m}");
        }
    }
}

/// Run long enough for every timer to have fired many times, for both
/// rates, then check nothing was lost and both sides are negotiated.
fn settle(net: &mut Net, t0: Millis, staying: &[MemberId]) {
    net.run_for(3 * LONG_TIMEOUT_MS);
    assert_no_outage(net, t0, staying);
}

#[test]
fn active_to_passive_and_back() {
    for fast in [true, false] {
        let mut net = negotiated(
            config(1, LacpMode::Active, fast),
            config(2, LacpMode::Active, fast),
        );
        let t0 = net.now;
        let mk = net.mark();
        let passive = LacpConfig {
            mode: LacpMode::Passive,
            ..net.lacp(0).config().clone()
        };
        let a = net.nodes[0].reconfigure(passive, t0);
        net.deliver(0, a);
        // The next LACPDU goes out at once and says passive.
        for m in IDS {
            let sent = net.lacpdus_after((0, m), mk);
            assert_eq!(sent[0].0, t0, "fast={fast} member {m}");
            assert!(!sent[0].1.actor.state.is_active());
            let st = net.lacp(1).status();
            assert!(!st.member(m).unwrap().partner.state.is_active());
        }
        assert_eq!(net.lacp(0).status().mode, LacpMode::Passive);
        settle(&mut net, t0, &IDS);
        // A passive side keeps talking to an active partner.
        let late = net.now - 2 * SLOW_PERIODIC_MS;
        assert!(!net.lacpdus_from((0, 3), late).is_empty());
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);

        // And back to active.
        let t1 = net.now;
        let mk = net.mark();
        let active = LacpConfig {
            mode: LacpMode::Active,
            ..net.lacp(0).config().clone()
        };
        let a = net.nodes[0].reconfigure(active, t1);
        net.deliver(0, a);
        let sent = net.lacpdus_after((0, 7), mk);
        assert_eq!(sent[0].0, t1);
        assert!(sent[0].1.actor.state.is_active());
        settle(&mut net, t0, &IDS);
        assert_fully_negotiated(&net, 1, 0);
    }
}

#[test]
fn fast_to_slow_and_slow_to_fast() {
    // Node 1 stays fast or slow; node 0 switches.
    for peer_fast in [true, false] {
        let mut net = negotiated(
            config(1, LacpMode::Active, true),
            config(2, LacpMode::Active, peer_fast),
        );
        let t0 = net.now;
        let mk = net.mark();
        let slow = LacpConfig {
            fast: false,
            ..net.lacp(0).config().clone()
        };
        let a = net.nodes[0].reconfigure(slow, t0);
        net.deliver(0, a);
        for m in IDS {
            let sent = net.lacpdus_after((0, m), mk);
            assert_eq!(sent[0].0, t0);
            assert!(!sent[0].1.actor.state.is_short_timeout());
            assert!(!net
                .lacp(1)
                .status()
                .member(m)
                .unwrap()
                .partner
                .state
                .is_short_timeout());
        }
        assert_eq!(net.lacp(0).status().lacp_time(), "slow");
        settle(&mut net, t0, &IDS);
        // Node 1 now sends every 30 s only.
        let since = net.now - 4 * SLOW_PERIODIC_MS;
        let gaps: Vec<u64> = net
            .lacpdus_from((1, 3), since)
            .windows(2)
            .map(|w| w[1].0.as_millis() - w[0].0.as_millis())
            .collect();
        assert!(
            !gaps.is_empty() && gaps.iter().all(|g| *g == SLOW_PERIODIC_MS),
            "{gaps:?}"
        );

        // Back to fast: node 1 is asked for fast LACPDUs and answers at once.
        let t1 = net.now;
        let mk = net.mark();
        let fast = LacpConfig {
            fast: true,
            ..net.lacp(0).config().clone()
        };
        let a = net.nodes[0].reconfigure(fast, t1);
        net.deliver(0, a);
        for m in IDS {
            let sent = net.lacpdus_after((0, m), mk);
            assert_eq!(sent[0].0, t1);
            assert!(sent[0].1.actor.state.is_short_timeout());
            assert_eq!(net.lacpdus_after((1, m), mk)[0].0, t1, "answered at once");
        }
        assert_eq!(net.lacp(0).status().lacp_time(), "fast");
        settle(&mut net, t0, &IDS);
        let since = net.now - 10 * FAST_PERIODIC_MS;
        let gaps: Vec<u64> = net
            .lacpdus_from((1, 7), since)
            .windows(2)
            .map(|w| w[1].0.as_millis() - w[0].0.as_millis())
            .collect();
        assert!(
            gaps.len() >= 8 && gaps.iter().all(|g| *g == FAST_PERIODIC_MS),
            "{gaps:?}"
        );
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
    }
}

#[test]
fn system_priority_change() {
    let mut net = negotiated(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
    );
    let t0 = net.now;
    // From the default (65534, worse than node 1's) to 100 (better): node 0
    // now decides; then back.
    for (i, prio) in [100u16, 65534, 7].into_iter().enumerate() {
        let t = net.now;
        let mk = net.mark();
        let c = LacpConfig {
            system_priority: prio,
            ..net.lacp(0).config().clone()
        };
        let a = net.nodes[0].reconfigure(c, t);
        net.deliver(0, a);
        for m in IDS {
            let sent = net.lacpdus_after((0, m), mk);
            assert_eq!(sent[0].0, t, "step {i}");
            assert_eq!(sent[0].1.actor.sys_priority, prio);
            let st = net.lacp(1).status();
            assert_eq!(st.member(m).unwrap().partner.sys_priority, prio);
        }
        assert_eq!(net.lacp(0).status().system_priority, prio);
        assert_no_outage(&net, t0, &IDS);
        net.run_for(10 * FAST_PERIODIC_MS);
    }
    settle(&mut net, t0, &IDS);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn port_priority_change() {
    let mut net = negotiated(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, false),
    );
    let t0 = net.now;
    let mk = net.mark();
    let new = MemberConfig {
        port_priority: 10,
        ..member_cfg(0, 7)
    };
    net.nodes[0].add_member(7, new, t0);
    // add_member returns nothing: the LACPDU goes out at the next tick,
    // which next_deadline asks for at once.
    assert_eq!(net.lacp(0).next_deadline(), Some(t0));
    net.run_until(t0);
    let sent = net.lacpdus_after((0, 7), mk);
    assert_eq!(sent[0].0, t0);
    assert_eq!(sent[0].1.actor.port_priority, 10);
    assert_eq!(
        net.lacp(0).status().member(7).unwrap().actor.port_priority,
        10
    );
    assert_eq!(
        net.lacp(1)
            .status()
            .member(7)
            .unwrap()
            .partner
            .port_priority,
        10
    );
    // The other members had nothing new to say.
    assert!(net.lacpdus_after((0, 3), mk).is_empty());
    // And on the other side too.
    let t1 = net.now;
    let new = MemberConfig {
        port_priority: 1,
        ..member_cfg(1, 12)
    };
    net.nodes[1].add_member(12, new, t1);
    net.run_until(t1);
    assert_eq!(
        net.lacp(0)
            .status()
            .member(12)
            .unwrap()
            .partner
            .port_priority,
        1
    );
    settle(&mut net, t0, &IDS);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn adding_a_member() {
    let mut net = negotiated_over(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[3, 7],
    );
    let t0 = net.now;
    let key = net.lacp(0).status().key;
    // Member 12 added on both sides, cabled.
    net.cable((0, 12), (1, 12));
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_eq!(net.lacp(0).status().key, key, "the key does not change");
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
    settle(&mut net, t0, &[3, 7]);
    assert!(net.lacp(0).member_enabled(12) && net.lacp(1).member_enabled(12));

    // A member added on one side only, with nothing at the far end: it
    // defaults and never disturbs the others.
    let t1 = net.now;
    net.nodes[0].add_member(20, member_cfg(0, 20), t1);
    settle(&mut net, t0, &[3, 7, 12]);
    assert!(!net.lacp(0).member_enabled(20));
    assert_eq!(net.rx_state((0, 20)), datapath::lacp::RxState::Defaulted);
}

#[test]
fn removing_a_member() {
    // The first member (whose port ID is the automatic key), then a middle
    // one.
    for (gone, staying) in [(3, [7, 12]), (7, [3, 12])] {
        let mut net = negotiated(
            config(1, LacpMode::Active, true),
            config(2, LacpMode::Active, true),
        );
        let t0 = net.now;
        let key = net.lacp(0).status().key;
        let mk = net.mark();
        assert_eq!(key, Some(3));
        let a = net.nodes[0].remove_member(gone);
        assert_eq!(a.enabled_changed, vec![(gone, false)]);
        net.deliver(0, a);
        assert!(net.lacp(0).members().all(|m| m != gone));
        assert_eq!(net.lacp(0).status().key, key, "the key stays");
        settle(&mut net, t0, &staying);
        for m in staying {
            assert!(net
                .lacpdus_after((0, m), mk)
                .iter()
                .all(|(_, p)| p.actor.key == 3));
        }
        // Node 1's end of the removed link hears nothing any more.
        assert!(!net.lacp(1).member_enabled(gone));
        assert_eq!(net.disables((1, gone), t0).len(), 1);
        assert_fully_negotiated(&net, 0, 1);
    }
}

#[test]
fn nothing_changes_nothing() {
    let mut net = negotiated(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
    );
    let t0 = net.now;
    let mk = net.mark();
    let same = net.lacp(0).config().clone();
    let a = net.nodes[0].reconfigure(same, t0);
    assert!(a.is_empty(), "{a:?}");
    net.nodes[0].add_member(3, member_cfg(0, 3), t0);
    assert!(net.nodes[0].tick(t0).is_empty());
    net.run_for(FAST_PERIODIC_MS / 2);
    assert!(net.lacpdus_after((0, 3), mk).is_empty());
    assert_no_outage(&net, t0, &IDS);
}
