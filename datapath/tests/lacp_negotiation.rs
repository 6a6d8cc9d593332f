//! LACP machines wired back to back: every frame one sends on a member is
//! fed to the `rx_frame` of the member at the other end of that "cable".
//! Time is a fake clock that jumps from one `next_deadline` to the next, so
//! the tests also check that `next_deadline` never oversleeps a timer.
//!
//! The harness (`Net`, `pair`, `assert_fully_negotiated`, ...) is the
//! shared `lacp_net` module.

mod lacp_net;

use datapath::lacp::{
    Lacp, LacpConfig, LacpMode, MemberConfig, MemberId, MuxState, RxState, AGGREGATE_WAIT_MS,
    FAST_PERIODIC_MS, LONG_TIMEOUT_MS, SHORT_TIMEOUT_MS, SLOW_PERIODIC_MS,
};
use datapath::time::Millis;
use datapath::wire::lacpdu::{LacpInfo, LacpState, Lacpdu};
use datapath::wire::marker::{MarkerKind, MarkerPdu};
use datapath::wire::MacAddr;
use lacp_net::{assert_fully_negotiated, config, member_cfg, pair, sys, Net};

#[test]
fn active_active_negotiates_fast_and_slow() {
    for fast in [true, false] {
        let mut net = pair(
            config(1, LacpMode::Active, fast),
            config(2, LacpMode::Active, fast),
            &[1, 2, 3],
        );
        net.run_for(AGGREGATE_WAIT_MS + 2_000);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        // And it stays that way.
        net.run_for(10 * SLOW_PERIODIC_MS);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        let st = net.lacp(0).status();
        assert_eq!(st.lacp_time(), if fast { "fast" } else { "slow" });
        assert!(st.members.iter().all(|m| m.counters.rx_bad_pdus == 0));
        assert!(st.members.iter().all(|m| m.counters.link_expired == 0));
    }
}

#[test]
fn active_passive_negotiates() {
    for (a, b) in [
        (LacpMode::Active, LacpMode::Passive),
        (LacpMode::Passive, LacpMode::Active),
    ] {
        let mut net = pair(config(1, a, false), config(2, b, false), &[1, 2]);
        net.run_for(AGGREGATE_WAIT_MS + 2_000);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        net.run_for(5 * LONG_TIMEOUT_MS);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
    }
}

#[test]
fn passive_passive_never_negotiates() {
    let mut net = pair(
        config(1, LacpMode::Passive, true),
        config(2, LacpMode::Passive, true),
        &[1, 2],
    );
    net.run_for(10 * LONG_TIMEOUT_MS);
    assert!(
        net.log.is_empty(),
        "passive sides sent {} frames",
        net.log.len()
    );
    for n in 0..2 {
        let st = net.lacp(n).status();
        assert!(!st.negotiated);
        for m in &st.members {
            assert_eq!(m.rx_state, RxState::Defaulted);
            assert!(!m.may_enable && !m.attached);
        }
    }
}

