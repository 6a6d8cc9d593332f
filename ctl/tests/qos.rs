//! QoS and Queue: the command lines libvirt, CloudStack and the OVS-DPDK
//! documentation run, `create`/`destroy` with `@name` row ids, the
//! refusals (each changes nothing), and the rates the daemon gets.

mod common;

use common::*;
use ctl::db::Db;
use datapath::qos::{EgressQos, Rate};

const VM: &str = "0e4a5c2b-1b1e-4c1e-9d7f-2b2f8c1f2a11";

fn setup() -> (Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(
        &mut db,
        &env,
        "ovs-vsctl -t 10 -- --may-exist add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
    );
    // libvirt attaching vnet0.
    ok(
        &mut db,
        &env,
        &format!(
            "ovs-vsctl --timeout=5 -- --if-exists del-port vnet0 -- add-port ovsbr0 vnet0 \
             -- set Interface vnet0 'external-ids:attached-mac=\"52:54:00:d4:25:2e\"' \
             -- set Interface vnet0 'external-ids:vm-id=\"{VM}\"' \
             -- set Interface vnet0 external-ids:iface-status=active"
        ),
    );
    ok(&mut db, &env, "ovs-vsctl add-port ovsbr0 a1");
    ok(&mut db, &env, "ovs-vsctl add-port ovsbr0 a2");
    (db, env)
}

fn rate(bytes_per_s: u64, burst_bytes: u64) -> Rate {
    Rate {
        bytes_per_s,
        burst_bytes,
    }
}

fn egress(db: &Db, port: &str) -> Option<EgressQos> {
    let (_, p) = db.port(port).unwrap();
    db.port_egress_qos(p)
}

/// libvirt's `virNetDevOpenvswitchFindUUID`.
fn libvirt_find(db: &mut Db, env: &FakeEnv, table: &str) -> String {
    ok(
        db,
        env,
        &format!(
            "ovs-vsctl --timeout=5 --no-heading --columns=_uuid find {table} \
             'external-ids:vm-id=\"{VM}\"' 'external-ids:ifname=\"vnet0\"'"
        ),
    )
}

/// A command line that must fail with exactly `message` and change nothing.
fn refused(db: &Db, env: &FakeEnv, line: &str, message: &str) {
    let before = db.clone();
    assert_eq!(err(db, env, line), message, "{line}");
    assert_eq!(*db, before);
}

