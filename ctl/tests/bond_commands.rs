//! `bond/set-active-member`, `bond/enable-member`, `bond/disable-member`
//! (with the `-slave` aliases) and `bond/hash`: argument checks with OVS's
//! texts (`ofproto/bond.c`), the command table, and the answers' layout.

mod common;

use common::*;
use ctl::appctl::{bond_hash, bond_reply};
use ctl::cmd::{find_command, COMMANDS};
use ctl::db::Db;
use ctl::runtime::MemberAction;
use ctl::RuntimeCommand;
use serde_json::json;

fn setup() -> (Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br br0 -- set bridge br0 datapath_type=netdev",
        "vsctl add-bond br0 bond0 dpdk0 dpdk1 bond_mode=active-backup -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
        "vsctl add-port br0 vm1 tag=100",
    ] {
        ok(&mut db, &env, line);
    }
    (db, env)
}

fn one(db: &Db, env: &FakeEnv, line: &str) -> RuntimeCommand {
    let out = run(db, env, line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
    assert!(out.new_db.is_none(), "{line} changed the database");
    assert_eq!(out.runtime.len(), 1);
    out.runtime[0].clone()
}

fn member(action: MemberAction, m: &str) -> RuntimeCommand {
    RuntimeCommand::BondMember {
        bond: "bond0".into(),
        member: m.into(),
        action,
    }
}

#[test]
fn member_commands_and_their_old_names_parse_to_one_command() {
    let (db, env) = setup();
    for (names, action) in [
        (
            ["bond/set-active-member", "bond/set-active-slave"],
            MemberAction::SetActive,
        ),
        (
            ["bond/enable-member", "bond/enable-slave"],
            MemberAction::Enable,
        ),
        (
            ["bond/disable-member", "bond/disable-slave"],
            MemberAction::Disable,
        ),
    ] {
        for name in names {
            assert_eq!(
                one(&db, &env, &format!("vsctl {name} bond0 dpdk1")),
                member(action, "dpdk1"),
                "{name}"
            );
        }
        // The alias is the same table entry, not a copy.
        assert!(std::ptr::eq(
            find_command(names[0]).unwrap(),
            find_command(names[1]).unwrap()
        ));
    }
    // Aliases are not listed as commands of their own.
    assert!(!COMMANDS.iter().any(|c| c.name.ends_with("-slave")));
}

#[test]
fn member_commands_refuse_with_ovs_texts() {
    let (db, env) = setup();
    for (line, reason) in [
        ("vsctl bond/enable-member nobond dpdk0", "no such bond"),
        ("vsctl bond/enable-member vm1 dpdk0", "no such bond"),
        ("vsctl bond/disable-member bond0 vm1", "no such member"),
        ("vsctl bond/set-active-slave bond0 dpdk9", "no such member"),
    ] {
        assert_eq!(err(&db, &env, line), reason, "{line}");
    }
    // OVS registers them with exactly two arguments (an alias is named as
    // typed, as OVS does).
    assert!(err(&db, &env, "vsctl bond/set-active-member bond0")
        .starts_with("'bond/set-active-member' command requires at least 2 arguments"));
    assert!(err(&db, &env, "vsctl bond/enable-slave bond0 dpdk0 dpdk1")
        .starts_with("'bond/enable-slave' command takes at most 2 arguments"));
}

#[test]
fn bond_hash_parses_mac_vlan_and_basis_as_ovs() {
    let (db, env) = setup();
    let h = |mac: &str, vlan, basis| RuntimeCommand::BondHash {
        mac: mac.parse().unwrap(),
        vlan,
        basis,
    };
    assert_eq!(
        one(&db, &env, "vsctl bond/hash 52:54:00:00:00:01"),
        h("52:54:00:00:00:01", 0, 0)
    );
    assert_eq!(
        one(&db, &env, "vsctl bond/hash 52:54:00:00:00:01 300 7"),
        h("52:54:00:00:00:01", 300, 7)
    );
    // OVS checks VLAN, then basis, then MAC (tests/unixctl-py.at).
    for (line, reason) in [
        ("vsctl bond/hash mac", "invalid mac"),
        ("vsctl bond/hash mac vlan", "invalid vlan"),
        ("vsctl bond/hash mac vlan basis", "invalid vlan"),
        ("vsctl bond/hash mac 1 basis", "invalid basis"),
        ("vsctl bond/hash 52:54:00:00:00:01 4096", "invalid vlan"),
        (
            "vsctl bond/hash 52:54:00:00:00:01 1 4294967296",
            "invalid basis",
        ),
    ] {
        assert_eq!(err(&db, &env, line), reason, "{line}");
    }
    assert!(err(&db, &env, "vsctl bond/hash")
        .starts_with("'bond/hash' command requires at least 1 arguments"));
    assert!(err(&db, &env, "vsctl bond/hash mac vlan basis extra")
        .starts_with("'bond/hash' command takes at most 3 arguments"));
}

#[test]
fn answers_are_ovs_words_on_a_line() {
    for w in ["done", "no change", "enabled", "disabled"] {
        let out = bond_reply(w);
        assert_eq!(out.text, format!("{w}\n"));
        assert_eq!(out.json, Some(json!({ "result": w })));
    }
}

#[test]
fn bond_hash_answers_the_balance_slb_bucket() {
    let mac = "52:54:00:00:00:01".parse().unwrap();
    let want = datapath::hash::bucket(datapath::hash::slb(mac, 300, 7));
    let out = bond_hash(mac, 300, 7);
    assert_eq!(out.text, format!("{want}\n"));
    assert_eq!(out.json, Some(json!({ "hash": want })));
    // VLAN and basis count.
    let buckets: std::collections::BTreeSet<String> = (0..32u32)
        .map(|b| bond_hash(mac, 300, b).text)
        .chain((1..32u16).map(|v| bond_hash(mac, v, 7).text))
        .collect();
    assert!(buckets.len() > 10, "{buckets:?}");
}
