//! The command language beyond the seeds: fake bridges, generic database
//! commands, output formats, and what libvirt and ifup-ovs send.

mod common;

use ctl::env::Env;

use common::*;
use ctl::db::{AdminState, Db};
use ctl::RuntimeCommand;
use datapath::wire::MacAddr;
use serde_json::json;

fn setup() -> (Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br br0 -- set bridge br0 datapath_type=netdev",
        "vsctl add-bond br0 bond0 dpdk0 dpdk1 lacp=active bond_mode=balance-tcp -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
        "vsctl add-port br0 vm1 tag=100",
        "vsctl add-port br0 vm2 tag=200",
        "vsctl add-br br0v100 br0 100",
    ] {
        ok(&mut db, &env, line);
    }
    (db, env)
}

#[test]
fn fake_bridges_behave_like_ovs() {
    let (mut db, env) = setup();
    assert_eq!(ok(&mut db, &env, "vsctl list-br"), "br0\nbr0v100\n");
    assert_eq!(ok(&mut db, &env, "vsctl --real list-br"), "br0\n");
    assert_eq!(ok(&mut db, &env, "vsctl --fake list-br"), "br0v100\n");
    // vm1 has tag 100, so it belongs to the fake bridge.
    assert_eq!(ok(&mut db, &env, "vsctl list-ports br0v100"), "vm1\n");
    assert_eq!(ok(&mut db, &env, "vsctl list-ports br0"), "bond0\nvm2\n");
    assert_eq!(ok(&mut db, &env, "vsctl port-to-br vm1"), "br0v100\n");
    assert_eq!(ok(&mut db, &env, "vsctl iface-to-br vm1"), "br0v100\n");
    assert_eq!(
        ok(&mut db, &env, "vsctl list-ifaces br0"),
        "dpdk0\ndpdk1\nvm2\n"
    );
    assert_eq!(ok(&mut db, &env, "vsctl br-to-vlan br0"), "0\n");
    assert_eq!(ok(&mut db, &env, "vsctl br-to-parent br0"), "br0\n");
    // add-port on the fake bridge lands on the parent with the VLAN tag.
    ok(&mut db, &env, "vsctl add-port br0v100 vm3");
    let (br, p) = db.port("vm3").unwrap();
    assert_eq!((br.name.as_str(), p.tag), ("br0", Some(100)));
    let e = err(&db, &env, "vsctl del-port br0 vm3");
    assert_eq!(
        e,
        "bridge br0 does not have a port vm3 (although its child bridge br0v100 does)"
    );
    ok(&mut db, &env, "vsctl del-port br0v100 vm3");
    assert!(db.port("vm3").is_none());
    // --may-exist add-br of the same fake bridge is a no-op; other shapes fail.
    assert!(run(&db, &env, "vsctl --may-exist add-br br0v100 br0 100")
        .unwrap()
        .new_db
        .is_none());
    assert!(err(&db, &env, "vsctl --may-exist add-br br0v100 br0 101").contains("wrong VLAN 100"));
    assert!(err(&db, &env, "vsctl --may-exist add-br br0v100")
        .contains("is a VLAN bridge for VLAN 100"));
    assert!(
        err(&db, &env, "vsctl --may-exist add-br br0 br0 5").contains("br0 is not a VLAN bridge")
    );
    // Deleting the fake bridge takes its ports with it, not the parent's.
    ok(&mut db, &env, "vsctl del-br br0v100");
    assert!(db.port("vm1").is_none() && db.port("br0v100").is_none());
    assert!(db.port("vm2").is_some() && db.port("bond0").is_some());
    // Deleting the real bridge removes everything on it.
    ok(&mut db, &env, "vsctl del-br br0");
    assert!(db.bridges.is_empty());
    assert!(db.interface("dpdk0").is_none());
}