#[test]
fn libvirt_bandwidth_set_update_and_clear() {
    let (mut db, env) = setup();
    // <bandwidth><inbound average='1000' burst='256'/><outbound
    // average='1000' burst='256'/></bandwidth>: nothing to find yet.
    assert_eq!(libvirt_find(&mut db, &env, "queue"), "");
    assert_eq!(libvirt_find(&mut db, &env, "qos"), "");
    let ext = format!("'external-ids:vm-id=\"{VM}\"' 'external-ids:ifname=\"vnet0\"'");
    let out = ok(
        &mut db,
        &env,
        &format!(
            "ovs-vsctl --timeout=5 set port vnet0 qos=@qos1 {ext} \
             -- --id=@qos1 create qos type=linux-htb other_config:min-rate=8000000 other_config:burst=2097152 queues:0=@queue0 {ext} \
             -- --id=@queue0 create queue other_config:min-rate=8000000 other_config:burst=2097152 {ext}"
        ),
    );
    let qos = &db.qos[0];
    let queue = &db.queues[0];
    assert_eq!(out, format!("{}\n{}\n", qos.uuid, queue.uuid));
    let (_, port) = db.port("vnet0").unwrap();
    assert_eq!(port.qos, Some(qos.uuid));
    assert_eq!(qos.qos_type, "linux-htb");
    assert_eq!(qos.queues.get(&0), Some(&queue.uuid));
    // The quotes are OVS value syntax: the stored values are bare.
    for m in [&port.external_ids, &qos.external_ids, &queue.external_ids] {
        assert_eq!(m.get("vm-id").map(String::as_str), Some(VM));
        assert_eq!(m.get("ifname").map(String::as_str), Some("vnet0"));
    }
    assert_eq!(
        queue.other_config.get("min-rate").map(String::as_str),
        Some("8000000")
    );
    // 1000 kB/s with a 256 KiB burst, in bytes.
    assert_eq!(
        egress(&db, "vnet0"),
        Some(EgressQos::RateLimit {
            limit: rate(1_000_000, 262_144)
        })
    );
    // rx: outbound average*8 kbit/s, burst*8 kbit.
    ok(
        &mut db,
        &env,
        "ovs-vsctl --timeout=5 set Interface vnet0 ingress_policing_rate=8000 ingress_policing_burst=2048",
    );
    let (_, _, iface) = db.interface("vnet0").unwrap();
    assert_eq!(iface.ingress_policing(), Some(rate(1_000_000, 256_000)));

    // Both rows are found again by their external ids.
    let (qos_id, queue_id) = (db.qos[0].uuid.to_string(), db.queues[0].uuid.to_string());
    assert_eq!(
        libvirt_find(&mut db, &env, "queue"),
        format!("{queue_id}\n")
    );
    assert_eq!(libvirt_find(&mut db, &env, "qos"), format!("{qos_id}\n"));

    // A live update (average='2000' peak='3000'): libvirt sets the rows it found.
    ok(
        &mut db,
        &env,
        &format!(
            "ovs-vsctl --timeout=5 set queue {queue_id} other_config:min-rate=16000000 other_config:max-rate=24000000 {ext}"
        ),
    );
    ok(
        &mut db,
        &env,
        &format!(
            "ovs-vsctl --timeout=5 set qos {qos_id} other_config:min-rate=16000000 other_config:max-rate=24000000 {ext}"
        ),
    );
    assert_eq!(
        egress(&db, "vnet0"),
        Some(EgressQos::RateLimit {
            limit: rate(3_000_000, 262_144)
        })
    );

    // Clearing, as virNetDevOpenvswitchInterfaceClearQos does it.
    let port_uuid = db.port("vnet0").unwrap().1.uuid;
    assert_eq!(
        ok(
            &mut db,
            &env,
            "ovs-vsctl --timeout=5 --no-heading --columns=_uuid --if-exists list port vnet0 qos"
        ),
        format!("{port_uuid}\n")
    );
    ok(
        &mut db,
        &env,
        &format!("ovs-vsctl --timeout=5 remove port vnet0 qos {qos_id}"),
    );
    ok(
        &mut db,
        &env,
        &format!("ovs-vsctl --timeout=5 destroy qos {qos_id}"),
    );
    ok(
        &mut db,
        &env,
        &format!("ovs-vsctl --timeout=5 destroy queue {queue_id}"),
    );
    ok(
        &mut db,
        &env,
        "ovs-vsctl --timeout=5 set Interface vnet0 ingress_policing_rate=0 ingress_policing_burst=0",
    );
    assert!(db.qos.is_empty() && db.queues.is_empty());
    assert_eq!(db.port("vnet0").unwrap().1.qos, None);
    assert_eq!(egress(&db, "vnet0"), None);
    assert_eq!(db.interface("vnet0").unwrap().2.ingress_policing(), None);
    // The list libvirt runs on a port that is gone prints nothing.
    ok(&mut db, &env, "ovs-vsctl --if-exists del-port vnet0");
    assert_eq!(
        ok(
            &mut db,
            &env,
            "ovs-vsctl --timeout=5 --no-heading --columns=_uuid --if-exists list port vnet0 qos"
        ),
        ""
    );
}

#[test]
fn a_referenced_qos_is_not_destroyed() {
    let (mut db, env) = setup();
    ok(
        &mut db,
        &env,
        "ovs-vsctl set port vnet0 qos=@q -- --id=@q create qos type=egress-policer other-config:cir=46000000 other-config:cbs=2048",
    );
    let qos = db.qos[0].uuid;
    let msg = format!(
        "transaction error: {{\"details\":\"cannot delete QoS row {qos} because of 1 remaining reference(s)\",\"error\":\"referential integrity violation\"}}"
    );
    refused(&db, &env, &format!("ovs-vsctl destroy qos {qos}"), &msg);
    refused(&db, &env, "ovs-vsctl --all destroy qos", &msg);
    // A QoS row is also named by the port that uses it; destroying it
    // and clearing the reference in one transaction is fine (the OVS-DPDK
    // documentation's order).
    ok(
        &mut db,
        &env,
        "ovs-vsctl destroy QoS vnet0 -- clear Port vnet0 qos",
    );
    assert!(db.qos.is_empty());
    // A queue referenced by a QoS row likewise.
    ok(
        &mut db,
        &env,
        "ovs-vsctl --id=@q0 create queue other-config:max-rate=1000000 -- create qos type=linux-htb queues=0=@q0",
    );
    let queue = db.queues[0].uuid;
    refused(
        &db,
        &env,
        &format!("ovs-vsctl destroy queue {queue}"),
        &format!(
            "transaction error: {{\"details\":\"cannot delete Queue row {queue} because of 1 remaining reference(s)\",\"error\":\"referential integrity violation\"}}"
        ),
    );
    // A reference to a row that never existed.
    let port = db.port("a1").unwrap().1.uuid;
    refused(
        &db,
        &env,
        "ovs-vsctl set port a1 qos=11111111-2222-4333-8444-555555555555",
        &format!(
            "transaction error: {{\"details\":\"Table Port column qos row {port} references nonexistent row 11111111-2222-4333-8444-555555555555 in table QoS.\",\"error\":\"referential integrity violation\"}}"
        ),
    );
}

