//! Bad input gets a clear error and changes nothing: a table of bad command
//! lines, each with the words its message must contain, and chains whose
//! last command fails.

mod common;

use common::*;
use ctl::db::Db;

fn base() -> (Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev",
        "vsctl add-bond ovsbr0 bond0 dpdk0 dpdk1 vlan_mode=trunk trunks=11,300-304 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1",
        "vsctl add-port ovsbr0 vhuc0 vlan_mode=access tag=300 -- set Interface vhuc0 type=dpdkvhostuserclient options:vhost-server-path=/usr/local/openvswitch/vhuc0",
        "vsctl add-br br1",
        "vsctl add-port br1 p1",
        "vsctl add-br vlan302 ovsbr0 302",
    ] {
        ok(&mut db, &env, line);
    }
    (db, env)
}

/// (command line, substrings the message must contain)
const BAD: &[(&str, &[&str])] = &[
    // names
    ("add-br abcdefghijklmnop", &["\"abcdefghijklmnop\" is not a valid bridge name", "16 characters", "15"]),
    ("add-port ovsbr0 abcdefghijklmnop", &["not a valid port name", "limit is 15"]),
    ("add-bond ovsbr0 b9 e1 abcdefghijklmnopq", &["not a valid interface name"]),
    ("add-port ovsbr0 a/b", &["\"a/b\" is not a valid port name", "\"/\""]),
    ("add-port ovsbr0 'a b'", &["\"a b\" is not a valid port name", "white space"]),
    ("add-port ovsbr0 ..", &["\"..\" is not a valid port name", "reserved"]),
    ("add-port ovsbr0 .", &["reserved"]),
    ("add-port ovsbr0 ''", &["port name must not be empty string"]),
    ("add-br ''", &["bridge name must not be empty string"]),
    // duplicates
    ("add-br ovsbr0", &["cannot create a bridge named ovsbr0 because a bridge named ovsbr0 already exists"]),
    ("add-port br1 vhuc0", &["cannot create a port named vhuc0 because a port named vhuc0 already exists on bridge ovsbr0"]),
    ("add-port br1 ovsbr0", &["cannot create a port named ovsbr0 because a bridge named ovsbr0 already exists"]),
    ("add-br dpdk0", &["cannot create a bridge named dpdk0 because an interface named dpdk0 already exists on bridge ovsbr0"]),
    ("add-bond br1 b9 dpdk0 e5", &["cannot create an interface named dpdk0 because an interface named dpdk0 already exists on bridge ovsbr0"]),
    ("add-bond br1 b9 e5 e5", &["e5", "listed twice"]),
    ("add-port br1 p1", &["cannot create a port named p1 because a port named p1 already exists on bridge br1"]),
    ("--may-exist add-port ovsbr0 p1", &["\"--may-exist add-port ovsbr0 p1\" but p1 is actually attached to bridge br1"]),
    ("--may-exist add-bond ovsbr0 bond0 dpdk0 dpdk9", &["but bond0 actually has interface(s) dpdk0, dpdk1"]),
    // VLANs
    ("add-port ovsbr0 p9 tag=0", &["VLAN 0"]),
    ("add-port ovsbr0 p9 tag=4095", &["VLAN 4095 is out of range"]),
    ("add-port ovsbr0 p9 tag=4096", &["VLAN 4096 is out of range"]),
    ("add-port ovsbr0 p9 tag=-1", &["\"-1\" is not a VLAN list"]),
    ("add-port ovsbr0 p9 trunks=5-2", &["VLAN range 5-2 is reversed"]),
    ("add-port ovsbr0 p9 trunks=4095", &["VLAN 4095 is out of range"]),
    ("add-port ovsbr0 p9 trunks=1,x", &["\"x\" is not a VLAN list"]),
    ("add-br child ovsbr0 4095", &["VLAN 4095 is out of range"]),
    ("add-br child ovsbr0 0", &["VLAN 0"]),
    ("add-br child ovsbr0 302", &["bridge ovsbr0 already has a child VLAN bridge vlan302 on VLAN 302"]),
    ("add-br child nosuch 10", &["parent bridge nosuch does not exist"]),
    ("add-br child vlan302 10", &["cannot create bridge with fake bridge as parent"]),
    ("add-port ovsbr0 child tag=302 fake_bridge=true", &["bridge ovsbr0 already has a child VLAN bridge vlan302 on VLAN 302"]),
    ("add-br child ovsbr0", &["'add-br' command takes exactly 1 or 3 arguments"]),
    ("set port vhuc0 vlan_mode=dot1q-tunnel", &["\"dot1q-tunnel\" is not a vlan_mode"]),
    ("set port bond0 vlan_mode=access", &["port bond0", "vlan_mode=access needs a tag"]),
    ("set port vhuc0 vlan_mode=native-tagged -- clear port vhuc0 tag", &["vlan_mode=native-tagged needs a tag"]),
    // bonds and LACP
    ("add-bond ovsbr0 b9 e1 e2 bond_mode=balance-rr", &["balance-rr is not one of the allowed values", "active-backup, balance-slb, balance-tcp"]),
    ("add-port ovsbr0 p9 lacp=active", &["port p9: lacp=active needs a bond of at least 2 interfaces"]),
    ("set port vhuc0 lacp=passive", &["port vhuc0: lacp=passive needs a bond"]),
    ("set port bond0 lacp=sometimes", &["sometimes is not one of the allowed values", "active, off, passive"]),
    ("add-bond ovsbr0 b9 e1 lacp=active", &["add-bond requires at least 2 interfaces, but only 1 were specified"]),
    ("add-bond ovsbr0 b9 e1", &["'add-bond' command requires at least 4 arguments"]),
    ("del-bond-iface bond0 dpdk0 -- del-bond-iface bond0 dpdk1", &["cannot delete last interface from port bond0"]),
    ("set port bond0 other_config:lacp-time=medium", &["port bond0: other_config:lacp-time=\"medium\" is not valid (expected fast or slow)"]),
    ("set port bond0 other_config:bond-miimon-interval=0", &["other_config:bond-miimon-interval=0 is out of range"]),
    ("set port bond0 other_config:bond-miimon-interval=abc", &["other_config:bond-miimon-interval=\"abc\" is not an integer"]),
    ("set port bond0 other_config:bond-detect-mode=arp", &["bond-detect-mode", "carrier or miimon"]),
    ("set port bond0 other_config:lacp-system-priority=70000", &["lacp-system-priority=70000 is out of range (1 to 65535)"]),
    ("set port bond0 other_config:lacp-system-id=01:00:00:00:00:01", &["lacp-system-id", "unicast"]),
    ("set port bond0 bond_updelay=-5", &["bond_updelay must not be negative"]),
    ("set port bond0 bond_updelay=abc", &["\"abc\" is not a valid integer"]),
    ("set interface dpdk0 other_config:lacp-port-id=0", &["interface dpdk0: other_config:lacp-port-id=0 is out of range"]),
    // OVS keys rvswitch does not implement
    ("set open_vswitch . other_config:pmd-auto-lb=true", &["other_config:pmd-auto-lb is not supported by rvswitch (no automatic PMD load balancing)"]),
    ("set open_vswitch . other_config:userspace-tso-enable=true", &["other_config:userspace-tso-enable is not supported by rvswitch ("]),
    ("set interface dpdk0 other_config:tx-steering=hash", &["interface dpdk0: other_config:tx-steering is not supported by rvswitch ("]),
    // receive-queue placement
    ("set interface dpdk0 other_config:pmd-rxq-affinity=0", &["interface dpdk0: other_config:pmd-rxq-affinity=\"0\": \"0\" is not QUEUE:CORE (such as 0:3,1:7)"]),
    ("set interface dpdk0 other_config:pmd-rxq-affinity=0:x", &["other_config:pmd-rxq-affinity=\"0:x\"", "core id \"x\" is not a non-negative integer"]),
    ("set interface dpdk0 other_config:pmd-rxq-affinity=-1:2", &["queue id \"-1\" is not a non-negative integer"]),
    ("set interface dpdk0 other_config:pmd-rxq-affinity=\"0:1,0:2\"", &["queue 0 is pinned twice"]),
    ("set interface dpdk0 other_config:pmd-rxq-affinity=70000:1", &["queue id is above 65535"]),
    ("set open_vswitch . other_config:pmd-rxq-assign=random", &["other_config:pmd-rxq-assign=\"random\" is not valid (expected roundrobin or cycles or group)"]),
    ("set open_vswitch . other_config:pmd-rxq-isolate=no", &["other_config:pmd-rxq-isolate=\"no\" is not valid (expected true or false)"]),
    ("set open_vswitch . other_config:pmd-rxq-isolate=false", &["other_config:pmd-rxq-isolate=false needs other_config:pmd-rxq-assign=group (with cycles,"]),
    ("set open_vswitch . other_config:pmd-rxq-isolate=false other_config:pmd-rxq-assign=roundrobin", &["pmd-rxq-isolate=false needs other_config:pmd-rxq-assign=group (with roundrobin,"]),
    ("set open_vswitch . other_config:pmd-auto-lb-load-threshold=70", &["other_config:pmd-auto-lb-load-threshold is not supported by rvswitch (no automatic PMD load balancing)"]),
    ("set bridge ovsbr0 other_config:stp-priority=4096", &["bridge ovsbr0: other_config:stp-priority is not supported by rvswitch ("]),
    ("set port bond0 other_config:rstp-enable=true", &["port bond0: other_config:rstp-enable is not supported by rvswitch ("]),
    // interfaces, devices and paths
    ("add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient options:vhost-server-path=/tmp", &["\"/tmp\" is a directory"]),
    ("add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient options:vhost-server-path=/", &["is a directory"]),
    ("add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient options:vhost-server-path=vhu.sock", &["must be an absolute path"]),
    ("add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient", &["type=dpdkvhostuserclient needs options:vhost-server-path"]),
    ("add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient options:vhost-server-path=/usr/local/openvswitch/vhuc0", &["vhost-server-path /usr/local/openvswitch/vhuc0 is already used by interface vhuc0"]),
    ("add-port ovsbr0 d9 -- set interface d9 type=dpdk", &["type=dpdk needs options:dpdk-devargs"]),
    ("add-port ovsbr0 d9 -- set interface d9 type=dpdk options:dpdk-devargs=0000:02:00.0", &["0000:02:00.0", "host's own network interfaces"]),
    ("add-port ovsbr0 d9 -- set interface d9 type=dpdk options:dpdk-devargs=02:00.0", &["0000:02:00.0", "host's own"]),
    ("add-port ovsbr0 d9 -- set interface d9 type=dpdk options:dpdk-devargs=0000:0f:00.0", &["interface d9", "no PCI device 0000:0f:00.0"]),
    ("add-port ovsbr0 d9 -- set interface d9 type=dpdk options:dpdk-devargs=0000:08:00.0", &["dpdk-devargs 0000:08:00.0 is already used by interface dpdk0"]),
    ("set interface dpdk0 options:n_rxq_desc=1000", &["options:n_rxq_desc=1000 is not valid", "power of 2"]),
    ("set interface dpdk0 options:n_rxq=0", &["options:n_rxq=0 is not valid"]),
    ("set interface dpdk0 options:frob=1", &["options:frob is not supported", "dpdk-devargs"]),
    ("set interface dpdk0 options:vhost-server-path=/x", &["options:vhost-server-path does not apply to type=dpdk"]),
    ("set interface vhuc0 type=vxlan", &["interface type \"vxlan\" is not supported", "dpdk, dpdkvhostuser, dpdkvhostuserclient, internal"]),
    ("set interface vhuc0 type=dpdkvhostuser", &["interface vhuc0: options:vhost-server-path does not apply to type=dpdkvhostuser", "<other_config:vhost-sock-dir>/vhuc0"]),
    // vhost-user server ports and where their sockets go
    ("add-port ovsbr0 vs9 -- set interface vs9 type=dpdkvhostuser -- set open_vswitch . other_config:vhost-sock-dir=nosuch", &["directory /run/rvswitch/nosuch does not exist", "relative to the daemon's run directory /run/rvswitch"]),
    ("set open_vswitch . other_config:vhost-sock-dir=nosuch", &["other_config:vhost-sock-dir=\"nosuch\": the directory /run/rvswitch/nosuch does not exist"]),
    ("set open_vswitch . other_config:vhost-sock-dir=vhost/../..", &["vhost-sock-dir=\"vhost/../..\" must not contain \"..\""]),
    ("add-port ovsbr0 'a\\b' -- set interface 'a\\b' type=dpdkvhostuser", &["\"a\\b\" is not a valid name for a vhost-user server port", "'\\'"]),
    ("add-port ovsbr0 vs9 -- set interface vs9 type=dpdkvhostuser -- set open_vswitch . other_config:vhost-sock-dir=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &["interface vs9: the socket path /run/rvswitch/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/vs9 is 118 bytes long", "at most 107"]),
    ("add-port ovsbr0 vs9 -- set interface vs9 type=dpdkvhostuser options:n_rxq=2", &["interface vs9: options:n_rxq does not apply to type=dpdkvhostuser"]),
    ("add-port ovsbr0 vs9 -- set interface vs9 type=dpdkvhostuser -- add-port ovsbr0 v9 -- set interface v9 type=dpdkvhostuserclient options:vhost-server-path=/run/rvswitch/vs9", &["interface v9: vhost-server-path /run/rvswitch/vs9 is the socket of vhost-user server port vs9"]),
    ("set open_vswitch . other_config:vhost-sock-mode=888", &["other_config:vhost-sock-mode=\"888\" is not valid", "octal"]),
    ("set open_vswitch . other_config:vhost-sock-mode=4770", &["vhost-sock-mode=\"4770\" is not valid"]),
    ("set open_vswitch . other_config:vhost-sock-owner=a:b:c", &["other_config:vhost-sock-owner=\"a:b:c\" is not valid", "USER:GROUP"]),
    ("set open_vswitch . other_config:vhost-sock-owner=nobody-here", &["vhost-sock-owner: there is no user \"nobody-here\" on this host"]),
    ("set open_vswitch . other_config:vhost-sock-owner=libvirt-qemu:nogroup-x", &["there is no group \"nogroup-x\" on this host"]),
    ("set interface vhuc0 mtu_request=20", &["mtu_request=20 is out of range (68 to 9710)"]),
    ("set interface vhuc0 mtu_request=12x", &["\"12x\" is not a valid integer"]),
    ("set interface vhuc0 mac=zz:zz", &["\"zz:zz\" is not a MAC address"]),
    ("set interface vhuc0 admin_state=sideways", &["sideways is not one of the allowed values"]),
    ("set interface vhuc0 mtu=9000", &["cannot modify read-only column mtu in table Interface"]),
    ("set bridge ovsbr0 name=x", &["cannot modify read-only column name in table Bridge"]),
    ("set bridge ovsbr0 ports=[]", &["use add-port and del-port"]),
    ("clear port bond0 interfaces", &["cannot modify column interfaces of table Port directly"]),
    ("set bridge ovsbr0 datapath_type=system", &["datapath_type=system is not supported", "userspace datapath"]),
    ("set bridge ovsbr0 other_config:hwaddr=01:00:00:00:00:01", &["hwaddr", "unicast"]),
    ("set bridge ovsbr0 other_config:mac-aging-time=soon", &["mac-aging-time=\"soon\" is not an integer"]),
    // globals
    ("set Open_vSwitch . other_config:pmd-cpu-mask=xyz", &["pmd-cpu-mask", "not a hexadecimal CPU mask"]),
    ("set Open_vSwitch . other_config:pmd-cpu-mask=0x0", &["pmd-cpu-mask=0x0 selects no CPU"]),
    ("set Open_vSwitch . other_config:dpdk-init=maybe", &["dpdk-init=\"maybe\" is not valid"]),
    ("set Open_vSwitch . other_config:dpdk-socket-mem=lots", &["dpdk-socket-mem"]),
    ("set Open_vSwitch . ovs_version=9", &["read-only column ovs_version"]),
    // unknown things and syntax
    ("set interface eth9 type=dpdk", &["no row \"eth9\" in table Interface"]),
    ("get bridge nosuch name", &["no row \"nosuch\" in table Bridge"]),
    ("set Frobnicate x a=b", &["unknown table \"Frobnicate\""]),
    ("list Controller", &["unknown table \"Controller\""]),
    ("set port vhuc0 colour=red", &["Port does not contain a column whose name matches \"colour\""]),
    ("get interface vhuc0 options:nokey", &["no key \"nokey\" in Interface record \"vhuc0\" column options"]),
    ("get port vhuc0 tag:x", &["cannot specify key to get for non-map column tag"]),
    ("set port vhuc0 tag=", &["tag=: argument does not end in \"=\" followed by a value."]),
    ("set port vhuc0 tag", &["argument does not end in \"=\""]),
    ("set port bond0 trunks=[1,2", &["\"[1\" is not a VLAN list"]),
    ("set port bond0 other_config=lacp-time", &["expecting \"=\""]),
    ("frobnicate", &["unknown command 'frobnicate'; use --help for help"]),
    ("set-controller ovsbr0 tcp:1.2.3.4:6653", &["'set-controller'", "does not support"]),
    ("add-port", &["'add-port' command requires at least 2 arguments"]),
    ("br-exists", &["'br-exists' command requires at least 1 arguments"]),
    ("list-br extra", &["'list-br' command takes at most 0 arguments"]),
    ("--frob list-br", &["unrecognized option '--frob'"]),
    ("--may-exist del-br x", &["'del-br' command has no '--may-exist' option"]),
    ("--", &["missing command name"]),
    // missing objects
    ("del-br nosuch", &["no bridge named nosuch"]),
    ("del-port nosuch", &["no port named nosuch"]),
    ("del-port ovsbr0", &["cannot delete port ovsbr0 because it is the local port for bridge ovsbr0"]),
    ("del-port br1 vhuc0", &["bridge br1 does not have a port vhuc0"]),
    ("add-port nosuch p9", &["no bridge named nosuch"]),
    ("list-ports nosuch", &["no bridge named nosuch"]),
    ("br-to-vlan nosuch", &["no bridge named nosuch"]),
    ("port-to-br nosuch", &["no port named nosuch"]),
    ("port-to-br ovsbr0", &["no port named ovsbr0"]),
    ("iface-to-br nosuch", &["no interface named nosuch"]),
    ("set-fail-mode vlan302 secure", &["vlan302 is a fake bridge"]),
    ("set-fail-mode ovsbr0 sometimes", &["fail-mode must be \"standalone\" or \"secure\""]),
    // runtime command arguments
    ("bond/show nosuch", &["no bond named nosuch"]),
    ("bond/show vhuc0", &["port vhuc0 is not a bond"]),
    ("fdb/show nosuch", &["no bridge named nosuch"]),
    ("fdb/show vlan302", &["vlan302 is a fake bridge", "use ovsbr0"]),
    ("fdb/add ovsbr0 vhuc0 4095 52:54:00:00:00:01", &["VLAN 4095 is out of range"]),
    ("fdb/add ovsbr0 vhuc0 300 52:54:00:00:00", &["\"52:54:00:00:00\" is not a MAC address"]),
    ("fdb/add ovsbr0 vhuc0 300 01:00:5e:00:00:01", &["not a unicast MAC address"]),
    ("fdb/add ovsbr0 p1 300 52:54:00:00:00:01", &["bridge ovsbr0 has no port named p1"]),
    ("fdb/del ovsbr0 x 52:54:00:00:00:01", &["\"x\" is not a VLAN list"]),
    ("dpif-netdev/pmd-stats-show -pmd x", &["invalid PMD core \"x\""]),
    ("dpif-netdev/pmd-rxq-rebalance nosuch", &["please specify an existing datapath"]),
    ("dpif-netdev/pmd-rxq-rebalance ovs-netdev x", &["'dpif-netdev/pmd-rxq-rebalance' command takes at most 1 arguments"]),
];

#[test]
fn bad_inputs_are_rejected_with_specific_messages_and_change_nothing() {
    let (db, env) = base();
    assert!(BAD.len() >= 40, "the table must stay large");
    let before = ok(&mut db.clone(), &env, "vsctl show");
    let mut failures = Vec::new();
    for (line, want) in BAD {
        match run(&db, &env, &format!("vsctl {line}")) {
            Ok(o) => failures.push(format!("{line}: accepted (output {:?})", o.output)),
            Err(e) => {
                for w in *want {
                    if !e.message.contains(w) {
                        failures.push(format!("{line}: message {:?} lacks {:?}", e.message, w));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(ok(&mut db.clone(), &env, "vsctl show"), before);
}

#[test]
fn a_chain_whose_last_command_fails_changes_nothing() {
    let (db, env) = base();
    for line in [
        "vsctl add-br br9 -- add-port br9 p9 -- set port p9 tag=10 -- add-port br9 p1",
        "vsctl del-br br1 -- del-port vhuc0 -- set Open_vSwitch . other_config:pmd-cpu-mask=0x3 -- set interface nosuch type=dpdk",
        "vsctl set port bond0 trunks=12 -- set port bond0 lacp=off -- frobnicate",
        "vsctl add-port ovsbr0 v2 -- set interface v2 type=dpdkvhostuserclient options:vhost-server-path=/var/run/v2 -- set port v2 tag=4095",
        "vsctl del-port bond0 -- add-port ovsbr0 dpdk0 -- set interface dpdk0 type=dpdk options:dpdk-devargs=0000:02:00.0",
    ] {
        let e = err(&db, &env, line);
        assert!(!e.is_empty());
    }
    // The same chains minus the failing command do change the database.
    let out = run(
        &db,
        &env,
        "vsctl add-br br9 -- add-port br9 p9 -- set port p9 tag=10",
    )
    .unwrap();
    let new = out.new_db.expect("changed");
    assert!(new.bridge("br9").is_some());
    assert!(db.bridge("br9").is_none());
}

#[test]
fn read_only_and_no_op_chains_return_no_new_database() {
    let (db, env) = base();
    for line in [
        "vsctl show",
        "vsctl list-br",
        "vsctl get Open_vSwitch . other_config",
        "vsctl --may-exist add-br ovsbr0",
        "vsctl --may-exist add-port br1 p1",
        "vsctl --if-exists del-port nosuch",
        "vsctl --if-exists del-br nosuch",
        "vsctl add-br br9 -- del-br br9",
        "vsctl set port vhuc0 tag=300",
        "vsctl --dry-run add-br br9",
        "vsctl init",
    ] {
        let out = run(&db, &env, line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(out.new_db.is_none(), "{line} reported a change");
    }
}

#[test]
fn br_exists_exit_codes() {
    let (db, env) = base();
    assert_eq!(
        run(&db, &env, "vsctl br-exists ovsbr0").unwrap().exit_code,
        0
    );
    assert_eq!(
        run(&db, &env, "vsctl br-exists vlan302").unwrap().exit_code,
        0
    );
    let out = run(&db, &env, "vsctl add-br br9 -- br-exists nosuch").unwrap();
    assert_eq!(out.exit_code, 2);
    assert!(out.new_db.is_none(), "exit 2 aborts the chain");
}

#[test]
fn host_checks_apply_to_changed_interfaces_only() {
    let (db, mut env) = base();
    // The host later brings 0000:08:00.0 up as a kernel NIC: the existing
    // interface does not block unrelated changes...
    env.host_nics.insert("0000:08:00.0".into());
    let out = run(&db, &env, "vsctl add-port br1 p2").unwrap();
    assert!(out.new_db.is_some());
    // ...but touching that interface's options re-checks it.
    let e = err(&db, &env, "vsctl set interface dpdk0 options:n_rxq=2");
    assert!(e.contains("host's own"), "{e}");
}