#[test]
fn partner_loss_fast_expires_at_3s_and_defaults_at_6s() {
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[1, 2],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    // Frames from node 1 member 1 stop arriving.
    net.set_cable((1, 1), false);
    let last = net.last_delivery_from((1, 1));
    net.run_until(last + 2_900);
    assert_eq!(net.rx_state((0, 1)), RxState::Current);
    assert!(net.lacp(0).member_enabled(1));
    net.run_until(last + SHORT_TIMEOUT_MS - 1);
    assert_eq!(net.rx_state((0, 1)), RxState::Current);
    net.run_until(last + SHORT_TIMEOUT_MS);
    assert_eq!(net.rx_state((0, 1)), RxState::Expired);
    assert!(!net.lacp(0).member_enabled(1));
    assert_eq!(net.enabled.get(&(0, 1)), Some(&false));
    net.run_until(last + 2 * SHORT_TIMEOUT_MS - 1);
    assert_eq!(net.rx_state((0, 1)), RxState::Expired);
    net.run_until(last + 2 * SHORT_TIMEOUT_MS);
    assert_eq!(net.rx_state((0, 1)), RxState::Defaulted);
    let c = net.lacp(0).status().member(1).unwrap().counters;
    assert_eq!((c.link_expired, c.link_defaulted), (1, 1));
    // The other member is untouched and the bond stays negotiated.
    assert!(net.lacp(0).member_enabled(2));
    assert!(net.lacp(0).negotiated());
    // Node 1 also lost member 1 (it hears node 0 but node 0 no longer has it
    // in sync), and member 2 still carries traffic there too.
    assert!(!net.lacp(1).member_enabled(1));
    assert!(net.lacp(1).member_enabled(2));

    // The cable comes back: both sides recover.
    net.set_cable((1, 1), true);
    net.run_for(SLOW_PERIODIC_MS + AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn partner_loss_slow_expires_at_90s() {
    let mut net = pair(
        config(1, LacpMode::Active, false),
        config(2, LacpMode::Active, false),
        &[1],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    net.set_cable((1, 1), false);
    let last = net.last_delivery_from((1, 1));
    net.run_until(last + LONG_TIMEOUT_MS - 100);
    assert_eq!(net.rx_state((0, 1)), RxState::Current);
    assert!(net.lacp(0).member_enabled(1));
    net.run_until(last + LONG_TIMEOUT_MS);
    assert_eq!(net.rx_state((0, 1)), RxState::Expired);
    assert!(!net.lacp(0).member_enabled(1));
    // While expired we ask for, and send at, the fast rate.
    let fast_start = net.now;
    net.run_until(last + LONG_TIMEOUT_MS + SHORT_TIMEOUT_MS - 1);
    assert_eq!(net.rx_state((0, 1)), RxState::Expired);
    let sent = net.lacpdus_from((0, 1), fast_start);
    assert!(sent.iter().all(|(_, p)| p.actor.state.is_expired()));
    assert!(sent.len() >= 2, "{sent:?}");
    net.run_until(last + LONG_TIMEOUT_MS + SHORT_TIMEOUT_MS);
    assert_eq!(net.rx_state((0, 1)), RxState::Defaulted);
    assert!(!net.lacp(0).negotiated());
}

#[test]
fn lossy_cables_still_negotiate() {
    // Every other frame on every cable is lost, from the first one on.
    for fast in [true, false] {
        let mut net = pair(
            config(1, LacpMode::Active, fast),
            config(2, LacpMode::Active, fast),
            &[1, 2],
        );
        for c in &mut net.cables {
            c.lossy = true;
        }
        // Lost updates are repaired by the next LACPDU: periodic, or sooner
        // when a partner's view is stale.
        let period = if fast {
            FAST_PERIODIC_MS
        } else {
            SLOW_PERIODIC_MS
        };
        net.run_for(AGGREGATE_WAIT_MS + 4 * period);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        // Half the periodic LACPDUs are enough to stay current (3 periods).
        net.run_for(20 * period);
        assert_fully_negotiated(&net, 0, 1);
        assert_fully_negotiated(&net, 1, 0);
        let st = net.lacp(0).status();
        assert!(st.members.iter().all(|m| m.counters.link_expired == 0));
    }
}

#[test]
fn periodic_rate_matches_fast_and_slow() {
    // Node 0 asks for fast LACPDUs, node 1 for slow ones: node 1 sends
    // every second, node 0 every 30 s.
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, false),
        &[1],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    let start = net.now;
    net.run_for(300_000);
    let from1 = net.lacpdus_from((1, 1), start);
    let from0 = net.lacpdus_from((0, 1), start);
    assert!(
        (300..=301).contains(&from1.len()),
        "fast side sent {}",
        from1.len()
    );
    assert!(
        (10..=11).contains(&from0.len()),
        "slow side sent {}",
        from0.len()
    );
    let gaps = |v: &[(Millis, Lacpdu)]| -> Vec<u64> {
        v.windows(2)
            .map(|w| w[1].0.as_millis() - w[0].0.as_millis())
            .collect()
    };
    assert!(
        gaps(&from1).iter().all(|g| *g == FAST_PERIODIC_MS),
        "{:?}",
        gaps(&from1)
    );
    assert!(
        gaps(&from0).iter().all(|g| *g == SLOW_PERIODIC_MS),
        "{:?}",
        gaps(&from0)
    );
    // Each says what it wants.
    assert!(from0.iter().all(|(_, p)| p.actor.state.is_short_timeout()));
    assert!(from1.iter().all(|(_, p)| !p.actor.state.is_short_timeout()));
    // Still negotiated on both sides after 300 s of periodic traffic.
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn never_more_than_three_lacpdus_per_second() {
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[1, 2, 3, 4],
    );
    // Negotiation plus churn: a cable flaps while the rest negotiate.
    net.run_for(1_500);
    net.set_cable((0, 2), false);
    net.run_for(4_000);
    net.set_cable((0, 2), true);
    net.run_for(30_000);
    for from in net
        .log
        .iter()
        .map(|s| s.from)
        .collect::<std::collections::HashSet<_>>()
    {
        let times: Vec<u64> = net
            .lacpdus_from(from, Millis::ZERO)
            .iter()
            .map(|(t, _)| t.as_millis())
            .collect();
        for w in times.windows(4) {
            assert!(
                w[3] - w[0] >= FAST_PERIODIC_MS,
                "{from:?} sent 4 within a second: {w:?}"
            );
        }
    }
    assert_fully_negotiated(&net, 0, 1);
}

#[test]
fn partner_change_reselects() {
    // Node 0 (system 1) has members 1, 2 cabled to node 1 (system 2), and
    // members 3, 4 cabled to node 2 (system 3). System 2 has the better
    // priority, so its links aggregate; 3 and 4 wait.
    let mut net = Net::new(vec![
        config(1, LacpMode::Active, true),
        LacpConfig {
            system_priority: 100,
            ..config(2, LacpMode::Active, true)
        },
        LacpConfig {
            system_priority: 200,
            ..config(3, LacpMode::Active, true)
        },
    ]);
    net.cable((0, 1), (1, 1));
    net.cable((0, 2), (1, 2));
    net.cable((0, 3), (2, 3));
    net.cable((0, 4), (2, 4));
    net.run_for(AGGREGATE_WAIT_MS + 3_000);
    let attached = |net: &Net| -> Vec<(MemberId, bool, bool)> {
        let l = net.lacp(0);
        l.status()
            .members
            .iter()
            .map(|m| (m.id, m.attached, l.member_enabled(m.id)))
            .collect()
    };
    assert_eq!(
        attached(&net),
        vec![
            (1, true, true),
            (2, true, true),
            (3, false, false),
            (4, false, false)
        ]
    );
    assert!(net.all_enabled(1));
    // Node 2 is not selected by node 0: it never sees sync, never enables.
    assert!(!net.lacp(2).member_enabled(3) && !net.lacp(2).member_enabled(4));
    assert!(net
        .lacp(2)
        .status()
        .members
        .iter()
        .all(|m| m.mux_state < MuxState::Collecting));

    // System 2 goes away: its links expire (disabled), default, and the
    // aggregate moves to system 3.
    net.set_cable((1, 1), false);
    net.set_cable((1, 2), false);
    net.run_for(SHORT_TIMEOUT_MS);
    assert!(!net.lacp(0).member_enabled(1) && !net.lacp(0).member_enabled(2));
    net.run_for(SHORT_TIMEOUT_MS + AGGREGATE_WAIT_MS + 2_000);
    assert_eq!(
        attached(&net),
        vec![
            (1, false, false),
            (2, false, false),
            (3, true, true),
            (4, true, true)
        ]
    );
    assert!(net.all_enabled(2));
    let st = net.lacp(0).status();
    assert!(st.members[2..].iter().all(|m| m.partner.sys_id == sys(3)));

    // Now system 3 changes its key: both links re-select (they stop
    // distributing, wait, and come back with the new key).
    let new_cfg = LacpConfig {
        key: 4242,
        ..net.lacp(2).config().clone()
    };
    let now = net.now;
    let a = net.nodes[2].reconfigure(new_cfg, now);
    net.deliver(2, a);
    assert!(!net.lacp(0).member_enabled(3) && !net.lacp(0).member_enabled(4));
    assert_eq!(net.lacp(0).status().member(3).unwrap().partner.key, 4242);
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_eq!(
        attached(&net),
        vec![
            (1, false, false),
            (2, false, false),
            (3, true, true),
            (4, true, true)
        ]
    );
}

#[test]
fn own_system_is_never_selected() {
    // A bond whose two members are cabled to each other.
    let mut net = Net::new(vec![config(1, LacpMode::Active, true)]);
    net.cable((0, 1), (0, 2));
    net.run_for(10 * SHORT_TIMEOUT_MS);
    let st = net.lacp(0).status();
    assert!(!st.negotiated);
    for m in &st.members {
        // It hears itself, and discards what it hears (as Linux does).
        assert!(m.counters.rx_bad_pdus > 0, "{m:?}");
        assert_eq!(m.counters.rx_pdus, 0, "{m:?}");
        assert_eq!(m.rx_state, RxState::Defaulted);
        assert_ne!(m.partner.sys_id, sys(1));
        assert!(!m.attached && !m.may_enable);
    }
    // Also when another bond with the same system ID is at the far end.
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(1, LacpMode::Active, true),
        &[1, 2],
    );
    net.run_for(10 * SHORT_TIMEOUT_MS);
    assert!(!net.lacp(0).negotiated() && !net.lacp(1).negotiated());
    assert!(!net.all_enabled(0) && !net.all_enabled(1));
}

#[test]
fn malformed_lacpdus_are_counted_and_change_nothing() {
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[1, 2],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    // A well-formed LACPDU from a third system with another key: had any
    // damaged copy been accepted, member 1 would be re-selected and stop.
    let intruder = Lacpdu {
        actor: LacpInfo {
            sys_priority: 1,
            sys_id: sys(9),
            key: 9,
            port_priority: 1,
            port_id: 1,
            state: LacpState(0x3d),
        },
        partner: LacpInfo::default(),
        collector_max_delay: 0,
    }
    .encode(sys(9));
    let damage: Vec<(&str, Vec<u8>)> = vec![
        ("wrong length", intruder[..123].to_vec()),
        ("version 0", with(&intruder, 15, 0)),
        ("actor tlv type", with(&intruder, 16, 9)),
        ("actor tlv length", with(&intruder, 17, 18)),
        ("partner tlv length", with(&intruder, 37, 0)),
        ("collector tlv type", with(&intruder, 56, 0)),
        ("terminator length", with(&intruder, 73, 2)),
        (
            "distributing without collecting",
            with(&intruder, 18 + 14, 0x2d),
        ),
        ("zero system id", {
            let mut b = intruder.to_vec();
            b[20..26].fill(0);
            b
        }),
        (
            "truncated marker",
            MarkerPdu {
                kind: MarkerKind::Request,
                port: 1,
                system: sys(9),
                transaction_id: 5,
            }
            .encode(sys(9))[..60]
                .to_vec(),
        ),
    ];
    for (i, (what, frame)) in damage.iter().enumerate() {
        let now = net.now;
        let a = net.nodes[0].rx_frame(1, frame, now);
        assert!(a.is_empty(), "{what}");
        let st = net.lacp(0).status();
        let m = st.member(1).unwrap();
        assert_eq!(m.counters.rx_bad_pdus, i as u64 + 1, "{what}");
        assert_eq!(m.partner.sys_id, sys(2), "{what}");
        assert!(m.may_enable, "{what}");
        net.run_for(100);
    }
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
}

fn with(frame: &[u8; 124], at: usize, v: u8) -> Vec<u8> {
    let mut b = frame.to_vec();
    b[at] = v;
    b
}

#[test]
fn marker_request_is_answered_on_the_same_member() {
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[1, 2],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    let req = MarkerPdu {
        kind: MarkerKind::Request,
        port: 2,
        system: sys(2),
        transaction_id: 0xcafe_f00d,
    };
    let now = net.now;
    let a = net.nodes[0].rx_frame(2, &req.encode(sys(2)), now);
    let responses: Vec<(MemberId, MarkerPdu, MacAddr)> =
        a.tx.iter()
            .filter_map(|(m, f)| {
                MarkerPdu::parse(f)
                    .ok()
                    .map(|p| (*m, p, MacAddr::from_slice(&f[6..12]).unwrap()))
            })
            .collect();
    assert_eq!(
        responses,
        vec![(
            2,
            MarkerPdu {
                kind: MarkerKind::Response,
                port: 2,
                system: sys(2),
                transaction_id: 0xcafe_f00d,
            },
            member_cfg(0, 2).mac,
        )]
    );
    let c = net.lacp(0).status().member(2).unwrap().counters;
    assert_eq!((c.rx_marker_requests, c.tx_marker_responses), (1, 1));
    // The peer takes the response calmly (not a bad PDU, nothing changes).
    net.deliver(0, a);
    let c = net.lacp(1).status().member(2).unwrap().counters;
    assert_eq!(c.rx_bad_pdus, 0);
    assert_fully_negotiated(&net, 1, 0);
}

#[test]
fn carrier_down_and_up() {
    let mut net = pair(
        config(1, LacpMode::Active, true),
        config(2, LacpMode::Active, true),
        &[1, 2],
    );
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    let now = net.now;
    let a = net.nodes[0].set_carrier(1, false, now);
    assert_eq!(a.enabled_changed, vec![(1, false)]);
    net.deliver(0, a);
    net.set_cable((0, 1), false);
    let a = net.nodes[1].set_carrier(1, false, now);
    net.deliver(1, a);
    net.run_for(10_000);
    assert!(!net.lacp(0).member_enabled(1) && net.lacp(0).member_enabled(2));
    assert_eq!(net.rx_state((0, 1)), RxState::PortDisabled);
    assert!(
        net.lacpdus_from((0, 1), now + 1).is_empty(),
        "silent while down"
    );
    net.set_cable((0, 1), true);
    let now = net.now;
    for n in 0..2 {
        let a = net.nodes[n].set_carrier(1, true, now);
        net.deliver(n, a);
    }
    net.run_for(AGGREGATE_WAIT_MS + 2_000);
    assert_fully_negotiated(&net, 0, 1);
    assert_fully_negotiated(&net, 1, 0);
    assert_eq!(
        net.lacp(0)
            .status()
            .member(1)
            .unwrap()
            .counters
            .carrier_changes,
        2
    );
}

#[test]
fn first_lacpdu_is_byte_exact() {
    // The first LACPDU of a fresh active, fast bond member with OVS's
    // default priorities, written out field by field (802.1AX-2008 5.4.2.2).
    let mut l = Lacp::new(LacpConfig {
        mode: LacpMode::Active,
        fast: true,
        system_id: MacAddr([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]),
        system_priority: 65534,
        key: 0,
    });
    l.add_member(
        7,
        MemberConfig {
            port_id: 3,
            port_priority: 65535,
            mac: MacAddr([0x52, 0x54, 0x00, 0x00, 0x00, 0x03]),
        },
        Millis(5),
    );
    let a = l.tick(Millis(5));
    assert_eq!(a.tx.len(), 1);
    assert_eq!(a.tx[0].0, 7);
    #[rustfmt::skip]
    let expected: [u8; 124] = [
        // Ethernet: Slow_Protocols_Multicast, member MAC, ethertype 0x8809.
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x02,
        0x52, 0x54, 0x00, 0x00, 0x00, 0x03,
        0x88, 0x09,
        // Subtype LACP, version 1.
        0x01, 0x01,
        // Actor Information TLV, length 20.
        0x01, 0x14,
        0xff, 0xfe,                         // system priority 65534
        0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, // system
        0x00, 0x03,                         // key: first member's port id
        0xff, 0xff,                         // port priority 65535
        0x00, 0x03,                         // port 3
        0xc7,                               // activity|timeout|aggregation|defaulted|expired
        0x00, 0x00, 0x00,                   // reserved
        // Partner Information TLV, length 20: nobody yet.
        0x02, 0x14,
        0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
        0x00, 0x00,
        0x02,                               // short timeout asked while expired
        0x00, 0x00, 0x00,
        // Collector Information TLV, length 16: max delay 0, 12 reserved.
        0x03, 0x10,
        0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // Terminator TLV.
        0x00, 0x00,
        // 50 reserved bytes.
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    assert_eq!(a.tx[0].1, expected);
    assert_eq!(
        Lacpdu::parse(&expected)
            .unwrap()
            .encode(MacAddr([0x52, 0x54, 0, 0, 0, 3])),
        expected
    );
}
