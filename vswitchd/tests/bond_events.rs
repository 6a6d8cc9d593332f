//! Issue 16: `bond/events` and `lacp/events` show what the switch saw.
//!
//! Two rvswitch instances A and B with a 2-member LACP bond each over two
//! veth pairs (`common::lacp::BondedPair`: active, fast, balance-tcp),
//! negotiated. Member b0 of B is taken down (`admin_state=down`): B sends
//! one last LACPDU out of sync on it, so A's LACP stops a0 at once.
//! Asserted, in text and `--format=json`:
//! - B `bond/events`: b0 enabled -> disabled, cause admin;
//! - B `lacp/events`: b0 to disabled, cause link down;
//! - A `lacp/events`: a0 to disabled, cause partner out of sync, with
//!   the partner's system (B's), key and state (not synchronized);
//! - A `bond/events`: a0 enabled -> disabled, cause lacp; A `bond/show`
//!   counts one LACP failure for a0 and none for a1;
//! - every event has a wall-clock time within the test's run.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::lacp::*;
use common::*;
use serde_json::Value;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `vsctl --format=json ARGS` parsed.
fn json(sw: &Switch, args: &[&str]) -> Value {
    let mut v = vec!["--format=json"];
    v.extend_from_slice(args);
    let out = sw.vsctl_ok(&v);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// The events of bond0 in a `bond/events` or `lacp/events` JSON answer
/// that concern `member` and end disabled.
fn disabled_events(v: &Value, member: &str) -> Vec<Value> {
    v["bonds"][0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["member"] == member)
        .filter(|e| e["to"] == "disabled" || e["to"]["enabled"] == false)
        .cloned()
        .collect()
}

/// The one line of `text` that has all of `parts`.
fn line_with(text: &str, parts: &[&str]) -> Option<String> {
    text.lines()
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .map(str::to_string)
}

#[test]
fn member_taken_down_is_listed_with_its_cause() {
    let _g = serial();
    let started = unix_ms();
    let BondedPair {
        mut a,
        mut b,
        links: _links,
    } = BondedPair::negotiated("evt");
    let sys_b = b.lacp_show("bond0").sys_id;
    assert!(!sys_b.is_empty());

    b.vsctl_ok(&["set", "interface", "b0", "admin_state=down"]);
    wait_rvswitch_lacp(&mut a, "bond0", &["a1"], &["a0"], 30);
    wait_rvswitch_lacp(&mut b, "bond0", &["b1"], &["b0"], 30);
    let done = unix_ms();

    // B: the bond disabled b0 for its admin state, LACP saw the link go.
    let t = b.vsctl_ok(&["bond/events", "bond0"]);
    assert!(t.starts_with("---- bond0 ("), "{t}");
    assert!(
        line_with(&t, &["member b0: enabled -> disabled (admin state)"]).is_some(),
        "B bond/events:\n{t}"
    );
    let v = json(&b, &["bond/events", "bond0"]);
    let ev = disabled_events(&v, "b0");
    assert_eq!(ev.len(), 1, "B bond/events json: {v:#}");
    assert_eq!(ev[0]["kind"], "member");
    assert_eq!(ev[0]["from"], "enabled");
    assert_eq!(ev[0]["cause"], "admin");
    let t = b.vsctl_ok(&["lacp/events", "bond0"]);
    assert!(
        line_with(
            &t,
            &["member b0: current/distributing/enabled -> ", "(link down)"]
        )
        .is_some(),
        "B lacp/events:\n{t}"
    );
    let v = json(&b, &["lacp/events", "bond0"]);
    let ev = disabled_events(&v, "b0");
    assert_eq!(ev.last().unwrap()["cause"], "link_down", "{v:#}");

    // A: LACP stopped a0 because its partner said it was out of sync.
    let t = a.vsctl_ok(&["lacp/events", "bond0"]);
    let line = line_with(
        &t,
        &[
            "member a0: current/distributing/enabled -> ",
            "(partner out of sync)",
        ],
    )
    .unwrap_or_else(|| panic!("A lacp/events:\n{t}"));
    assert!(line.contains(&format!("partner {sys_b} key ")), "{line}");
    let v = json(&a, &["lacp/events", "bond0"]);
    let ev = disabled_events(&v, "a0");
    // (Negotiation itself may have recorded one while waiting for the
    // partner's sync: the one that disabled a0 is the one from enabled.)
    let e = ev
        .iter()
        .find(|e| e["cause"] == "partner_out_of_sync" && e["from"]["enabled"] == true)
        .unwrap_or_else(|| panic!("A lacp/events json: {v:#}"));
    assert_eq!(e["from"]["mux_state"], "distributing");
    assert_eq!(e["to"]["enabled"], false);
    assert_eq!(e["partner"]["sys_id"], sys_b.as_str());
    assert!(e["partner"]["key"].as_u64().unwrap() > 0);
    let state = e["partner"]["state"].as_array().unwrap();
    assert!(!state.contains(&Value::from("synchronized")), "{e}");
    assert!(state.contains(&Value::from("activity")), "{e}");
    let wall = e["wall_ms"].as_u64().unwrap();
    assert!(
        (started..=done).contains(&wall),
        "wall time {wall} not within {started}..={done}"
    );
    assert!(e["wall_time"].as_str().unwrap().ends_with('Z'));
    assert!(e["monotonic_ms"].as_u64().unwrap() > 0);

    // A's bond followed LACP, and counts it.
    let t = a.vsctl_ok(&["bond/events", "bond0"]);
    assert!(
        line_with(&t, &["member a0: enabled -> disabled (lacp)"]).is_some(),
        "A bond/events:\n{t}"
    );
    let v = json(&a, &["bond/events", "bond0"]);
    let ev = disabled_events(&v, "a0");
    assert_eq!(ev.len(), 1, "{v:#}");
    assert_eq!(ev[0]["cause"], "lacp");
    let show = json(&a, &["bond/show", "bond0"]);
    let failures: Vec<(String, u64)> = show["bonds"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["lacp_failures"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(failures, [("a0".to_string(), 1), ("a1".to_string(), 0)]);
    assert!(a
        .vsctl_ok(&["bond/show", "bond0"])
        .contains("  lacp failure count: 1\n"));
}