#[test]
fn external_ids_fail_mode_and_bond_members() {
    let (mut db, env) = setup();
    ok(&mut db, &env, "vsctl br-set-external-id br0 bridge-id br0");
    ok(&mut db, &env, "vsctl br-set-external-id br0v100 owner me");
    assert_eq!(
        ok(&mut db, &env, "vsctl br-get-external-id br0"),
        "bridge-id=br0\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl br-get-external-id br0v100 owner"),
        "me\n"
    );
    assert_eq!(
        db.port("br0v100")
            .unwrap()
            .1
            .external_ids
            .get("fake-bridge-owner")
            .map(String::as_str),
        Some("me")
    );
    ok(&mut db, &env, "vsctl br-set-external-id br0 bridge-id");
    assert_eq!(ok(&mut db, &env, "vsctl br-get-external-id br0"), "");

    assert_eq!(ok(&mut db, &env, "vsctl get-fail-mode br0"), "");
    ok(&mut db, &env, "vsctl set-fail-mode br0 secure");
    assert_eq!(ok(&mut db, &env, "vsctl get-fail-mode br0"), "secure\n");
    assert!(ok(&mut db, &env, "vsctl show")
        .contains("    Bridge br0\n        fail_mode: secure\n        datapath_type: netdev\n"));
    ok(&mut db, &env, "vsctl del-fail-mode br0");
    assert_eq!(ok(&mut db, &env, "vsctl get-fail-mode br0"), "");

    ok(&mut db, &env, "vsctl add-bond-iface bond0 dpdk2 -- set interface dpdk2 type=dpdk options:dpdk-devargs=0000:08:00.2");
    assert_eq!(db.port("bond0").unwrap().1.interfaces.len(), 3);
    assert!(
        run(&db, &env, "vsctl --may-exist add-bond-iface bond0 dpdk2")
            .unwrap()
            .new_db
            .is_none()
    );
    assert!(err(&db, &env, "vsctl --may-exist add-bond-iface bond0 vm1")
        .contains("vm1 is actually attached to port vm1"));
    assert_eq!(
        err(&db, &env, "vsctl del-bond-iface vm1 dpdk2"),
        "port vm1 does not have an interface dpdk2"
    );
    ok(&mut db, &env, "vsctl del-bond-iface bond0 dpdk2");
    assert_eq!(db.port("bond0").unwrap().1.interfaces.len(), 2);
    // del-port --with-iface finds the port through a member.
    ok(&mut db, &env, "vsctl --with-iface del-port dpdk1");
    assert!(db.port("bond0").is_none());
    assert_eq!(
        err(&db, &env, "vsctl --with-iface del-port nosuch"),
        "no port or interface named nosuch"
    );
}

