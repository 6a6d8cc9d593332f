use std::io::Write;
use std::process::{Command, Stdio};

use datapath::bond::{Bond, BondConfig};
use datapath::counters::PmdCounts;
use datapath::time::Millis;
use datapath::wire::MacAddr;

use super::*;
use crate::appctl::BondMemberInfo;

fn map(kv: &[(&str, &str)]) -> StrMap {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn listen_addr_is_off_by_default_and_loopback_only() {
    assert_eq!(listen_addr(&map(&[])), Ok(None));
    assert_eq!(
        listen_addr(&map(&[(LISTEN_KEY, "127.0.0.1:9475")])),
        Ok(Some("127.0.0.1:9475".parse().unwrap()))
    );
    assert_eq!(
        listen_addr(&map(&[(LISTEN_KEY, "[::1]:9475")])),
        Ok(Some("[::1]:9475".parse().unwrap()))
    );
    let e = listen_addr(&map(&[(LISTEN_KEY, "0.0.0.0:9475")])).unwrap_err();
    assert!(e.contains("not a loopback address"), "{e}");
    assert!(e.contains("metrics-listen-any=true"), "{e}");
    let e = listen_addr(&map(&[(LISTEN_KEY, "[::]:9475")])).unwrap_err();
    assert!(e.contains("not a loopback address"), "{e}");
    // Explicitly allowed.
    assert_eq!(
        listen_addr(&map(&[
            (LISTEN_KEY, "0.0.0.0:9475"),
            (LISTEN_ANY_KEY, "true")
        ])),
        Ok(Some("0.0.0.0:9475".parse().unwrap()))
    );
    let e = listen_addr(&map(&[
        (LISTEN_KEY, "0.0.0.0:9475"),
        (LISTEN_ANY_KEY, "false"),
    ]))
    .unwrap_err();
    assert!(e.contains("not a loopback address"), "{e}");
}

#[test]
fn listen_addr_refuses_malformed_values() {
    for bad in [
        "",
        "127.0.0.1",
        "localhost:9475",
        "127.0.0.1:99999",
        "127.0.0.1:-1",
        "::1:9475",
        "127.0.0.1:9475 ",
    ] {
        let e = listen_addr(&map(&[(LISTEN_KEY, bad)])).unwrap_err();
        assert!(e.contains("is not an IP address and port"), "{bad:?}: {e}");
    }
    let e = listen_addr(&map(&[(LISTEN_KEY, "127.0.0.1:0")])).unwrap_err();
    assert!(e.contains("port 0"), "{e}");
    let e = listen_addr(&map(&[(LISTEN_ANY_KEY, "yes")])).unwrap_err();
    assert!(e.contains("expected true or false"), "{e}");
}

#[test]
fn accept_header_chooses_the_format() {
    assert_eq!(Exposition::negotiate(None), Exposition::Prometheus);
    assert_eq!(
        Exposition::negotiate(Some("text/plain;version=0.0.4")),
        Exposition::Prometheus
    );
    assert_eq!(
        Exposition::negotiate(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )),
        Exposition::OpenMetrics
    );
}

/// One interface whose counter `c` holds `c as u64 + 100`, one bridge, one
/// PMD, one active-backup bond of two members.
fn input() -> MetricsInput {
    let mut counters = [0; N_COUNTERS];
    for c in Counter::ALL {
        counters[*c as usize] = *c as u64 + 100;
    }
    let mut counts = PmdCounts::default();
    counts[PmdCounter::BusyCycles] = 7_000;
    counts[PmdCounter::IdleCycles] = 3_000;
    let mut bond = Bond::new(BondConfig::default(), &[1, 2], Millis(0));
    bond.set_carrier(1, true, Millis(0));
    bond.set_carrier(2, false, Millis(0));
    bond.tick(Millis(1));
    MetricsInput {
        interfaces: vec![InterfaceMetrics {
            name: "p0".into(),
            bridge: "br0".into(),
            counters,
        }],
        bridges: vec![BridgeMetrics {
            name: "br0".into(),
            mac_entries: 42,
        }],
        bonds: vec![BondShowInput {
            name: "bond0".into(),
            members: [(1, "m1"), (2, "m2")]
                .into_iter()
                .map(|(id, n)| BondMemberInfo {
                    id,
                    name: n.into(),
                    mac: MacAddr::ZERO,
                })
                .collect(),
            status: bond.status(),
        }],
        lacp: Vec::new(),
        pmds: vec![PmdStatsInput {
            numa_id: 0,
            core_id: 1,
            counts,
        }],
    }
}

/// The value of the sample line that starts with `series ` in `text`.
fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

#[test]
fn every_counter_becomes_a_sample() {
    let text = render(&input(), Exposition::Prometheus);
    let ifl = r#"bridge="br0",interface="p0""#;
    for &c in Counter::ALL {
        let series = match drop_reason(c) {
            Some((dir, reason)) => format!(
                r#"rvswitch_interface_dropped_total{{{ifl},direction="{dir}",reason="{reason}"}}"#
            ),
            None => format!("rvswitch_interface_{}_total{{{ifl}}}", c.name()),
        };
        assert_eq!(sample(&text, &series), c as u64 + 100, "{series}");
    }
    assert_eq!(
        sample(
            &text,
            r#"rvswitch_interface_dropped_total{bridge="br0",interface="p0",direction="rx",reason="malformed"}"#
        ),
        Counter::RxMalformed as u64 + 100
    );
    assert!(
        text.contains(
            "# HELP rvswitch_interface_rx_packets_total Packets received (statistics:rx_packets).\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("# HELP rvswitch_pmd_idle_cycles_total TSC cycles of polling iterations that received nothing.\n"),
        "{text}"
    );
    let pmd = r#"{core="1",numa="0"}"#;
    assert_eq!(
        sample(&text, &format!("rvswitch_pmd_processing_cycles_total{pmd}")),
        7_000
    );
    assert_eq!(
        sample(&text, &format!("rvswitch_pmd_idle_cycles_total{pmd}")),
        3_000
    );
    assert_eq!(
        sample(&text, r#"rvswitch_bridge_mac_entries{bridge="br0"}"#),
        42
    );
    assert_eq!(
        sample(
            &text,
            r#"rvswitch_bond_member_enabled{bond="bond0",member="m1"}"#
        ),
        1
    );
    assert_eq!(
        sample(
            &text,
            r#"rvswitch_bond_member_enabled{bond="bond0",member="m2"}"#
        ),
        0
    );
    assert_eq!(
        sample(
            &text,
            r#"rvswitch_bond_member_active{bond="bond0",member="m1"}"#
        ),
        1
    );
}

#[test]
fn openmetrics_ends_with_eof() {
    let text = render(&input(), Exposition::OpenMetrics);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE rvswitch_interface_rx_packets counter\n"),
        "{text}"
    );
    assert!(!render(&input(), Exposition::Prometheus).contains("# EOF"));
    // Nothing configured: still a valid, empty exposition.
    assert_eq!(
        render(&MetricsInput::default(), Exposition::OpenMetrics)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        0
    );
}

/// `promtool check metrics` (Debian package `prometheus`) accepts the
/// Prometheus text; the test fails when promtool is missing.
#[test]
fn promtool_accepts_the_exposition() {
    let text = render(&input(), Exposition::Prometheus);
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus, scripts/install-deps.sh) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}):\n{}{}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