#[test]
fn cloudstack_and_ovs_dpdk_command_lines() {
    let (mut db, env) = setup();
    // CloudStack: a QoS row first, then the port takes it.
    let out = ok(
        &mut db,
        &env,
        "ovs-vsctl create qos type=linux-htb other-config:max-rate=100000000",
    );
    let id = out.trim().to_string();
    assert_eq!(id, db.qos[0].uuid.to_string());
    ok(&mut db, &env, &format!("ovs-vsctl set port a1 qos={id}"));
    assert_eq!(
        egress(&db, "a1"),
        Some(EgressQos::RateLimit {
            limit: rate(12_500_000, 125_000)
        })
    );
    // OVS-DPDK egress policer.
    ok(
        &mut db,
        &env,
        "ovs-vsctl set port a2 qos=@newqos -- --id=@newqos create qos type=egress-policer other-config:cir=46000000 other-config:cbs=2048",
    );
    assert_eq!(
        egress(&db, "a2"),
        Some(EgressQos::Policer {
            committed: rate(46_000_000, 2048)
        })
    );
    // OVS-DPDK trTCM, from its QoS documentation.
    ok(
        &mut db,
        &env,
        "ovs-vsctl --timeout=5 set port vnet0 qos=@myqos -- \
         --id=@myqos create qos type=trtcm-policer \
         other-config:cir=50000 other-config:cbs=2048 \
         other-config:eir=50000 other-config:ebs=2048 \
         queues:10=@dpdk1Q10 queues:20=@dpdk1Q20 -- \
         --id=@dpdk1Q10 create queue \
         other-config:cir=100000 other-config:cbs=2048 \
         other-config:eir=0 other-config:ebs=0 -- \
         --id=@dpdk1Q20 create queue \
         other-config:cir=0 other-config:cbs=0 \
         other-config:eir=50000 other-config:ebs=2048",
    );
    assert_eq!(
        egress(&db, "vnet0"),
        Some(EgressQos::TrTcm {
            committed: rate(50_000, 2048),
            excess: rate(50_000, 2048)
        })
    );
    // get/list/find on the new tables.
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl get qos a2 type other_config:cir"),
        "egress-policer\n\"46000000\"\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "ovs-vsctl --bare --columns=type find qos other_config:cbs=2048"
        ),
        "egress-policer\n\ntrtcm-policer\n"
    );
    // Queue rows have no name: a UUID or a unique prefix of one.
    let q = db.queues[0].uuid.to_string();
    assert_eq!(
        ok(
            &mut db,
            &env,
            &format!("ovs-vsctl get queue {} other_config:cir", &q[..8])
        ),
        "\"100000\"\n"
    );
}