#[test]
fn generic_get_set_add_remove_clear() {
    let (mut db, env) = setup();
    ok(
        &mut db,
        &env,
        "vsctl set port bond0 trunks=11,300-302 other_config:lacp-time=fast",
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get port bond0 trunks"),
        "[11, 300, 301, 302]\n"
    );
    ok(&mut db, &env, "vsctl add port bond0 trunks 400-401 12");
    assert_eq!(
        ok(&mut db, &env, "vsctl get port bond0 trunks"),
        "[11, 12, 300, 301, 302, 400, 401]\n"
    );
    ok(&mut db, &env, "vsctl remove port bond0 trunks 300-302 11");
    assert_eq!(
        ok(&mut db, &env, "vsctl get port bond0 trunks"),
        "[12, 400, 401]\n"
    );
    ok(&mut db, &env, "vsctl clear port bond0 trunks");
    assert_eq!(ok(&mut db, &env, "vsctl get port bond0 trunks"), "[]\n");

    ok(
        &mut db,
        &env,
        "vsctl add port bond0 other_config bond-rebalance-interval=0 lacp-time=slow",
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get port bond0 other_config"),
        "{bond-rebalance-interval=\"0\", lacp-time=fast}\n",
        "add keeps existing keys"
    );
    ok(
        &mut db,
        &env,
        "vsctl remove port bond0 other_config lacp-time",
    );
    ok(
        &mut db,
        &env,
        "vsctl remove port bond0 other_config bond-rebalance-interval=1",
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl get port bond0 other_config:bond-rebalance-interval"
        ),
        "\"0\"\n",
        "a pair with another value is not removed"
    );
    ok(
        &mut db,
        &env,
        "vsctl remove port bond0 other_config bond-rebalance-interval=0",
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get port bond0 other_config"),
        "{}\n"
    );

    // get: several columns, _uuid, map keys, abbreviations, --if-exists.
    let u = db.port("vm1").unwrap().1.uuid;
    assert_eq!(
        ok(&mut db, &env, "vsctl get port vm1 _uuid tag name"),
        format!("{u}\n100\nvm1\n")
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            &format!("vsctl get port {} tag", &u.to_string()[..8])
        ),
        "100\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl get interface dpdk0 options:dpdk-devargs"
        ),
        "\"0000:08:00.0\"\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get Interface dpdk0 type"),
        "dpdk\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl --if-exists get interface nosuch type"),
        ""
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get o . datapath_types iface_types"),
        "[netdev]\n[dpdk, dpdkvhostuser, dpdkvhostuserclient, internal]\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get bridge br0 datapath-type"),
        "netdev\n"
    );

    // rvswitch lets admin_state be configured.
    ok(&mut db, &env, "vsctl set interface vm2 admin_state=down");
    assert_eq!(
        db.interface("vm2").unwrap().2.admin_state,
        Some(AdminState::Down)
    );
    assert!(!db.interface("vm2").unwrap().2.admin_up());
    ok(&mut db, &env, "vsctl clear interface vm2 admin_state");
    assert!(db.interface("vm2").unwrap().2.admin_up());

    // A MAC may be written with or without quotes.
    ok(
        &mut db,
        &env,
        "vsctl set interface br0 mac=52:54:00:12:34:56",
    );
    ok(
        &mut db,
        &env,
        "vsctl set interface vm2 mac=\"52:54:00:12:34:57\"",
    );
    assert_eq!(
        db.interface("br0").unwrap().2.mac,
        Some("52:54:00:12:34:56".parse::<MacAddr>().unwrap())
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get interface vm2 mac"),
        "\"52:54:00:12:34:57\"\n"
    );

    // Clearing a column that may not be empty; --if-exists on a missing row.
    assert!(
        err(&db, &env, "vsctl clear bridge br0 datapath_type").contains("not allowed to be empty")
    );
    assert!(run(&db, &env, "vsctl --if-exists set port nosuch tag=5")
        .unwrap()
        .new_db
        .is_none());
}

#[test]
fn list_and_find_formats() {
    let (mut db, env) = setup();
    let u1 = db.port("vm1").unwrap().1.uuid;
    let u2 = db.port("vm2").unwrap().1.uuid;
    assert_eq!(
        ok(&mut db, &env, "vsctl --columns=name,tag list port vm1 vm2"),
        "name                : vm1\ntag                 : 100\n\nname                : vm2\ntag                 : 200\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name find port tag=200"
        ),
        "vm2\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=_uuid,name find port tag>=100 fake_bridge=false"
        ),
        format!("{u1}\nvm1\n\n{u2}\nvm2\n")
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name find interface type=dpdk"
        ),
        "dpdk0\n\ndpdk1\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name find interface options:dpdk-devargs=\"0000:08:00.1\""
        ),
        "dpdk1\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name find port tag!=100 tag!=[]"
        ),
        "vm2\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name find port lacp{>=}active"
        ),
        "bond0\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --format=table --columns=name,tag list port vm1 vm2"
        ),
        "name tag\n---- ---\nvm1  100\nvm2  200\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --format=csv --columns=name,tag find port tag=100 fake_bridge=false"
        ),
        "name,tag\nvm1,100\n"
    );
    // Two tables in one invocation are separated by a blank line.
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --columns=name list port vm1 -- --columns=name list port vm2"
        ),
        "name                : vm1\n\nname                : vm2\n"
    );
    // --oneline puts each command's output on one line.
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --oneline list-br -- br-to-vlan br0v100"
        ),
        "br0\\nbr0v100\n100\n"
    );
    // libvirt's statistics query.
    let out = run_with(
        &db,
        "vsctl --timeout=5 --if-exists --format=list --data=json --no-headings --columns=statistics list Interface vm1",
        &env,
        &FakeRuntime,
    )
    .unwrap();
    assert_eq!(out.output, "[\"map\",[[\"rx_packets\",42]]]\n");
    // Runtime columns come from the daemon.
    let out = run_with(
        &db,
        "vsctl get interface dpdk1 link_state mtu error",
        &env,
        &FakeRuntime,
    )
    .unwrap();
    assert_eq!(
        out.output,
        "down\n1500\n\"could not open device 0000:08:00.1: no such device\"\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get interface dpdk1 link_state mtu"),
        "[]\n[]\n"
    );
}

