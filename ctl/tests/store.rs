//! Persistence: round trip, atomic replacement, and refusal to touch a
//! file it cannot read.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::*;
use ctl::store::{self, StoreError};

fn sample_db() -> ctl::db::Db {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
        "vsctl add-bond ovsbr0 bond0 dpdk0 dpdk1 vlan_mode=trunk trunks=11,300-304 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
        "vsctl add-port ovsbr0 vhuc0 vlan_mode=access tag=300 -- set Interface vhuc0 type=dpdkvhostuserclient options:vhost-server-path=/usr/local/openvswitch/vhuc0 admin_state=down mtu_request=9000 mac=52:54:00:00:00:01 external_ids:vm=guest3",
        "vsctl add-br vlan302 ovsbr0 302",
        "vsctl set Open_vSwitch . other_config:pmd-cpu-mask=0x33 external_ids:system-id=host1",
    ] {
        ok(&mut db, &env, line);
    }
    db
}

#[test]
fn round_trip() {
    let dir = TempDir::new("roundtrip");
    let path = store::config_path(&dir.0);
    assert!(
        store::load(&path).unwrap().is_none(),
        "no file: no database"
    );
    let db = sample_db();
    store::save(&path, &db).unwrap();
    let back = store::load(&path).unwrap().unwrap();
    assert_eq!(back, db);
    let text = fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "rvswitch-config");
    assert_eq!(v["version"], 1);
    assert_eq!(v["db"]["bridges"][0]["name"], "ovsbr0");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !store::temp_path(&path).exists(),
        "no temp file left behind"
    );
    // Saving again replaces the content.
    let mut db2 = db.clone();
    db2.other_config.insert("dpdk-init".into(), "true".into());
    store::save(&path, &db2).unwrap();
    assert_eq!(store::load(&path).unwrap().unwrap(), db2);
}

#[test]
fn a_crash_before_the_rename_leaves_the_old_file_in_force() {
    let dir = TempDir::new("crash");
    let path = store::config_path(&dir.0);
    let db = sample_db();
    store::save(&path, &db).unwrap();
    // A crash while writing the next version left a half-written temp file.
    let tmp = store::temp_path(&path);
    fs::write(
        &tmp,
        b"{\"format\": \"rvswitch-config\", \"version\": 1, \"db\": {\"_uu",
    )
    .unwrap();
    assert_eq!(store::load(&path).unwrap().unwrap(), db);
    // The next save simply replaces it.
    let mut db2 = db.clone();
    db2.bridges.pop();
    store::save(&path, &db2).unwrap();
    assert_eq!(store::load(&path).unwrap().unwrap(), db2);
    assert!(!tmp.exists());
}

#[test]
fn a_truncated_or_corrupt_file_is_reported_and_left_alone() {
    let dir = TempDir::new("corrupt");
    let path = store::config_path(&dir.0);
    store::save(&path, &sample_db()).unwrap();
    let full = fs::read(&path).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (full[..full.len() / 2].to_vec(), "not valid JSON"),
        (Vec::new(), "empty"),
        (b"\x00\x01garbage".to_vec(), "not valid JSON"),
        (b"[1,2,3]".to_vec(), "not a JSON object"),
        (br#"{"format":"rvswitch-config","version":1}"#.to_vec(), "no \"db\""),
        (br#"{"format":"rvswitch-config","version":1,"db":{"bridges":7}}"#.to_vec(), "bad database"),
        (
            br#"{"format":"rvswitch-config","version":1,"db":{"_uuid":"8daaa733-f6ef-4b67-a1a9-581875f33420","bridges":[
                {"_uuid":"8daaa733-f6ef-4b67-a1a9-581875f33421","name":"br0"},
                {"_uuid":"8daaa733-f6ef-4b67-a1a9-581875f33422","name":"br0"}]}}"#
                .to_vec(),
            "duplicate bridge name br0",
        ),
        (
            br#"{"format":"rvswitch-config","version":1,"db":{"_uuid":"8daaa733-f6ef-4b67-a1a9-581875f33420","bridges":[
                {"_uuid":"8daaa733-f6ef-4b67-a1a9-581875f33420","name":"br0"}]}}"#
                .to_vec(),
            "duplicate record id",
        ),
    ];
    for (content, want) in cases {
        fs::write(&path, &content).unwrap();
        match store::load(&path) {
            Err(e @ StoreError::Corrupt { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(want), "{msg}");
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains("left untouched"), "{msg}");
            }
            other => panic!("{want}: {other:?}"),
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            content,
            "load must not rewrite the file"
        );
    }
}

#[test]
fn an_unknown_version_is_reported_and_left_alone() {
    let dir = TempDir::new("version");
    let path = store::config_path(&dir.0);
    for content in [
        br#"{"format":"rvswitch-config","version":2,"db":{}}"#.to_vec(),
        br#"{"format":"ovsdb","version":1,"db":{}}"#.to_vec(),
        br#"{"db":{}}"#.to_vec(),
    ] {
        fs::write(&path, &content).unwrap();
        let e = store::load(&path).unwrap_err();
        assert!(matches!(e, StoreError::UnknownVersion { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("this rvswitch reads \"rvswitch-config\" version 1"),
            "{e}"
        );
        assert_eq!(fs::read(&path).unwrap(), content);
    }
}

#[test]
fn save_fails_cleanly_without_a_directory() {
    let dir = TempDir::new("nodir");
    let path = dir.0.join("missing").join("conf.json");
    assert!(store::save(&path, &sample_db()).is_err());
    assert!(!path.exists());
}