#[test]
fn ovs_destroy_all_test() {
    // OVS tests/ovs-vsctl.at, "--all option on destroy command".
    let (mut db, env) = setup();
    ok(
        &mut db,
        &env,
        "ovs-vsctl --oneline -- set Port a1 qos=@newqos -- set Port a2 qos=@newqos \
         -- --id=@newqos create QoS type=linux-htb other-config:max-rate=1000000000 queues=0=@q0,1=@q1 \
         -- --id=@q0 create Queue other-config:min-rate=100000000 other-config:max-rate=100000000 \
         -- --id=@q1 create Queue other-config:min-rate=500000000",
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "ovs-vsctl --columns=other_config,type list Qos"
        ),
        "other_config        : {max-rate=\"1000000000\"}\ntype                : linux-htb\n"
    );
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl --columns=other_config list Queue"),
        "other_config        : {max-rate=\"100000000\", min-rate=\"100000000\"}\n\nother_config        : {min-rate=\"500000000\"}\n"
    );
    ok(
        &mut db,
        &env,
        "ovs-vsctl clear Port a1 qos -- clear Port a2 qos",
    );
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl --columns=qos list Port a1 a2"),
        "qos                 : []\n\nqos                 : []\n"
    );
    // Neither --all nor records: ovs-vsctl only warns.
    assert!(run(&db, &env, "ovs-vsctl destroy Qos")
        .unwrap()
        .new_db
        .is_none());
    refused(
        &db,
        &env,
        "ovs-vsctl --all destroy Qos x",
        "--all and records argument should not be specified together",
    );
    refused(
        &db,
        &env,
        "ovs-vsctl --all --if-exists destroy Qos",
        "--all and --if-exists should not be specified together",
    );
    ok(&mut db, &env, "ovs-vsctl --all destroy Qos");
    assert_eq!(ok(&mut db, &env, "ovs-vsctl -- list Qos"), "");
    ok(&mut db, &env, "ovs-vsctl --all destroy Queue");
    assert_eq!(ok(&mut db, &env, "ovs-vsctl -- list Queue"), "");
    assert!(db.qos.is_empty() && db.queues.is_empty());
}

#[test]
fn row_ids_and_create_output() {
    let (mut db, env) = setup();
    // A row created with no reference to it stays (QoS is a root table).
    let out = ok(
        &mut db,
        &env,
        "ovs-vsctl --id=@q create qos type=linux-htb external-ids:owner=me",
    );
    let u = db.qos[0].uuid;
    assert_eq!(out, format!("{u}\n"));
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl list qos"),
        format!(
            "_uuid               : {u}\nexternal_ids        : {{owner=me}}\nother_config        : {{}}\nqueues              : {{}}\ntype                : linux-htb\n"
        )
    );
    // --id=UUID keeps that UUID.
    let fixed = "c5cc12f8-eaa1-43a7-8a73-bccd18df1111";
    assert_eq!(
        ok(
            &mut db,
            &env,
            &format!("ovs-vsctl --id={fixed} create queue dscp=10")
        ),
        format!("{fixed}\n")
    );
    assert_eq!(
        ok(&mut db, &env, &format!("ovs-vsctl get queue {fixed} dscp")),
        "10\n"
    );
    // `add` takes row ids too; `queues=0=@x` and `queues:1=@y` both work.
    ok(
        &mut db,
        &env,
        &format!(
            "ovs-vsctl add qos {u} queues 0=@a -- --id=@a create queue -- set qos {u} queues:1=@b -- --id=@b create queue"
        ),
    );
    assert_eq!(db.qos[0].queues.len(), 2);
    assert_eq!(db.queues.len(), 3);
    // remove by key, clear, then the queues can go.
    ok(&mut db, &env, &format!("ovs-vsctl remove qos {u} queues 1"));
    assert_eq!(db.qos[0].queues.keys().collect::<Vec<_>>(), vec![&0]);
    ok(
        &mut db,
        &env,
        &format!("ovs-vsctl clear qos {u} queues -- clear queue {fixed} dscp"),
    );
    assert!(db.qos[0].queues.is_empty() && db.queues[0].dscp.is_none());
    ok(&mut db, &env, "ovs-vsctl --all destroy queue");
    // list interface shows the policing columns, list port the qos column.
    let out = ok(
        &mut db,
        &env,
        "ovs-vsctl --columns=ingress_policing_burst,ingress_policing_rate list interface vnet0",
    );
    assert_eq!(out, "ingress_policing_burst: 0\ningress_policing_rate: 0\n");
    assert!(
        ok(&mut db, &env, "ovs-vsctl list interface vnet0").contains("ingress_policing_rate: 0\n")
    );
    assert!(ok(&mut db, &env, "ovs-vsctl list port vnet0").contains("\nqos                 : []\n"));
    // The configuration survives a save and a load; an old conf.json
    // without these fields still loads.
    let json = serde_json::to_string(&db).unwrap();
    let back: Db = serde_json::from_str(&json).unwrap();
    assert_eq!(back, db);
    let (old, _) = setup();
    let old_json = serde_json::to_string(&old).unwrap();
    assert!(!old_json.contains("qos") && !old_json.contains("ingress_policing"));
    assert_eq!(serde_json::from_str::<Db>(&old_json).unwrap(), old);
}