#[test]
fn json_output() {
    let (db, env) = setup();
    let out = run(&db, &env, "vsctl --format=json list-br").unwrap();
    assert_eq!(out.json, Some(json!(["br0", "br0v100"])));
    assert_eq!(out.output, "[\"br0\",\"br0v100\"]\n");
    let out = run(
        &db,
        &env,
        "vsctl --format=json --columns=name,tag,trunks list port vm1",
    )
    .unwrap();
    assert_eq!(
        out.json,
        Some(json!({"headings": ["name", "tag", "trunks"], "data": [["vm1", 100, ["set", []]]]}))
    );
    let out = run(
        &db,
        &env,
        "vsctl --format=json get interface dpdk0 options type",
    )
    .unwrap();
    assert_eq!(
        out.json,
        Some(json!([{"dpdk-devargs": "0000:08:00.0"}, "dpdk"]))
    );
    let out = run(&db, &env, "vsctl --format=json show").unwrap();
    let j = out.json.unwrap();
    assert_eq!(j["_uuid"], json!(root_uuid().to_string()));
    assert_eq!(j["bridges"][0]["name"], json!("br0"));
    assert_eq!(j["bridges"][0]["datapath_type"], json!("netdev"));
    assert_eq!(
        j["bridges"][0]["ports"][1]["interfaces"][0]["options"],
        json!({"dpdk-devargs": "0000:08:00.0"})
    );
    assert_eq!(j["bridges"][0]["ports"][2]["tag"], json!(100));
    // A chain gives one value per command.
    let out = run(
        &db,
        &env,
        "vsctl --format=json br-to-vlan br0v100 -- add-port br0 vm9 -- br-to-parent br0v100",
    )
    .unwrap();
    assert_eq!(out.json, Some(json!([100, null, "br0"])));
    assert!(out.new_db.is_some());
}

#[test]
fn rxq_placement_settings_are_honoured_keys() {
    let (mut db, env) = setup();
    assert_eq!(
        db.rxq_settings(),
        ctl::db::RxqSettings {
            assign: ctl::db::RxqAssign::Cycles,
            isolate: true
        }
    );
    ok(
        &mut db,
        &env,
        "vsctl set Open_vSwitch . other_config:pmd-rxq-assign=group other_config:pmd-rxq-isolate=false -- set interface dpdk0 options:n_rxq=4 other_config:pmd-rxq-affinity=\"0:3,1:7,3:8\"",
    );
    assert_eq!(
        db.rxq_settings(),
        ctl::db::RxqSettings {
            assign: ctl::db::RxqAssign::Group,
            isolate: false
        }
    );
    let (_, _, i) = db.interface("dpdk0").unwrap();
    assert_eq!(i.rxq_affinity(), vec![(0, 3), (1, 7), (3, 8)]);
    // Back to isolation before leaving group, as OVS requires.
    ok(
        &mut db,
        &env,
        "vsctl remove Open_vSwitch . other_config pmd-rxq-isolate -- set Open_vSwitch . other_config:pmd-rxq-assign=roundrobin",
    );
    assert_eq!(db.rxq_settings().assign, ctl::db::RxqAssign::RoundRobin);
    // Leaving group while isolation is off is refused.
    ok(
        &mut db,
        &env,
        "vsctl set Open_vSwitch . other_config:pmd-rxq-assign=group other_config:pmd-rxq-isolate=false",
    );
    let e = err(
        &db,
        &env,
        "vsctl set Open_vSwitch . other_config:pmd-rxq-assign=cycles",
    );
    assert!(e.contains("pmd-rxq-isolate=false needs"), "{e}");
    let out = run(
        &db,
        &env,
        "vsctl dpif-netdev/pmd-rxq-rebalance -- dpif-netdev/pmd-rxq-rebalance ovs-netdev",
    )
    .unwrap();
    assert_eq!(
        out.runtime,
        vec![
            RuntimeCommand::PmdRxqRebalance,
            RuntimeCommand::PmdRxqRebalance
        ]
    );
}

