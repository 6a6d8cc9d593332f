//! Every ovs-vsctl line of the how-tos in the project's seed documents
//! (002 has none; 003: OVS-DPDK with a LACP bond and vhost-user, and OVS
//! with a bond and a fake bridge; 004: CloudStack bridges, bonds, a fake
//! bridge and VLAN splinters) runs verbatim with `vsctl` and gives the
//! `show` the documents print (names unquoted as modern OVS prints them).

mod common;

use common::*;
use ctl::db::{BondMode, DetectMode, IfaceType, LacpMode, LacpTime};
use ctl::env::NoRuntime;
use ctl::RuntimeCommand;

fn version_line() -> String {
    format!(
        "    ovs_version: \"rvswitch {}\"\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// 003, first host (c765): OVS-DPDK.
const DPDK_HOWTO: &[&str] = &[
    "ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true",
    "ovs-vsctl --no-wait set Open_vSwitch . other_config:dpdk-socket-mem=1024,1024",
    "ovs-vsctl --no-wait set Open_vSwitch . other_config:vhost-iommu-support=true",
    "ovs-vsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=0x33",
    "ovs-vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
    "ovs-vsctl add-bond ovsbr0 bond0 dpdk0 dpdk1 \
     vlan_mode=trunk trunks=11,300-304 \
     bond_mode=balance-tcp lacp=active other_config:lacp-time=fast \
     -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 \
     -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
];

#[test]
fn seed_003_ovs_dpdk_lacp_bond_and_vhost_user() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in DPDK_HOWTO {
        assert_eq!(ok(&mut db, &env, line), "", "{line}");
    }
    assert_eq!(
        ok(&mut db, &env, "vsctl --no-wait get Open_vSwitch . other_config"),
        "{dpdk-init=\"true\", dpdk-socket-mem=\"1024,1024\", pmd-cpu-mask=\"0x33\", vhost-iommu-support=\"true\"}\n"
    );
    let expected_bond = format!(
        "8daaa733-f6ef-4b67-a1a9-581875f33420
    Bridge ovsbr0
        datapath_type: netdev
        Port ovsbr0
            Interface ovsbr0
                type: internal
        Port bond0
            trunks: [11, 300, 301, 302, 303, 304]
            Interface dpdk0
                type: dpdk
                options: {{dpdk-devargs=\"0000:08:00.0\"}}
            Interface dpdk1
                type: dpdk
                options: {{dpdk-devargs=\"0000:08:00.1\"}}
{}",
        version_line()
    );
    assert_eq!(ok(&mut db, &env, "ovs-vsctl show"), expected_bond);

    ok(
        &mut db,
        &env,
        "ovs-vsctl add-port ovsbr0 vhuc0 \
         vlan_mode=access tag=300 \
         -- set Interface vhuc0 type=dpdkvhostuserclient \
         options:vhost-server-path=/usr/local/openvswitch/vhuc0",
    );
    let expected = expected_bond.replace(
        &version_line(),
        &format!(
            "        Port vhuc0
            tag: 300
            Interface vhuc0
                type: dpdkvhostuserclient
                options: {{vhost-server-path=\"/usr/local/openvswitch/vhuc0\"}}
{}",
            version_line()
        ),
    );
    assert_eq!(ok(&mut db, &env, "vsctl show"), expected);

    // The typed view the daemon uses.
    assert!(db.dpdk_init());
    assert!(db.vhost_iommu_support());
    assert_eq!(db.pmd_cpus(), Some(vec![0, 1, 4, 5]));
    let (_, bond) = db.port("bond0").unwrap();
    assert_eq!(bond.bond_mode(), BondMode::BalanceTcp);
    assert_eq!(bond.lacp_mode(), LacpMode::Active);
    assert_eq!(bond.lacp_time(), LacpTime::Fast);
    let v = bond.port_vlan().unwrap();
    assert!(v.carries(304) && v.carries(11) && !v.carries(305) && !v.carries(0));
    let (_, _, d0) = db.interface("dpdk0").unwrap();
    assert_eq!(d0.iface_type, IfaceType::Dpdk);
    assert_eq!(d0.dpdk_devargs(), Some("0000:08:00.0"));
    let (_, vhuc, _) = db.interface("vhuc0").unwrap();
    assert_eq!(vhuc.port_vlan().unwrap().tag(), 300);
}

#[test]
fn seed_003_kernel_bond_with_list_and_appctl() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    ok(&mut db, &env, "ovs-vsctl add-br ovsbr0");
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl show"),
        format!(
            "8daaa733-f6ef-4b67-a1a9-581875f33420
    Bridge ovsbr0
        Port ovsbr0
            Interface ovsbr0
                type: internal
{}",
            version_line()
        )
    );
    ok(
        &mut db,
        &env,
        "ovs-vsctl add-bond ovsbr0 bond0 ens1f0 ens1f1",
    );
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl show"),
        format!(
            "8daaa733-f6ef-4b67-a1a9-581875f33420
    Bridge ovsbr0
        Port ovsbr0
            Interface ovsbr0
                type: internal
        Port bond0
            Interface ens1f0
            Interface ens1f1
{}",
            version_line()
        )
    );

    // `ovs-appctl bond/show bond0` becomes a runtime command for the daemon.
    let out = run(&db, &env, "vsctl bond/show bond0").unwrap();
    assert_eq!(
        out.runtime,
        vec![RuntimeCommand::BondShow {
            bond: Some("bond0".into())
        }]
    );
    assert!(out.new_db.is_none());

    // The ifcfg-bond0 OVS_OPTIONS of the how-to, as ifup-ovs applies them.
    ok(
        &mut db,
        &env,
        "ovs-vsctl -- --if-exists del-port bond0 -- add-bond ovsbr0 bond0 ens1f0 ens1f1 \
         bond_mode=balance-tcp lacp=active other_config:lacp-time=fast vlan_mode=trunk trunks=11,300-302",
    );
    let list = ok(&mut db, &env, "ovs-vsctl list port bond0");
    let (_, bond) = db.port("bond0").unwrap();
    let ifaces: Vec<String> = {
        let mut v: Vec<String> = bond.interfaces.iter().map(|i| i.uuid.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        list,
        format!(
            "_uuid               : {}
bond_active_slave   : []
bond_downdelay      : 0
bond_fake_iface     : false
bond_mode           : balance-tcp
bond_updelay        : 0
external_ids        : {{}}
fake_bridge         : false
interfaces          : [{}]
lacp                : active
name                : bond0
other_config        : {{lacp-time=fast}}
qos                 : []
status              : {{}}
tag                 : []
trunks              : [11, 300, 301, 302]
vlan_mode           : trunk
",
            bond.uuid,
            ifaces.join(", ")
        )
    );

    // The fake bridge of the how-to (ifcfg-vlan302, TYPE=OVSIntPort).
    ok(
        &mut db,
        &env,
        "ovs-vsctl -- --may-exist add-port ovsbr0 vlan302 vlan_mode=access tag=302 fake_bridge=true \
         -- set Interface vlan302 type=internal \
         -- set Interface vlan302 external-ids:iface-id=c761-vlan302-vif",
    );
    assert_eq!(ok(&mut db, &env, "vsctl list-br"), "ovsbr0\nvlan302\n");
    assert_eq!(ok(&mut db, &env, "vsctl br-to-parent vlan302"), "ovsbr0\n");
    assert_eq!(ok(&mut db, &env, "vsctl br-to-vlan vlan302"), "302\n");
    // `lxc network attach vlan302 ...` adds the veth to the fake bridge.
    ok(&mut db, &env, "vsctl add-port vlan302 vethCPI2P0");
    assert_eq!(
        ok(&mut db, &env, "vsctl port-to-br vethCPI2P0"),
        "vlan302\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl list-ports vlan302"),
        "vethCPI2P0\n"
    );
    assert_eq!(ok(&mut db, &env, "vsctl list-ports ovsbr0"), "bond0\n");
    assert_eq!(db.port("vethCPI2P0").unwrap().1.tag, Some(302));

    assert!(ok(&mut db, &env, "ovs-vsctl -V").contains("rvswitch"));
}

/// 004: CloudStack on CentOS and Ubuntu.
#[test]
fn seed_004_cloudstack_bridges_bonds_and_fake_bridge() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "ovs-vsctl add-br cloudbr0",
        "ovs-vsctl add-br cloudbr1",
        "ovs-vsctl add-bond cloudbr0 bond0 eth0 eth1",
        "ovs-vsctl add-bond cloudbr1 bond1 eth2 eth3",
        "ovs-vsctl add-br cloudbr100 cloudbr0 100",
        "ovs-vsctl set interface eth0 other-config:enable-vlan-splinters=true",
        "ovs-vsctl set interface eth1 other-config:enable-vlan-splinters=true",
        "ovs-vsctl set interface eth2 other-config:enable-vlan-splinters=true",
        "ovs-vsctl set interface eth3 other-config:enable-vlan-splinters=true",
    ] {
        assert_eq!(ok(&mut db, &env, line), "", "{line}");
    }
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl show"),
        format!(
            "8daaa733-f6ef-4b67-a1a9-581875f33420
    Bridge cloudbr0
        Port cloudbr0
            Interface cloudbr0
                type: internal
        Port bond0
            Interface eth0
            Interface eth1
        Port cloudbr100
            tag: 100
            Interface cloudbr100
                type: internal
    Bridge cloudbr1
        Port cloudbr1
            Interface cloudbr1
                type: internal
        Port bond1
            Interface eth2
            Interface eth3
{}",
            version_line()
        )
    );
    assert_eq!(
        ok(&mut db, &env, "ovs-vsctl list-br"),
        "cloudbr0\ncloudbr1\ncloudbr100\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get interface eth0 other_config"),
        "{enable-vlan-splinters=\"true\"}\n"
    );
    assert_eq!(ok(&mut db, &env, "vsctl br-to-vlan cloudbr100"), "100\n");
    assert_eq!(
        ok(&mut db, &env, "vsctl br-to-parent cloudbr100"),
        "cloudbr0\n"
    );

    // The ifcfg-bond0 OVS_OPTIONS (CentOS) and the Ubuntu add-bond lines.
    ok(
        &mut db,
        &env,
        "ovs-vsctl -- --may-exist add-bond cloudbr0 bond0 eth0 eth1 \
         bond_mode=active-backup lacp=off other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100",
    );
    let mut fresh = empty_db();
    for line in [
        "ovs-vsctl add-br cloudbr0",
        "ovs-vsctl add-br cloudbr1",
        "ovs-vsctl add-bond cloudbr0 bond0 eth0 eth1 bond_mode=active-backup other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100",
        "ovs-vsctl add-bond cloudbr1 bond1 eth2 eth3 bond_mode=active-backup other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100",
        "ovs-vsctl add-br cloudbr100 cloudbr0 100",
    ] {
        ok(&mut fresh, &env, line);
    }
    let (_, bond) = fresh.port("bond0").unwrap();
    assert_eq!(bond.bond_mode(), BondMode::ActiveBackup);
    assert_eq!(
        bond.bond_detect_mode(),
        DetectMode::Miimon { interval_ms: 100 }
    );
    assert_eq!(
        ok(
            &mut fresh,
            &env,
            "vsctl get port bond0 other_config:bond-miimon-interval"
        ),
        "\"100\"\n"
    );
}

