//! Whole-database validation, run when a transaction commits (and when a
//! configuration file is loaded). A chain of commands is accepted only if
//! the database it produces passes every check here; the first failure is
//! the `vsctl: <reason>` message.
//!
//! Checks that ask the host ([`Env`]: is this PCI device the host's own
//! NIC, is this path a directory) run only for interfaces that are new or
//! whose type or options changed, so a later change on the host cannot
//! lock the configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datapath::rxq_sched::parse_affinity;
use datapath::wire::MacAddr;

use crate::db::{
    parse_cpu_mask, Bridge, Db, IfaceType, Interface, LacpMode, Port, RxqAssign, StrMap,
    MAX_NAME_LEN,
};
use crate::env::{normalize_pci, Env};
use crate::value::parse_i64;
use crate::vhost_sock;

/// Smallest MTU rvswitch accepts (`RTE_ETHER_MIN_MTU`).
pub const MIN_MTU: i64 = 68;
/// Largest MTU rvswitch accepts (9728-byte frames, as OVS-DPDK).
pub const MAX_MTU: i64 = 9710;
pub use crate::vhost_sock::MAX_SOCKET_PATH;

/// Check a bridge, port or interface name.
pub fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("\"{name}\" is not a valid {kind} name: {why}"));
    if name.is_empty() {
        return Err(format!("{kind} name must not be empty string"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad(&format!(
            "it is {} characters long, the limit is {MAX_NAME_LEN}",
            name.chars().count()
        ));
    }
    if name == "." || name == ".." {
        return bad("\".\" and \"..\" are reserved");
    }
    if name.contains('/') {
        return bad("it contains \"/\"");
    }
    if name.chars().any(|c| c.is_whitespace()) {
        return bad("it contains white space");
    }
    if name.chars().any(|c| c.is_control()) {
        return bad("it contains control characters");
    }
    Ok(())
}

fn int_in(m: &StrMap, key: &str, lo: i64, hi: i64, what: &str) -> Result<(), String> {
    if let Some(v) = m.get(key) {
        match parse_i64(v) {
            Some(i) if (lo..=hi).contains(&i) => {}
            Some(_) => {
                return Err(format!(
                    "{what}other_config:{key}={v} is out of range ({lo} to {hi})"
                ))
            }
            None => {
                return Err(format!(
                    "{what}other_config:{key}=\"{v}\" is not an integer"
                ))
            }
        }
    }
    Ok(())
}

fn one_of(m: &StrMap, key: &str, allowed: &[&str], what: &str) -> Result<(), String> {
    if let Some(v) = m.get(key) {
        if !allowed.contains(&v.as_str()) {
            return Err(format!(
                "{what}other_config:{key}=\"{v}\" is not valid (expected {})",
                allowed.join(" or ")
            ));
        }
    }
    Ok(())
}

fn mac_key(m: &StrMap, key: &str, what: &str) -> Result<(), String> {
    if let Some(v) = m.get(key) {
        let mac: MacAddr = v
            .parse()
            .map_err(|e| format!("{what}other_config:{key}: {e}"))?;
        if !mac.is_unicast() {
            return Err(format!(
                "{what}other_config:{key}={v} must be a nonzero unicast MAC address"
            ));
        }
    }
    Ok(())
}

fn check_globals(db: &Db) -> Result<(), String> {
    let m = &db.other_config;
    for key in ["pmd-cpu-mask", "dpdk-lcore-mask"] {
        if let Some(v) = m.get(key) {
            let cpus = parse_cpu_mask(v).map_err(|e| format!("other_config:{key}: {e}"))?;
            if cpus.is_empty() {
                return Err(format!("other_config:{key}={v} selects no CPU"));
            }
        }
    }
    one_of(m, "dpdk-init", &["true", "false", "try"], "")?;
    one_of(m, "vhost-iommu-support", &["true", "false"], "")?;
    crate::vhost_sock::check_syntax(db)?;
    crate::metrics::listen_addr(m)?;
    one_of(m, "pmd-rxq-assign", RxqAssign::NAMES, "")?;
    one_of(m, "pmd-rxq-isolate", &["true", "false"], "")?;
    if !db.rxq_settings().isolate && db.rxq_settings().assign != RxqAssign::Group {
        return Err(format!(
            "other_config:pmd-rxq-isolate=false needs other_config:pmd-rxq-assign=group (with {}, a core with a pinned receive queue polls no other, as in OVS)",
            db.rxq_settings().assign
        ));
    }
    if let Some(v) = m.get("dpdk-socket-mem") {
        if v.is_empty() || !v.split(',').all(|x| parse_i64(x).is_some_and(|n| n >= 0)) {
            return Err(format!(
                "other_config:dpdk-socket-mem=\"{v}\" is not a list of megabytes per NUMA node (such as 1024,1024)"
            ));
        }
    }
    Ok(())
}

fn check_bridge(br: &Bridge) -> Result<(), String> {
    let what = format!("bridge {}: ", br.name);
    if !matches!(br.datapath_type.as_str(), "" | "netdev") {
        return Err(format!(
            "{what}datapath_type=\"{}\" is not supported: rvswitch has only the userspace datapath (use datapath_type=netdev)",
            br.datapath_type
        ));
    }
    mac_key(&br.other_config, "hwaddr", &what)?;
    int_in(
        &br.other_config,
        "mac-aging-time",
        1,
        i64::from(u32::MAX),
        &what,
    )?;
    int_in(
        &br.other_config,
        "mac-table-size",
        1,
        i64::from(u32::MAX),
        &what,
    )?;
    Ok(())
}

fn check_port(port: &Port) -> Result<(), String> {
    let what = format!("port {}: ", port.name);
    if port.interfaces.is_empty() {
        return Err(format!("{what}a port needs at least one interface"));
    }
    port.port_vlan().map_err(|e| format!("{what}{e}"))?;
    if port.lacp_mode() != LacpMode::Off && port.interfaces.len() < 2 {
        return Err(format!(
            "{what}lacp={} needs a bond of at least 2 interfaces (rvswitch runs LACP only on bonds; use add-bond)",
            port.lacp_mode().as_str()
        ));
    }
    if port.bond_updelay < 0 {
        return Err(format!("{what}bond_updelay must not be negative"));
    }
    if port.bond_downdelay < 0 {
        return Err(format!("{what}bond_downdelay must not be negative"));
    }
    let m = &port.other_config;
    one_of(m, "lacp-time", &["fast", "slow"], &what)?;
    one_of(m, "lacp-fallback-ab", &["true", "false"], &what)?;
    one_of(m, "bond-detect-mode", &["carrier", "miimon"], &what)?;
    mac_key(m, "lacp-system-id", &what)?;
    int_in(m, "lacp-system-priority", 1, 65535, &what)?;
    int_in(m, "bond-miimon-interval", 1, i64::from(i32::MAX), &what)?;
    int_in(m, "bond-rebalance-interval", 0, i64::from(i32::MAX), &what)?;
    int_in(m, "bond-hash-basis", i64::MIN, i64::MAX, &what)?;
    Ok(())
}

const DPDK_OPTIONS: &[&str] = &["dpdk-devargs", "n_rxq", "n_rxq_desc", "n_txq_desc"];
const VHOST_OPTIONS: &[&str] = &["vhost-server-path"];

fn check_interface(iface: &Interface) -> Result<(), String> {
    let what = format!("interface {}: ", iface.name);
    let allowed: &[&str] = match iface.iface_type {
        IfaceType::Dpdk => DPDK_OPTIONS,
        IfaceType::DpdkVhostUserClient => VHOST_OPTIONS,
        IfaceType::DpdkVhostUser => {
            if iface.vhost_server_path().is_some() {
                return Err(format!(
                    "{what}options:vhost-server-path does not apply to type=dpdkvhostuser: rvswitch creates the socket <other_config:vhost-sock-dir>/{} (remove the option, or use type=dpdkvhostuserclient to connect to a socket QEMU serves)",
                    iface.name
                ));
            }
            &[]
        }
        IfaceType::Internal => &[],
        // Not opened by rvswitch; accept the options a later type change
        // will need.
        IfaceType::System => &[
            "dpdk-devargs",
            "n_rxq",
            "n_rxq_desc",
            "n_txq_desc",
            "vhost-server-path",
        ],
    };
    for key in iface.options.keys() {
        if !allowed.contains(&key.as_str()) {
            let known =
                DPDK_OPTIONS.contains(&key.as_str()) || VHOST_OPTIONS.contains(&key.as_str());
            let ty = match iface.iface_type.as_str() {
                "" => "\"\"",
                t => t,
            };
            return Err(if known {
                format!("{what}options:{key} does not apply to type={ty}")
            } else if allowed.is_empty() {
                format!("{what}options:{key} is not supported (type={ty} takes no options)")
            } else {
                format!(
                    "{what}options:{key} is not supported (type={ty} accepts {})",
                    allowed.join(", ")
                )
            });
        }
    }
    let opt_int = |key: &str, lo: i64, hi: i64, pow2: bool| -> Result<(), String> {
        if let Some(v) = iface.options.get(key) {
            let Some(n) = parse_i64(v) else {
                return Err(format!("{what}options:{key}=\"{v}\" is not an integer"));
            };
            if !(lo..=hi).contains(&n) || (pow2 && (n as u64).count_ones() != 1) {
                return Err(format!(
                    "{what}options:{key}={v} is not valid (expected {}{lo} to {hi})",
                    if pow2 { "a power of 2 from " } else { "" }
                ));
            }
        }
        Ok(())
    };
    opt_int("n_rxq", 1, 1024, false)?;
    opt_int("n_rxq_desc", 1, 4096, true)?;
    opt_int("n_txq_desc", 1, 4096, true)?;
    match iface.iface_type {
        IfaceType::Dpdk => match iface.dpdk_devargs() {
            None | Some("") => {
                return Err(format!(
                    "{what}type=dpdk needs options:dpdk-devargs (a PCI address such as 0000:08:00.0, or a vdev such as net_pcap0,iface=eth9)"
                ))
            }
            Some(_) => {}
        },
        IfaceType::DpdkVhostUserClient => match iface.vhost_server_path() {
            None | Some("") => {
                return Err(format!(
                    "{what}type=dpdkvhostuserclient needs options:vhost-server-path (the socket QEMU listens on)"
                ))
            }
            Some(p) if !p.starts_with('/') => {
                return Err(format!(
                    "{what}options:vhost-server-path=\"{p}\" must be an absolute path"
                ))
            }
            Some(p) if p.len() > MAX_SOCKET_PATH => {
                return Err(format!(
                    "{what}options:vhost-server-path is {} bytes long; a Unix socket path is at most {MAX_SOCKET_PATH}",
                    p.len()
                ))
            }
            Some(_) => {}
        },
        IfaceType::DpdkVhostUser | IfaceType::Internal | IfaceType::System => {}
    }
    if let Some(m) = iface.mtu_request {
        if !(MIN_MTU..=MAX_MTU).contains(&m) {
            return Err(format!(
                "{what}mtu_request={m} is out of range ({MIN_MTU} to {MAX_MTU})"
            ));
        }
    }
    if let Some(mac) = iface.mac {
        if !mac.is_unicast() {
            return Err(format!(
                "{what}mac={mac} must be a nonzero unicast MAC address"
            ));
        }
    }
    let m = &iface.other_config;
    int_in(m, "lacp-port-id", 1, 65535, &what)?;
    int_in(m, "lacp-port-priority", 1, 65535, &what)?;
    int_in(m, "lacp-aggregation-key", 1, 65535, &what)?;
    if let Some(v) = m.get("pmd-rxq-affinity") {
        parse_affinity(v)
            .map_err(|e| format!("{what}other_config:pmd-rxq-affinity=\"{v}\": {e}"))?;
    }
    Ok(())
}

/// The PCI address in a devargs string (`0000:08:00.0,n_rxq=2` →
/// `0000:08:00.0`), if it starts with one.
pub fn devargs_pci(devargs: &str) -> Option<String> {
    let first = devargs.split(',').next().unwrap_or("").trim();
    normalize_pci(first)
}

fn host_checks(iface: &Interface, env: &dyn Env) -> Result<(), String> {
    let what = format!("interface {}: ", iface.name);
    match iface.iface_type {
        IfaceType::Dpdk => {
            if let Some(pci) = iface.dpdk_devargs().and_then(devargs_pci) {
                if !env.pci_device_exists(&pci) {
                    return Err(format!(
                        "{what}there is no PCI device {pci} on this host (`dpdk-devbind.py --status` lists the NICs)"
                    ));
                }
                if env.is_host_nic(&pci) {
                    return Err(format!(
                        "{what}refusing to take PCI device {pci}: it is one of the host's own network interfaces and it is up (bring it down and bind it to vfio-pci first)"
                    ));
                }
            }
        }
        IfaceType::DpdkVhostUserClient => {
            if let Some(p) = iface.vhost_server_path() {
                if env.is_directory(p) {
                    return Err(format!(
                        "{what}options:vhost-server-path=\"{p}\" is a directory; it must name the socket file QEMU creates"
                    ));
                }
            }
        }
        IfaceType::DpdkVhostUser | IfaceType::Internal | IfaceType::System => {}
    }
    Ok(())
}

/// A `dpdkvhostuser` interface's socket must have a valid path in an
/// existing directory (`vhost-sock-dir` under the daemon's run directory).
fn server_socket_checks(iface: &Interface, db: &Db, env: &dyn Env) -> Result<PathBuf, String> {
    let what = format!("interface {}: ", iface.name);
    let dir = vhost_sock::sock_dir(
        &env.run_dir(),
        db.other_config.get(vhost_sock::KEY_DIR).map(String::as_str),
    )?;
    let path = vhost_sock::sock_path(&dir, &iface.name).map_err(|e| format!("{what}{e}"))?;
    if !dir.to_str().is_some_and(|d| env.is_directory(d)) {
        return Err(format!(
            "{what}the vhost-user socket directory {} does not exist (other_config:{} is relative to the daemon's run directory {}; create the directory first)",
            dir.display(),
            vhost_sock::KEY_DIR,
            env.run_dir().display()
        ));
    }
    Ok(path)
}

/// Validate `new` (the result of a transaction on `old`). `old = None`
/// validates everything, host checks included.
pub fn validate(old: Option<&Db>, new: &Db, env: &dyn Env) -> Result<(), String> {
    check_globals(new)?;

    // Names and the shared namespace.
    let mut bridges: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ports: BTreeMap<&str, &str> = BTreeMap::new(); // port -> bridge
    let mut ifaces: BTreeMap<&str, (&str, &str)> = BTreeMap::new(); // iface -> (bridge, port)
    for (bi, br) in new.bridges.iter().enumerate() {
        check_name("bridge", &br.name)?;
        if bridges.insert(&br.name, bi).is_some() {
            return Err(format!("duplicate bridge name {}", br.name));
        }
    }
    for br in &new.bridges {
        check_bridge(br)?;
        let mut fake_vlans: BTreeMap<u16, &str> = BTreeMap::new();
        for p in br.ports.iter().filter(|p| p.fake_bridge) {
            if let Some(tag) = p.tag {
                if let Some(other) = fake_vlans.insert(tag, &p.name) {
                    return Err(format!(
                        "bridge {} already has a child VLAN bridge {other} on VLAN {tag}",
                        br.name
                    ));
                }
            }
        }
        for port in &br.ports {
            check_name("port", &port.name)?;
            if let Some(other) = ports.insert(&port.name, &br.name) {
                return Err(format!(
                    "cannot create a port named {} because a port named {} already exists on bridge {}",
                    port.name, port.name, other
                ));
            }
            if bridges.contains_key(port.name.as_str()) && port.name != br.name {
                return Err(format!(
                    "cannot create a port named {} because a bridge named {} already exists",
                    port.name, port.name
                ));
            }
            check_port(port)?;
            for iface in &port.interfaces {
                check_name("interface", &iface.name)?;
                if let Some((b, _)) = ifaces.insert(&iface.name, (&br.name, &port.name)) {
                    return Err(format!(
                        "cannot create an interface named {} because an interface named {} already exists on bridge {}",
                        iface.name, iface.name, b
                    ));
                }
                check_interface(iface)?;
            }
        }
    }
    for (iname, (_, pname)) in &ifaces {
        if let Some(b) = ports.get(iname) {
            if iname != pname {
                return Err(format!(
                    "cannot create an interface named {iname} because a port named {iname} already exists on bridge {b}"
                ));
            }
        }
        if bridges.contains_key(iname) && iname != pname {
            return Err(format!(
                "cannot create an interface named {iname} because a bridge named {iname} already exists"
            ));
        }
    }

    // Record ids are unique.
    let mut ids = std::collections::BTreeSet::new();
    ids.insert(new.uuid);
    for br in &new.bridges {
        let port_ids = br.ports.iter().map(|p| p.uuid);
        let iface_ids = br
            .ports
            .iter()
            .flat_map(|p| p.interfaces.iter().map(|i| i.uuid));
        for id in std::iter::once(br.uuid).chain(port_ids).chain(iface_ids) {
            if !ids.insert(id) {
                return Err(format!("duplicate record id {id}"));
            }
        }
    }
    let qos_ids = new.qos.iter().map(|q| q.uuid);
    for id in qos_ids.chain(new.queues.iter().map(|q| q.uuid)) {
        if !ids.insert(id) {
            return Err(format!("duplicate record id {id}"));
        }
    }

    // QoS: references resolve, rows hold what rvswitch enforces.
    crate::qos::check_references(old, new)?;
    crate::qos::check_rows(new)?;

    // Devices may be used once.
    let mut devargs: BTreeMap<String, &str> = BTreeMap::new();
    let mut vhost: BTreeMap<String, &str> = BTreeMap::new();
    for (_, _, iface) in new.interfaces() {
        match iface.iface_type {
            IfaceType::Dpdk => {
                if let Some(d) = iface.dpdk_devargs() {
                    let key = devargs_pci(d)
                        .unwrap_or_else(|| d.split(',').next().unwrap_or(d).to_string());
                    if let Some(other) = devargs.insert(key.clone(), &iface.name) {
                        return Err(format!(
                            "interface {}: dpdk-devargs {key} is already used by interface {other}",
                            iface.name
                        ));
                    }
                }
            }
            IfaceType::DpdkVhostUserClient => {
                if let Some(p) = iface.vhost_server_path() {
                    if let Some(other) = vhost.insert(p.to_string(), &iface.name) {
                        return Err(format!(
                            "interface {}: vhost-server-path {p} is already used by interface {other}",
                            iface.name
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    // Host checks for new or changed interfaces (and every vhost-user
    // server port when where their sockets go changed).
    let sock_settings_changed =
        |key: &str| old.is_some_and(|o| o.other_config.get(key) != new.other_config.get(key));
    if let Some(old) = old {
        let mut server_paths: BTreeMap<String, &str> = BTreeMap::new();
        for (_, _, iface) in new.interfaces() {
            if iface.iface_type != IfaceType::DpdkVhostUser {
                continue;
            }
            let was = old
                .interfaces()
                .any(|(_, _, i)| i.uuid == iface.uuid && i.iface_type == iface.iface_type);
            let path = if !was || sock_settings_changed(vhost_sock::KEY_DIR) {
                server_socket_checks(iface, new, env)?
            } else {
                let dir = vhost_sock::sock_dir(
                    &env.run_dir(),
                    new.other_config
                        .get(vhost_sock::KEY_DIR)
                        .map(String::as_str),
                )?;
                dir.join(&iface.name)
            };
            server_paths.insert(path.to_string_lossy().into_owned(), &iface.name);
        }
        for (p, name) in server_paths {
            if let Some(other) = vhost.get(&p) {
                return Err(format!(
                    "interface {other}: vhost-server-path {p} is the socket of vhost-user server port {name}"
                ));
            }
        }
        if sock_settings_changed(vhost_sock::KEY_DIR) {
            if let Some(v) = new.other_config.get(vhost_sock::KEY_DIR) {
                let dir = vhost_sock::sock_dir(&env.run_dir(), Some(v))?;
                if !dir.to_str().is_some_and(|d| env.is_directory(d)) {
                    return Err(format!(
                        "other_config:{}=\"{v}\": the directory {} does not exist (the setting is relative to the daemon's run directory {}; create the directory first)",
                        vhost_sock::KEY_DIR,
                        dir.display(),
                        env.run_dir().display()
                    ));
                }
            }
        }
        if sock_settings_changed(vhost_sock::KEY_OWNER) {
            if let Some(v) = new.other_config.get(vhost_sock::KEY_OWNER) {
                vhost_sock::resolve_owner(&vhost_sock::parse_owner(v)?, env)?;
            }
        }
    }
    for (_, _, iface) in new.interfaces() {
        let unchanged = old
            .and_then(|o| o.interfaces().find(|(_, _, i)| i.uuid == iface.uuid))
            .is_some_and(|(_, _, i)| {
                i.iface_type == iface.iface_type && i.options == iface.options
            });
        if !unchanged {
            host_checks(iface, env)?;
            // Not when loading (no old database): a saved configuration
            // stays loadable, and such an interface shows the reason in
            // its `error` column instead.
            if old.is_some() {
                check_memif(iface)?;
            }
        }
    }
    // Not when loading: a saved configuration always loads.
    if let Some(old) = old {
        crate::ovs_keys::check(old, new)?;
    }
    Ok(())
}

/// A memif device must be served by rvswitch (`role=server` in its
/// devargs): DPDK 22.11's client role (also its default) never re-dials a
/// peer that went away. The daemon refuses the other memif options it does
/// not know in the interface's `error` column.
fn check_memif(iface: &Interface) -> Result<(), String> {
    let Some(d) = iface
        .dpdk_devargs()
        .filter(|_| iface.iface_type == IfaceType::Dpdk)
    else {
        return Ok(());
    };
    let mut parts = d.split(',').map(str::trim);
    if !parts.next().is_some_and(|n| n.starts_with("net_memif")) {
        return Ok(());
    }
    match parts.filter_map(|kv| kv.strip_prefix("role=")).next_back() {
        Some("server") | Some("master") => Ok(()),
        role => Err(format!(
            "interface {}: {d:?}: rvswitch serves memif sockets and needs role=server in dpdk-devargs{} \
             (DPDK's memif client role never re-dials a peer that went away)",
            iface.name,
            if role.is_none() {
                " (DPDK's default is role=client)"
            } else {
                ""
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("port", "vhuc0").is_ok());
        assert!(check_name("port", "abcdefghijklmno").is_ok());
        let e = check_name("port", "abcdefghijklmnop").unwrap_err();
        assert!(e.contains("16 characters") && e.contains("15"), "{e}");
        assert!(check_name("port", "a/b").unwrap_err().contains("\"/\""));
        assert!(check_name("port", "a b")
            .unwrap_err()
            .contains("white space"));
        assert!(check_name("port", "a\u{1}")
            .unwrap_err()
            .contains("control"));
        assert!(check_name("port", "..").unwrap_err().contains("reserved"));
        assert!(check_name("port", "").unwrap_err().contains("empty"));
    }

    #[test]
    fn devargs_pci_extraction() {
        assert_eq!(devargs_pci("0000:08:00.0").as_deref(), Some("0000:08:00.0"));
        assert_eq!(
            devargs_pci("08:00.1,n_rxq=2").as_deref(),
            Some("0000:08:00.1")
        );
        assert_eq!(devargs_pci("net_pcap0,rx_pcap=a.pcap"), None);
    }
}