#[test]
fn runtime_commands_are_checked_and_returned_in_order() {
    let (db, env) = setup();
    let out = run(
        &db,
        &env,
        "vsctl fdb/add br0 vm1 100 52:54:00:00:00:01 -- fdb/flush -- lacp/show bond0 -- dpif-netdev/pmd-stats-show -pmd 3 -- fdb/del br0 100 52:54:00:00:00:01",
    )
    .unwrap();
    assert_eq!(
        out.runtime,
        vec![
            RuntimeCommand::FdbAdd {
                bridge: "br0".into(),
                port: "vm1".into(),
                vlan: 100,
                mac: "52:54:00:00:00:01".parse().unwrap(),
            },
            RuntimeCommand::FdbFlush { bridge: None },
            RuntimeCommand::LacpShow {
                bond: Some("bond0".into())
            },
            RuntimeCommand::PmdStatsShow { pmd: Some(3) },
            RuntimeCommand::FdbDel {
                bridge: "br0".into(),
                vlan: 100,
                mac: "52:54:00:00:00:01".parse().unwrap(),
            },
        ]
    );
    assert_eq!(out.runtime_positions, vec![0, 1, 2, 3, 4]);
    assert!(out.new_db.is_none());
    let out = run(
        &db,
        &env,
        "vsctl dpif-netdev/pmd-rxq-show -- bond/show -- lacp/show-stats -- fdb/show br0",
    )
    .unwrap();
    assert_eq!(
        out.runtime,
        vec![
            RuntimeCommand::PmdRxqShow { pmd: None },
            RuntimeCommand::BondShow { bond: None },
            RuntimeCommand::LacpShowStats { bond: None },
            RuntimeCommand::FdbShow {
                bridge: "br0".into()
            },
        ]
    );
    // The event histories: every bond, or one.
    let out = run(&db, &env, "vsctl bond/events -- lacp/events bond0").unwrap();
    assert_eq!(
        out.runtime,
        vec![
            RuntimeCommand::BondEvents { bond: None },
            RuntimeCommand::LacpEvents {
                bond: Some("bond0".into())
            },
        ]
    );
    assert_eq!(
        err(&db, &env, "vsctl bond/events vm1"),
        "port vm1 is not a bond"
    );
    assert_eq!(
        err(&db, &env, "vsctl bond/events nope"),
        "no bond named nope"
    );
    // lacp/show on a bond without LACP is refused.
    let mut db2 = db.clone();
    ok(&mut db2, &env, "vsctl set port bond0 lacp=off");
    assert_eq!(
        err(&db2, &env, "vsctl lacp/show bond0"),
        "bond bond0 does not run LACP (lacp=off)"
    );
    assert_eq!(
        err(&db2, &env, "vsctl lacp/events bond0"),
        "bond bond0 does not run LACP (lacp=off)"
    );
    assert!(run(&db2, &env, "vsctl bond/events bond0").is_ok());
}