#[test]
fn refusals_change_nothing() {
    let (mut db, env) = setup();
    let cases: &[(&str, &str)] = &[
        (
            "set port vnet0 qos=@nope",
            "row id \"@nope\" is referenced but never created (e.g. with \"-- --id=@nope create ...\")",
        ),
        (
            "--id=qos1 create qos",
            "row id \"qos1\" does not begin with \"@\"",
        ),
        (
            "--id=@a create qos -- --id=@a create qos",
            "row id \"@a\" may only be specified on one --id option",
        ),
        (
            "set port vnet0 qos=qos1",
            "\"qos1\" is not a valid UUID",
        ),
        (
            "set interface vnet0 ingress_policing_rate=-1",
            "constraint violation: -1 is less than minimum allowed value 0",
        ),
        (
            "set interface vnet0 ingress_policing_burst=fast",
            "\"fast\" is not a valid integer",
        ),
        (
            "create bridge name=br9",
            "\"create\" works on tables QoS and Queue only: rvswitch's Bridge rows are made and removed with the bridge commands (use add-br)",
        ),
        (
            "destroy port a1",
            "\"destroy\" works on tables QoS and Queue only: rvswitch's Port rows are made and removed with the bridge commands (use del-port)",
        ),
        ("destroy qos x", "no row \"x\" in table QoS"),
        ("destroy queue a1", "no row \"a1\" in table Queue"),
        ("create queue dscp=64", "constraint violation: 64 is not in the valid range 0 to 63 (inclusive)"),
        ("create q", "\"q\" matches multiple table names: QoS, Queue"),
    ];
    for (line, msg) in cases {
        refused(&db, &env, &format!("ovs-vsctl {line}"), msg);
    }
    // Settings are checked when the transaction commits, on its final state.
    let qos_cases: &[(&str, &[&str])] = &[
        (
            "create qos type=linux-hfsc",
            &["type \"linux-hfsc\" is not supported; rvswitch supports egress-policer, trtcm-policer, linux-htb (or \"\" for no QoS)"],
        ),
        (
            "create qos type=egress-policer other-config:cbs=2048",
            &["type=egress-policer needs other_config:cir > 0 (bytes per second)"],
        ),
        (
            "create qos type=egress-policer other-config:cir=0 other-config:cbs=2048",
            &["other_config:cir=0 is out of range (it must be > 0 bytes per second)"],
        ),
        (
            "create qos type=egress-policer other-config:cir=46000000",
            &["type=egress-policer needs other_config:cbs > 0 (bytes)"],
        ),
        (
            "create qos type=trtcm-policer other-config:cir=1000 other-config:cbs=2048 other-config:eir=-1",
            &["other_config:eir=-1 is out of range (it must be >= 0"],
        ),
        (
            "create qos type=linux-htb other-config:max-rate=10M",
            &["other_config:max-rate=\"10M\" is not an integer (bits per second)"],
        ),
        (
            "create queue other-config:min-rate=0",
            &["Queue ", "other_config:min-rate=0 is out of range"],
        ),
    ];
    for (line, words) in qos_cases {
        let before = db.clone();
        let e = err(&db, &env, &format!("ovs-vsctl {line}"));
        for w in *words {
            assert!(e.contains(w), "{line}: {e}");
        }
        assert_eq!(db, before);
    }
    // A bad row made good later in the same transaction is accepted.
    ok(
        &mut db,
        &env,
        "ovs-vsctl set port vnet0 qos=@q -- --id=@q create qos type=egress-policer other-config:cir=0 \
         -- set qos vnet0 other-config:cir=1000 other-config:cbs=1500",
    );
    assert_eq!(
        egress(&db, "vnet0"),
        Some(EgressQos::Policer {
            committed: rate(1000, 1500)
        })
    );
    // ... and a good one made bad is refused.
    refused(
        &db,
        &env,
        "ovs-vsctl set qos vnet0 type=linux-sfq",
        &format!(
            "QoS {}: type \"linux-sfq\" is not supported; rvswitch supports egress-policer, trtcm-policer, linux-htb (or \"\" for no QoS)",
            db.qos[0].uuid
        ),
    );
}
