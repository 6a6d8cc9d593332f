use super::*;

const fn pmd(core: u32, numa: u32) -> PmdCore {
    PmdCore { core, numa }
}

fn q(cycles: u64) -> RxqLoad {
    RxqLoad {
        numa: 0,
        cycles,
        pinned: None,
    }
}

fn on(numa: u32) -> RxqLoad {
    RxqLoad {
        numa,
        ..RxqLoad::default()
    }
}

fn pinned(core: u32) -> RxqLoad {
    RxqLoad {
        pinned: Some(core),
        ..RxqLoad::default()
    }
}

fn with(assign: RxqAssign) -> Settings {
    Settings {
        assign,
        isolate: true,
    }
}

/// The queues (by index) each core got, by core.
fn by_core(p: &Placement) -> BTreeMap<u32, Vec<usize>> {
    let mut m: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, c) in p.core.iter().enumerate() {
        if let Some(c) = c {
            m.entry(*c).or_default().push(i);
        }
    }
    m
}

const THREE: [PmdCore; 3] = [pmd(3, 0), pmd(7, 0), pmd(8, 0)];

#[test]
fn cycles_matches_the_ovs_documentation_example() {
    // pmd.rst: Q0 30%, Q1 80%, Q3 60%, Q4 70%, Q5 10% on cores 3, 7, 8
    // give 3: Q1 | 7: Q4, Q5 | 8: Q3, Q0.
    let rxqs = [q(30), q(80), q(60), q(70), q(10)]; // Q0 Q1 Q3 Q4 Q5
    let p = place(&THREE, &rxqs, with(RxqAssign::Cycles));
    assert_eq!(
        p.core,
        vec![Some(8), Some(3), Some(8), Some(7), Some(7)],
        "{p:?}"
    );
    assert!(p.notes.is_empty());
    assert!(p.isolated.is_empty());
}

#[test]
fn group_matches_the_ovs_documentation_example() {
    // pmd.rst: Q0 10%, Q1 80%, Q3 50%, Q4 70%, Q5 10% give
    // 3: Q1 | 7: Q4 | 8: Q3, Q0, Q5.
    let rxqs = [q(10), q(80), q(50), q(70), q(10)];
    let p = place(&THREE, &rxqs, with(RxqAssign::Group));
    assert_eq!(
        by_core(&p),
        BTreeMap::from([(3, vec![1]), (7, vec![3]), (8, vec![0, 2, 4])])
    );
    // The same loads with `cycles` keep two queues on core 7.
    let c = place(&THREE, &rxqs, with(RxqAssign::Cycles));
    assert_eq!(c.core[4], Some(7), "{c:?}");
}

#[test]
fn roundrobin_matches_the_ovs_documentation_example() {
    // P0Q0 P0Q1 P1Q0 P1Q1 P1Q2 give 3: P0Q0, P1Q1 | 7: P0Q1, P1Q2 | 8: P1Q0,
    // whatever the cycles.
    let rxqs = [q(0), q(500), q(0), q(900), q(1)];
    let p = place(&THREE, &rxqs, with(RxqAssign::RoundRobin));
    assert_eq!(
        by_core(&p),
        BTreeMap::from([(3, vec![0, 3]), (7, vec![1, 4]), (8, vec![2])])
    );
}

#[test]
fn cycles_walks_the_cores_up_and_down_roundrobin_wraps() {
    let rxqs = [q(0); 6];
    let c = place(&THREE, &rxqs, with(RxqAssign::Cycles));
    let cores: Vec<u32> = c.core.iter().map(|c| c.unwrap()).collect();
    assert_eq!(cores, vec![3, 7, 8, 8, 7, 3]);
    let r = place(&THREE, &rxqs, with(RxqAssign::RoundRobin));
    let cores: Vec<u32> = r.core.iter().map(|c| c.unwrap()).collect();
    assert_eq!(cores, vec![3, 7, 8, 3, 7, 8]);
}