#[test]
fn what_libvirt_and_ifup_ovs_send() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(
        &mut db,
        &env,
        "ovs-vsctl -t 10 -- --may-exist add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
    );
    // libvirt, <interface type='bridge'> with <virtualport type='openvswitch'/> and a VLAN.
    let attach = "ovs-vsctl --timeout=5 -- --if-exists del-port vnet0 -- add-port ovsbr0 vnet0 tag=300 \
                  -- set Interface vnet0 'external-ids:attached-mac=\"52:54:00:d4:25:2e\"' \
                  -- set Interface vnet0 'external-ids:iface-id=\"c8c7b1a0-6d0c-4c39-a6b8-6d3b8fbd10a7\"' \
                  -- set Interface vnet0 'external-ids:vm-id=\"0e4a5c2b-1b1e-4c1e-9d7f-2b2f8c1f2a11\"' \
                  -- set Interface vnet0 external-ids:iface-status=active";
    ok(&mut db, &env, attach);
    let (_, p, i) = db.interface("vnet0").unwrap();
    assert_eq!(p.tag, Some(300));
    assert_eq!(
        i.external_ids.get("attached-mac").map(String::as_str),
        Some("52:54:00:d4:25:2e")
    );
    assert_eq!(
        i.external_ids.get("iface-status").map(String::as_str),
        Some("active")
    );
    // Re-attaching (libvirtd restart) is idempotent.
    ok(&mut db, &env, attach);
    assert_eq!(db.bridge("ovsbr0").unwrap().ports.len(), 2);
    // libvirt vhost-user.
    ok(
        &mut db,
        &env,
        "ovs-vsctl --timeout=5 -- --may-exist add-port ovsbr0 vhost-user1 -- set Interface vhost-user1 type=dpdkvhostuserclient options:vhost-server-path=/var/run/libvirt/qemu/vhost-user1",
    );
    // VLAN update on a running VM, then detach.
    ok(&mut db, &env, "ovs-vsctl --timeout=5 -- --if-exists clear Port vnet0 tag -- --if-exists clear Port vnet0 trunks -- --if-exists clear Port vnet0 vlan_mode -- set Port vnet0 tag=301");
    assert_eq!(db.port("vnet0").unwrap().1.tag, Some(301));
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl --timeout=5 --no-headings --columns=_uuid find Interface external_ids:iface-id=\"c8c7b1a0-6d0c-4c39-a6b8-6d3b8fbd10a7\"")
            .trim(),
        db.interface("vnet0").unwrap().2.uuid.to_string()
    );
    ok(
        &mut db,
        &env,
        "ovs-vsctl --timeout=5 -- --if-exists del-port vnet0",
    );
    assert!(db.port("vnet0").is_none());
}

#[test]
fn cloudstack_dpdk_mode_adds_vhost_user_server_ports() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(
        &mut db,
        &env,
        "ovs-vsctl add-br cloudbr0 -- set bridge cloudbr0 datapath_type=netdev",
    );
    // Where the sockets go and who may use them (the owner and mode are
    // rvswitch extensions).
    ok(
        &mut db,
        &env,
        "ovs-vsctl set Open_vSwitch . other_config:vhost-sock-dir=vhost other_config:vhost-sock-owner=libvirt-qemu:kvm other_config:vhost-sock-mode=0660",
    );
    // CloudStack's DPDK mode: the switch serves the socket.
    ok(
        &mut db,
        &env,
        "ovs-vsctl add-port cloudbr0 csdpdk-1 tag=100 -- set Interface csdpdk-1 type=dpdkvhostuser",
    );
    let (_, _, i) = db.interface("csdpdk-1").unwrap();
    assert_eq!(i.iface_type, ctl::db::IfaceType::DpdkVhostUser);
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl get Interface csdpdk-1 type").trim(),
        "dpdkvhostuser"
    );
    let s = ctl::vhost_sock::Settings::from_db(&db, &env.run_dir(), &env);
    assert_eq!(
        s.path_of("csdpdk-1").unwrap(),
        std::path::Path::new("/run/rvswitch/vhost/csdpdk-1")
    );
    assert_eq!(s.owner, Some(Ok((64055, Some(993)))));
    assert_eq!(s.mode, 0o660);
    // A saved configuration with a server port loads again.
    let text = serde_json::to_string(&db).unwrap();
    let back: Db = serde_json::from_str(&text).unwrap();
    assert_eq!(back, db);
    ok(&mut db, &env, "ovs-vsctl del-port csdpdk-1");
    assert!(db.interface("csdpdk-1").is_none());
}

/// A daemon for [`ctl::proto::handle`]: it records commits and runtime
/// commands, and fails commits as told.
struct FakeDaemon {
    db: Db,
    saved: Vec<Db>,
    ran: Vec<RuntimeCommand>,
    fail: Option<ctl::proto::CommitError>,
}

impl ctl::Runtime for FakeDaemon {}