#[test]
fn brief_examples_run_verbatim() {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
        "vsctl add-bond ovsbr0 bond0 dpdk0 dpdk1 vlan_mode=trunk trunks=11,300-304 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
        "vsctl add-port ovsbr0 vhuc0 vlan_mode=access tag=300 -- set Interface vhuc0 type=dpdkvhostuserclient options:vhost-server-path=/usr/local/openvswitch/vhuc0",
        "vsctl add-br cloudbr0",
        "vsctl add-bond cloudbr0 bond1 eth0 eth1 bond_mode=active-backup other_config:bond-detect-mode=miimon other_config:bond-miimon-interval=100",
        "vsctl add-br cloudbr100 cloudbr0 100",
        "vsctl --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=0x33",
        "vsctl set interface eth0 other-config:enable-vlan-splinters=true",
    ] {
        ok(&mut db, &env, line);
    }
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --no-wait get Open_vSwitch . other_config"
        ),
        "{pmd-cpu-mask=\"0x33\"}\n"
    );
    // With the daemon reporting an error on dpdk1, show includes it.
    let out = run_with(&db, "vsctl show", &env, &FakeRuntime).unwrap();
    assert!(out.output.contains(
        "            Interface dpdk1\n                type: dpdk\n                options: {dpdk-devargs=\"0000:08:00.1\"}\n                error: \"could not open device 0000:08:00.1: no such device\"\n"
    ), "{}", out.output);
    let plain = run_with(&db, "vsctl show", &env, &NoRuntime).unwrap();
    assert!(!plain.output.contains("error:"));
}