#[test]
fn group_without_measurements_counts_queues() {
    // Core 3 has a pinned (non-isolating) queue; the unmeasured queues
    // then go to the cores with fewer queues first.
    let rxqs = [pinned(3), q(0), q(0), q(0)];
    let p = place(
        &THREE,
        &rxqs,
        Settings {
            assign: RxqAssign::Group,
            isolate: false,
        },
    );
    assert_eq!(p.core, vec![Some(3), Some(7), Some(8), Some(3)]);
    assert!(p.isolated.is_empty());
}

#[test]
fn a_pinned_queue_isolates_its_core() {
    let rxqs = [pinned(7), q(0), q(0), q(0), q(0)];
    for assign in RxqAssign::ALL {
        let p = place(&THREE, &rxqs, with(*assign));
        assert_eq!(p.core[0], Some(7), "{assign}");
        assert_eq!(p.isolated, vec![7], "{assign}");
        let m = by_core(&p);
        assert_eq!(m[&7], vec![0], "{assign}: {m:?}");
        assert_eq!(m[&3].len() + m[&8].len(), 4, "{assign}: {m:?}");
    }
}

#[test]
fn isolation_off_is_honoured_only_with_group() {
    let rxqs = [pinned(3), q(0), q(0), q(0)];
    let off = |assign| Settings {
        assign,
        isolate: false,
    };
    let g = place(&THREE, &rxqs, off(RxqAssign::Group));
    assert!(g.isolated.is_empty());
    assert_eq!(by_core(&g)[&3].len(), 2, "{g:?}");
    assert!(!g.notes.contains(&Note::IsolateNeedsGroup));
    for assign in [RxqAssign::Cycles, RxqAssign::RoundRobin] {
        let p = place(&THREE, &rxqs, off(assign));
        assert_eq!(p.isolated, vec![3], "{assign}");
        assert_eq!(by_core(&p)[&3], vec![0], "{assign}");
        assert_eq!(p.notes, vec![Note::IsolateNeedsGroup], "{assign}");
    }
}

#[test]
fn pinned_to_a_core_without_a_pmd_is_placed_elsewhere() {
    let rxqs = [pinned(5), q(0)];
    let p = place(&THREE, &rxqs, with(RxqAssign::Cycles));
    assert_eq!(p.notes, vec![Note::PinnedCoreNotPmd { rxq: 0, core: 5 }]);
    assert_eq!(p.core, vec![Some(3), Some(7)]);
    // Nothing is isolated: the pin did not take.
    assert!(p.isolated.is_empty());
}

#[test]
fn queues_stay_on_their_devices_numa_node() {
    // Node 0: cores 0, 1; node 1: cores 2, 3.
    let pmds = [pmd(0, 0), pmd(1, 0), pmd(2, 1), pmd(3, 1)];
    let rxqs = [on(1), on(1), on(1), on(0), on(0)];
    for assign in RxqAssign::ALL {
        let p = place(&pmds, &rxqs, with(*assign));
        for (i, c) in p.core.iter().enumerate() {
            let want = if i < 3 { [2, 3] } else { [0, 1] };
            assert!(want.contains(&c.unwrap()), "{assign}: {p:?}");
        }
        assert!(p.notes.is_empty(), "{assign}: {p:?}");
    }
}