impl ctl::RuntimeHandler for FakeDaemon {
    fn run(&mut self, c: &RuntimeCommand, json: bool) -> Result<ctl::RuntimeOutput, String> {
        self.ran.push(c.clone());
        Ok(ctl::RuntimeOutput {
            text: "---- bond0 ----\nbond_mode: balance-tcp\n".into(),
            json: json.then(|| json!({"bond": "bond0"})),
        })
    }
}

impl ctl::proto::Daemon for FakeDaemon {
    fn db(&self) -> &Db {
        &self.db
    }
    fn commit(&mut self, new: Db) -> Result<(), ctl::proto::CommitError> {
        match &self.fail {
            Some(ctl::proto::CommitError::NotSaved(e)) => {
                Err(ctl::proto::CommitError::NotSaved(e.clone()))
            }
            Some(ctl::proto::CommitError::NotDurable(e)) => {
                self.saved.push(new.clone());
                self.db = new;
                Err(ctl::proto::CommitError::NotDurable(e.clone()))
            }
            None => {
                self.saved.push(new.clone());
                self.db = new;
                Ok(())
            }
        }
    }
}

#[test]
fn handle_commits_then_runs_runtime_commands() {
    use ctl::proto::{handle, CommitError, Format, Request};
    let (db, env) = setup();
    let mut d = FakeDaemon {
        db: db.clone(),
        saved: Vec::new(),
        ran: Vec::new(),
        fail: None,
    };
    let req =
        |argv: &[&str], f: Format| Request::new(argv.iter().map(|s| s.to_string()).collect(), f);
    // Text: the chain's output, then the runtime output.
    let r = req(
        &[
            "add-port",
            "br0",
            "vm9",
            "--",
            "list-br",
            "--",
            "bond/show",
            "bond0",
        ],
        Format::Text,
    );
    let resp = handle(&r, &env, &mut d);
    assert!(resp.ok, "{}", resp.error);
    assert_eq!(
        resp.output,
        "br0\nbr0v100\n---- bond0 ----\nbond_mode: balance-tcp\n"
    );
    assert!(d.db.port("vm9").is_some());
    assert_eq!(d.saved, vec![d.db.clone()]);
    assert_eq!(d.ran.len(), 1);
    // JSON: the runtime value lands in its command's slot; nothing commits.
    let r = req(&["list-br", "--", "bond/show", "bond0"], Format::Json);
    let resp = handle(&r, &env, &mut d);
    assert_eq!(d.saved.len(), 1);
    assert_eq!(
        resp.json,
        Some(json!([["br0", "br0v100"], {"bond": "bond0"}]))
    );
    assert_eq!(resp.output, "[\"br0\",\"br0v100\"]\n{\"bond\":\"bond0\"}\n");
    // A failed save drops the change and says so; runtime commands do not run.
    let before = (d.db.clone(), d.ran.len());
    d.fail = Some(CommitError::NotSaved("disk full".into()));
    let resp = handle(
        &req(&["add-br", "br9", "--", "bond/show"], Format::Text),
        &env,
        &mut d,
    );
    assert!(!resp.ok);
    assert_eq!(
        resp.error,
        "configuration not changed: could not save it: disk full"
    );
    assert_eq!((d.db.clone(), d.ran.len()), before);
    // Saved but not durable: the change stands, and the reply says so.
    d.fail = Some(CommitError::NotDurable(
        "fsync of /var/lib/rvswitch: EIO".into(),
    ));
    let resp = handle(&req(&["add-br", "br9"], Format::Text), &env, &mut d);
    assert!(!resp.ok && d.db.bridge("br9").is_some());
    assert!(
        resp.error
            .starts_with("configuration changed and applied, but"),
        "{}",
        resp.error
    );
    assert!(!resp.error.contains("not changed"), "{}", resp.error);
    // A bad chain never reaches the commit.
    d.fail = Some(CommitError::NotSaved("must not be reached".into()));
    let saved = d.saved.len();
    let resp = handle(
        &req(&["add-port", "nosuch", "p"], Format::Text),
        &env,
        &mut d,
    );
    assert_eq!(
        (resp.ok, resp.exit_code, resp.error.as_str()),
        (false, 1, "no bridge named nosuch")
    );
    assert_eq!(d.saved.len(), saved);
}
