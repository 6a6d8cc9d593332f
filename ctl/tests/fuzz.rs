//! Random command lines never panic the executor, and whatever it accepts
//! is a valid database that survives a save/load round trip. Random bytes
//! never panic the request and value parsers.

mod common;

use common::*;
use ctl::db::Db;
use ctl::env::NoRuntime;
use ctl::value::{parse_datum, AtomType, ColType};
use proptest::prelude::*;

const VOCAB: &[&str] = &[
    "--",
    "--may-exist",
    "--if-exists",
    "--format=json",
    "--bare",
    "--oneline",
    "--columns=name,tag",
    "--with-iface",
    "--fake-iface",
    "-t",
    "5",
    "add-br",
    "del-br",
    "add-port",
    "del-port",
    "add-bond",
    "add-bond-iface",
    "del-bond-iface",
    "set",
    "get",
    "add",
    "remove",
    "clear",
    "list",
    "find",
    "show",
    "list-br",
    "list-ports",
    "br-to-vlan",
    "port-to-br",
    "bond/show",
    "fdb/add",
    "fdb/show",
    "br0",
    "br1",
    "v10",
    "bond0",
    "p1",
    "p2",
    "e1",
    "e2",
    "dpdk0",
    "Port",
    "Interface",
    "Bridge",
    "Open_vSwitch",
    ".",
    "10",
    "0",
    "4095",
    "tag=10",
    "tag=0",
    "trunks=1-3",
    "trunks=5-2",
    "vlan_mode=access",
    "vlan_mode=native-untagged",
    "lacp=active",
    "bond_mode=balance-slb",
    "type=dpdk",
    "type=internal",
    "type=dpdkvhostuserclient",
    "options:dpdk-devargs=0000:08:00.0",
    "options:dpdk-devargs=0000:02:00.0",
    "options:vhost-server-path=/run/v1",
    "options:vhost-server-path=/tmp",
    "other_config:lacp-time=fast",
    "other_config:bond-miimon-interval=0",
    "external_ids:a=b",
    "tag",
    "trunks",
    "other_config",
    "name",
    "fake_bridge=true",
    "mac=52:54:00:00:00:01",
    "admin_state=down",
    "52:54:00:00:00:01",
    "{}",
    "[]",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(VOCAB).prop_map(str::to_string),
        1 => "\\PC{0,12}",
        1 => "[a-z:=,\\[\\]{}\"\\\\-]{0,10}",
    ]
}

fn base() -> Db {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(&mut db, &env, "vsctl add-br br0 -- add-bond br0 bond0 e1 e2 -- add-port br0 p1 tag=10 -- add-br v10 br0 10");
    db
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn executor_never_panics_and_accepts_only_valid_databases(
        lines in proptest::collection::vec(proptest::collection::vec(token(), 0..8), 1..4)
    ) {
        let env = FakeEnv::new();
        let mut db = base();
        for argv in lines {
            if let Ok(out) = ctl::execute(&db, &argv, &env, &NoRuntime) {
                if let Some(new) = out.new_db {
                    ctl::validate::validate(None, &new, &env)
                        .map_err(|e| TestCaseError::fail(format!("{argv:?} produced an invalid database: {e}")))?;
                    let text = serde_json::to_string(&new).unwrap();
                    let back: Db = serde_json::from_str(&text).unwrap();
                    prop_assert_eq!(&back, &new);
                    db = new;
                }
            }
        }
    }

    #[test]
    fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = ctl::proto::Request::parse(&bytes);
    }

    #[test]
    fn value_parser_never_panics(s in "\\PC{0,40}") {
        for ty in [
            ColType::STRING_MAP,
            ColType::set(AtomType::Integer { min: 0, max: 4095 }),
            ColType::optional(AtomType::STRING),
            ColType::scalar(AtomType::Boolean),
            ColType::set(AtomType::Uuid),
        ] {
            if let Ok(d) = parse_datum(&s, &ty) {
                // What parses prints back to something that parses the same.
                let again = parse_datum(&d.to_text(&ty), &ty);
                prop_assert_eq!(again.as_ref(), Ok(&d), "{:?} -> {:?}", s, d.to_text(&ty));
            }
        }
    }
}