#[test]
fn a_node_without_pmds_crosses_to_the_others_with_a_note() {
    // The machine's PMDs are all on node 0; the NIC is on node 1.
    let pmds = [pmd(0, 0), pmd(1, 0)];
    let rxqs = [on(1), on(1), on(1)];
    let p = place(&pmds, &rxqs, with(RxqAssign::RoundRobin));
    assert_eq!(p.core, vec![Some(0), Some(1), Some(0)]);
    assert_eq!(
        p.notes,
        (0..3)
            .map(|rxq| Note::CrossNuma {
                rxq,
                numa: 1,
                on: 0
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn crossing_queues_take_the_other_nodes_in_turn() {
    // Nodes 0 and 1 have PMDs, the device is on node 2.
    let pmds = [pmd(0, 0), pmd(1, 0), pmd(4, 1), pmd(5, 1)];
    let rxqs = [on(2), on(2), on(2), on(2)];
    let p = place(&pmds, &rxqs, with(RxqAssign::RoundRobin));
    assert_eq!(p.core, vec![Some(0), Some(4), Some(1), Some(5)]);
    let nodes: Vec<u32> = p
        .notes
        .iter()
        .map(|n| match n {
            Note::CrossNuma { on, .. } => *on,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(nodes, vec![0, 1, 0, 1]);
}

#[test]
fn a_node_whose_pmds_are_all_isolated_is_crossed() {
    // Node 1's only PMD is isolated by a pin: node 1's other queue
    // goes to node 0.
    let pmds = [pmd(0, 0), pmd(2, 1)];
    let rxqs = [
        RxqLoad {
            numa: 1,
            cycles: 0,
            pinned: Some(2),
        },
        on(1),
    ];
    let p = place(&pmds, &rxqs, with(RxqAssign::Cycles));
    assert_eq!(p.core, vec![Some(2), Some(0)]);
    assert_eq!(
        p.notes,
        vec![Note::CrossNuma {
            rxq: 1,
            numa: 1,
            on: 0
        }]
    );
}

#[test]
fn without_a_non_isolated_pmd_queues_are_not_polled() {
    let pmds = [pmd(3, 0)];
    let rxqs = [pinned(3), q(0)];
    let p = place(&pmds, &rxqs, with(RxqAssign::Cycles));
    assert_eq!(p.core, vec![Some(3), None]);
    assert_eq!(p.notes, vec![Note::NotPolled { rxq: 1 }]);
    // And with no PMD at all.
    let p = place(&[], &[q(0)], Settings::default());
    assert_eq!(p.core, vec![None]);
}

#[test]
fn placement_is_deterministic_and_ignores_pmd_order() {
    let a = [pmd(8, 0), pmd(3, 0), pmd(7, 0), pmd(3, 0)];
    let rxqs = [q(5), q(5), q(9), pinned(8), q(1)];
    for assign in RxqAssign::ALL {
        let p = place(&a, &rxqs, with(*assign));
        assert_eq!(p, place(&THREE, &rxqs, with(*assign)), "{assign}");
    }
}

#[test]
fn equal_cycles_keep_the_callers_order() {
    let rxqs = [q(5), q(5), q(9)];
    let p = place(&THREE, &rxqs, with(RxqAssign::Cycles));
    // Q2 first (busiest), then Q0, Q1 in their order.
    assert_eq!(p.core, vec![Some(7), Some(8), Some(3)]);
}

#[test]
fn affinity_lists_parse_as_ovs_writes_them() {
    assert_eq!(
        parse_affinity("0:3,1:7,3:8").unwrap(),
        vec![(0, 3), (1, 7), (3, 8)]
    );
    assert_eq!(
        parse_affinity(" 0 : 3 , 1:7 ").unwrap(),
        vec![(0, 3), (1, 7)]
    );
    assert_eq!(parse_affinity("").unwrap(), vec![]);
    for (bad, why) in [
        ("0", "is not QUEUE:CORE"),
        ("0:3,", "is not QUEUE:CORE"),
        ("a:3", "queue id \"a\" is not a non-negative integer"),
        ("0:-1", "core id \"-1\" is not a non-negative integer"),
        ("0:", "core id \"\" is not"),
        ("65536:1", "queue id is above 65535"),
        ("0:4294967296", "core id is above"),
        ("0:1,0:2", "queue 0 is pinned twice"),
        ("0:1:2", "core id \"1:2\""),
    ] {
        let e = parse_affinity(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn history_remembers_the_last_six_intervals() {
    let mut h = RxqHistory::new(1000);
    assert_eq!(h.sum(), 0);
    h.sample(1100);
    h.sample(1300);
    assert_eq!(h.sum(), 300);
    for i in 1..=6u64 {
        h.sample(1300 + i * 10);
    }
    // The 100 and 200 intervals are forgotten.
    assert_eq!(h.sum(), 60);
    // A counter that wrapped still gives the cycles of the interval.
    let mut w = RxqHistory::new(u64::MAX - 4);
    w.sample(5);
    assert_eq!(w.sum(), 10);
}

#[test]
fn spellings_are_ovs_and_cycles_is_the_default() {
    assert_eq!(RxqAssign::NAMES, &["roundrobin", "cycles", "group"]);
    assert_eq!(RxqAssign::default(), RxqAssign::Cycles);
    assert!(Settings::default().isolate);
}
