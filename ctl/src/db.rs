//! The configuration database: the `Open_vSwitch` root record, bridges,
//! ports and interfaces, as in OVS's `vswitch.ovsschema` but cut down to
//! what rvswitch implements.
//!
//! Records nest (root → bridges → ports → interfaces), so a port belongs to
//! exactly one bridge and an interface to exactly one port; the OVS
//! reference columns (`bridges`, `ports`, `interfaces`) are derived from
//! the nesting. Every record carries a random `_uuid` that is persisted.
//!
//! The typed accessors at the bottom (`Port::lacp_time`, `Interface::n_rxq`,
//! ...) turn the string maps into the values the daemon needs, with OVS's
//! defaults. Values are validated when a transaction commits
//! ([`crate::validate`]), so the accessors only fall back to defaults for
//! keys that are absent.

use std::collections::BTreeMap;

use datapath::bond::BondConfig;
pub use datapath::bond::{BondMode, DetectMode};
use datapath::lacp::{LacpConfig, MemberConfig};
pub use datapath::lacp::{LacpMode, LacpTime};
use datapath::rxq_sched::parse_affinity;
pub use datapath::rxq_sched::{RxqAssign, Settings as RxqSettings};
use datapath::vlan::{PortVlan, VlanConfigError, VlanMode, VlanSet};
use datapath::wire::MacAddr;
use serde::{Deserialize, Serialize};

use crate::uuid::Uuid;

/// A string-to-string map column (`other_config`, `external_ids`, `options`).
pub type StrMap = BTreeMap<String, String>;

/// Longest bridge, port or interface name (Linux `IFNAMSIZ - 1`).
pub const MAX_NAME_LEN: usize = 15;

/// The whole configuration: the `Open_vSwitch` record and everything below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Db {
    /// Record id of the root record.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// Bridges, in creation order.
    #[serde(default)]
    pub bridges: Vec<Bridge>,
    /// Global knobs: `dpdk-init`, `dpdk-lcore-mask`, `pmd-cpu-mask`,
    /// `dpdk-socket-mem`, `dpdk-extra`, `vhost-iommu-support`, and any
    /// other key (stored as-is).
    #[serde(default)]
    pub other_config: StrMap,
    /// For use by external tools.
    #[serde(default)]
    pub external_ids: StrMap,
    /// `QoS` rows (a root table in OVS: a row lives until destroyed,
    /// referenced by a port or not), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qos: Vec<Qos>,
    /// `Queue` rows (a root table too), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<Queue>,
}

/// A `QoS` row: what a port's egress traffic is held to (see
/// [`crate::qos`] for the types rvswitch enforces and their keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qos {
    /// Record id.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// `type`: `linux-htb`, `egress-policer`, `trtcm-policer`, or `""`
    /// (no QoS).
    #[serde(rename = "type", default)]
    pub qos_type: String,
    /// `max-rate`, `min-rate`, `burst` (linux-htb, bits); `cir`, `cbs`,
    /// `eir`, `ebs` (policers, bytes); other keys stored.
    #[serde(default)]
    pub other_config: StrMap,
    /// Queue number → `Queue` row.
    #[serde(default)]
    pub queues: BTreeMap<u32, Uuid>,
    /// For use by external tools (libvirt's `vm-id`, `ifname`).
    #[serde(default)]
    pub external_ids: StrMap,
}

/// A `Queue` row: one output queue of a `QoS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// Record id.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// `dscp` (0..=63): stored; OVS marks only traffic sent to a queue
    /// chosen by OpenFlow, which rvswitch has not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dscp: Option<i64>,
    /// `min-rate`, `max-rate`, `burst` (bits), `priority`; other keys stored.
    #[serde(default)]
    pub other_config: StrMap,
    /// For use by external tools.
    #[serde(default)]
    pub external_ids: StrMap,
}

impl Qos {
    /// A row of type `""` with nothing set.
    pub fn new(uuid: Uuid) -> Qos {
        Qos {
            uuid,
            qos_type: String::new(),
            other_config: StrMap::new(),
            queues: BTreeMap::new(),
            external_ids: StrMap::new(),
        }
    }
}

impl Queue {
    /// A row with nothing set.
    pub fn new(uuid: Uuid) -> Queue {
        Queue {
            uuid,
            dscp: None,
            other_config: StrMap::new(),
            external_ids: StrMap::new(),
        }
    }
}

/// `fail_mode` of a bridge (accepted for compatibility; rvswitch is always
/// a standalone learning switch).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// Learning switch when no controller is connected.
    Standalone,
    /// No flows without a controller.
    Secure,
}

/// A bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    /// Record id.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// Bridge name (also the name of its local port and interface).
    pub name: String,
    /// `""` or `"netdev"`: rvswitch has only the userspace datapath.
    #[serde(default)]
    pub datapath_type: String,
    /// `fail_mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_mode: Option<FailMode>,
    /// `hwaddr`, `mac-aging-time`, `mac-table-size`, other keys stored.
    #[serde(default)]
    pub other_config: StrMap,
    /// For use by external tools.
    #[serde(default)]
    pub external_ids: StrMap,
    /// Ports, in creation order (the local port first).
    #[serde(default)]
    pub ports: Vec<Port>,
}

/// A port: one interface, or a bond of several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Record id.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// Port name.
    pub name: String,
    /// Member interfaces (one unless a bond).
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Access VLAN or native VLAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<u16>,
    /// Trunked VLANs, ascending; empty means all (for a trunk).
    #[serde(default)]
    pub trunks: Vec<u16>,
    /// `vlan_mode`; `None` picks access with a tag, trunk without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_mode: Option<VlanMode>,
    /// `bond_mode`; `None` means active-backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond_mode: Option<BondMode>,
    /// `lacp`; `None` means off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacp: Option<LacpMode>,
    /// Milliseconds a member must stay up before it is enabled.
    #[serde(default)]
    pub bond_updelay: i64,
    /// Milliseconds a member must stay down before it is disabled.
    #[serde(default)]
    pub bond_downdelay: i64,
    /// Accepted for compatibility; rvswitch creates no fake interface.
    #[serde(default)]
    pub bond_fake_iface: bool,
    /// This port is the fake bridge (VLAN bridge) of the same name.
    #[serde(default)]
    pub fake_bridge: bool,
    /// `lacp-time`, `lacp-system-id`, `lacp-system-priority`,
    /// `lacp-fallback-ab`, `bond-detect-mode`, `bond-miimon-interval`,
    /// `bond-rebalance-interval`, `bond-primary`, `bond-hash-basis`.
    #[serde(default)]
    pub other_config: StrMap,
    /// For use by external tools.
    #[serde(default)]
    pub external_ids: StrMap,
    /// `qos`: the `QoS` row its egress traffic is held to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<Uuid>,
}

/// `type` of an interface.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IfaceType {
    /// `""`: an OVS "system" (kernel) interface. rvswitch has no kernel
    /// datapath, so such an interface is stored but not opened: the daemon
    /// reports an `error` on it until its type is set to a supported one.
    #[serde(rename = "")]
    System,
    /// `internal`: the bridge's local port (and fake bridges).
    #[serde(rename = "internal")]
    Internal,
    /// `dpdk`: a DPDK ethdev from `options:dpdk-devargs`.
    #[serde(rename = "dpdk")]
    Dpdk,
    /// `dpdkvhostuserclient`: vhost-user client on `options:vhost-server-path`.
    #[serde(rename = "dpdkvhostuserclient")]
    DpdkVhostUserClient,
    /// `dpdkvhostuser`: vhost-user server; rvswitch creates the socket
    /// `<vhost-sock-dir>/<name>` (see [`crate::vhost_sock`]).
    #[serde(rename = "dpdkvhostuser")]
    DpdkVhostUser,
}

impl IfaceType {
    /// OVS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            IfaceType::System => "",
            IfaceType::Internal => "internal",
            IfaceType::Dpdk => "dpdk",
            IfaceType::DpdkVhostUserClient => "dpdkvhostuserclient",
            IfaceType::DpdkVhostUser => "dpdkvhostuser",
        }
    }

    /// Parse the OVS spelling; `None` for types rvswitch does not support.
    pub fn parse(s: &str) -> Option<IfaceType> {
        Some(match s {
            "" => IfaceType::System,
            "internal" => IfaceType::Internal,
            "dpdk" => IfaceType::Dpdk,
            "dpdkvhostuserclient" => IfaceType::DpdkVhostUserClient,
            "dpdkvhostuser" => IfaceType::DpdkVhostUser,
            _ => return None,
        })
    }

    /// The types rvswitch supports, for error messages and `iface_types`.
    pub const SUPPORTED: &'static [&'static str] =
        &["dpdk", "dpdkvhostuser", "dpdkvhostuserclient", "internal"];
}

/// `admin_state` of an interface (configurable in rvswitch; read-only in OVS).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminState {
    /// Forwarding.
    Up,
    /// Not forwarding; the link stays configured.
    Down,
}

impl AdminState {
    /// OVS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AdminState::Up => "up",
            AdminState::Down => "down",
        }
    }
}

/// An interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Record id.
    #[serde(rename = "_uuid")]
    pub uuid: Uuid,
    /// Interface name.
    pub name: String,
    /// `type`.
    #[serde(rename = "type", default = "default_iface_type")]
    pub iface_type: IfaceType,
    /// `dpdk-devargs`, `vhost-server-path`, `n_rxq`, `n_rxq_desc`, `n_txq_desc`.
    #[serde(default)]
    pub options: StrMap,
    /// Requested MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu_request: Option<i64>,
    /// Administrative state; `None` means up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_state: Option<AdminState>,
    /// Requested MAC address (internal interfaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// `lacp-port-id`, `lacp-port-priority`, `lacp-aggregation-key`; other
    /// keys (such as `enable-vlan-splinters`) are stored and ignored.
    #[serde(default)]
    pub other_config: StrMap,
    /// For use by external tools (libvirt's `iface-id`, `attached-mac`, ...).
    #[serde(default)]
    pub external_ids: StrMap,
    /// `ingress_policing_rate`, kbit/s (1000 bit/s); 0 (the default): no
    /// policing. See [`Interface::ingress_policing`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ingress_policing_rate: i64,
    /// `ingress_policing_burst`, kbit (1000 bits); 0: OVS's default.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ingress_policing_burst: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn default_iface_type() -> IfaceType {
    IfaceType::System
}

/// A fake (VLAN) bridge: a port of `parent` with `fake_bridge=true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeBridge {
    /// Its name (= the port's name).
    pub name: String,
    /// The real bridge it lives on.
    pub parent: String,
    /// Its VLAN (= the port's tag).
    pub vlan: u16,
}

impl Db {
    /// An empty database with root record id `uuid`.
    pub fn new(uuid: Uuid) -> Db {
        Db {
            uuid,
            bridges: Vec::new(),
            other_config: StrMap::new(),
            external_ids: StrMap::new(),
            qos: Vec::new(),
            queues: Vec::new(),
        }
    }

    /// The `QoS` row with record id `uuid`.
    pub fn qos_row(&self, uuid: Uuid) -> Option<&Qos> {
        self.qos.iter().find(|q| q.uuid == uuid)
    }

    /// The `Queue` row with record id `uuid`.
    pub fn queue_row(&self, uuid: Uuid) -> Option<&Queue> {
        self.queues.iter().find(|q| q.uuid == uuid)
    }

    /// The real bridge called `name`.
    pub fn bridge(&self, name: &str) -> Option<&Bridge> {
        self.bridges.iter().find(|b| b.name == name)
    }

    /// Index of the real bridge called `name`.
    pub fn bridge_index(&self, name: &str) -> Option<usize> {
        self.bridges.iter().position(|b| b.name == name)
    }

    /// The port called `name` and its bridge.
    pub fn port(&self, name: &str) -> Option<(&Bridge, &Port)> {
        self.bridges
            .iter()
            .find_map(|b| b.ports.iter().find(|p| p.name == name).map(|p| (b, p)))
    }

    /// (bridge, port) indices of the port called `name`.
    pub fn port_index(&self, name: &str) -> Option<(usize, usize)> {
        self.bridges.iter().enumerate().find_map(|(bi, b)| {
            b.ports
                .iter()
                .position(|p| p.name == name)
                .map(|pi| (bi, pi))
        })
    }

    /// The interface called `name` with its bridge and port.
    pub fn interface(&self, name: &str) -> Option<(&Bridge, &Port, &Interface)> {
        self.interfaces().find(|(_, _, i)| i.name == name)
    }

    /// (bridge, port, interface) indices of the interface called `name`.
    pub fn interface_index(&self, name: &str) -> Option<(usize, usize, usize)> {
        for (bi, b) in self.bridges.iter().enumerate() {
            for (pi, p) in b.ports.iter().enumerate() {
                if let Some(ii) = p.interfaces.iter().position(|i| i.name == name) {
                    return Some((bi, pi, ii));
                }
            }
        }
        None
    }

    /// Every port with its bridge.
    pub fn ports(&self) -> impl Iterator<Item = (&Bridge, &Port)> {
        self.bridges
            .iter()
            .flat_map(|b| b.ports.iter().map(move |p| (b, p)))
    }

    /// Every interface with its bridge and port.
    pub fn interfaces(&self) -> impl Iterator<Item = (&Bridge, &Port, &Interface)> {
        self.ports()
            .flat_map(|(b, p)| p.interfaces.iter().map(move |i| (b, p, i)))
    }

    /// Every fake bridge, in bridge then port order. As in ovs-vsctl, only
    /// the first fake bridge of a parent for a given VLAN counts.
    pub fn fake_bridges(&self) -> Vec<FakeBridge> {
        let mut out: Vec<FakeBridge> = Vec::new();
        for b in &self.bridges {
            for p in &b.ports {
                if let (true, Some(vlan)) = (p.fake_bridge, p.tag) {
                    let dup = out.iter().any(|f| f.parent == b.name && f.vlan == vlan)
                        || out.iter().any(|f| f.name == p.name)
                        || self.bridge(&p.name).is_some();
                    if !dup {
                        out.push(FakeBridge {
                            name: p.name.clone(),
                            parent: b.name.clone(),
                            vlan,
                        });
                    }
                }
            }
        }
        out
    }

    /// The fake bridge called `name`.
    pub fn fake_bridge(&self, name: &str) -> Option<FakeBridge> {
        self.fake_bridges().into_iter().find(|f| f.name == name)
    }

    /// The bridge `ovs-vsctl` reports a port as belonging to: the fake
    /// bridge of the parent whose VLAN equals the port's tag, if any, else
    /// the real bridge.
    pub fn logical_bridge_of(&self, bridge: &Bridge, port: &Port) -> String {
        if let Some(tag) = port.tag {
            if let Some(f) = self
                .fake_bridges()
                .into_iter()
                .find(|f| f.parent == bridge.name && f.vlan == tag)
            {
                return f.name;
            }
        }
        bridge.name.clone()
    }

    /// `other_config:pmd-cpu-mask` as a list of CPU numbers, if set.
    pub fn pmd_cpus(&self) -> Option<Vec<usize>> {
        self.other_config
            .get("pmd-cpu-mask")
            .and_then(|m| parse_cpu_mask(m).ok())
    }

    /// `other_config:dpdk-lcore-mask` as a list of CPU numbers, if set.
    pub fn dpdk_lcores(&self) -> Option<Vec<usize>> {
        self.other_config
            .get("dpdk-lcore-mask")
            .and_then(|m| parse_cpu_mask(m).ok())
    }

    /// `other_config:dpdk-init` (`true`, `try`, or false).
    pub fn dpdk_init(&self) -> bool {
        matches!(
            self.other_config.get("dpdk-init").map(String::as_str),
            Some("true" | "try")
        )
    }

    /// `other_config:vhost-iommu-support`.
    pub fn vhost_iommu_support(&self) -> bool {
        self.other_config
            .get("vhost-iommu-support")
            .map(String::as_str)
            == Some("true")
    }

    /// `other_config:pmd-rxq-assign` and `pmd-rxq-isolate` (defaults
    /// `cycles` and `true`, as in OVS).
    pub fn rxq_settings(&self) -> RxqSettings {
        let m = &self.other_config;
        RxqSettings {
            assign: m
                .get("pmd-rxq-assign")
                .and_then(|v| RxqAssign::from_name(v))
                .unwrap_or_default(),
            isolate: m.get("pmd-rxq-isolate").map(String::as_str) != Some("false"),
        }
    }
}

/// Parse a hexadecimal CPU mask (`0x33`, `33`, `0X3f`) into CPU numbers,
/// lowest first.
pub fn parse_cpu_mask(s: &str) -> Result<Vec<usize>, String> {
    let t = s.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() || digits.len() > 256 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "\"{s}\" is not a hexadecimal CPU mask (expected something like 0x33)"
        ));
    }
    let mut cpus = Vec::new();
    for (pos, c) in digits.bytes().rev().enumerate() {
        let nibble = (c as char).to_digit(16).unwrap_or(0);
        for bit in 0..4 {
            if nibble & (1 << bit) != 0 {
                cpus.push(pos * 4 + bit);
            }
        }
    }
    Ok(cpus)
}

fn map_int(m: &StrMap, key: &str) -> Option<i64> {
    m.get(key).and_then(|v| crate::value::parse_i64(v))
}

fn map_bool(m: &StrMap, key: &str) -> Option<bool> {
    match m.get(key).map(String::as_str) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

impl Bridge {
    /// A bridge with no ports.
    pub fn new(uuid: Uuid, name: &str) -> Bridge {
        Bridge {
            uuid,
            name: name.to_string(),
            datapath_type: String::new(),
            fail_mode: None,
            other_config: StrMap::new(),
            external_ids: StrMap::new(),
            ports: Vec::new(),
        }
    }

    /// The port called `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// `other_config:mac-aging-time` in seconds (default 300).
    pub fn mac_aging_time_s(&self) -> u64 {
        map_int(&self.other_config, "mac-aging-time")
            .filter(|v| *v > 0)
            .map(|v| v as u64)
            .unwrap_or(300)
    }

    /// `other_config:mac-table-size` (default 8192).
    pub fn mac_table_size(&self) -> usize {
        map_int(&self.other_config, "mac-table-size")
            .filter(|v| *v > 0)
            .map(|v| v as usize)
            .unwrap_or(8192)
    }

    /// `other_config:hwaddr`.
    pub fn hwaddr(&self) -> Option<MacAddr> {
        self.other_config.get("hwaddr").and_then(|s| s.parse().ok())
    }
}

impl Port {
    /// A port with the given interfaces and no other settings.
    pub fn new(uuid: Uuid, name: &str, interfaces: Vec<Interface>) -> Port {
        Port {
            uuid,
            name: name.to_string(),
            interfaces,
            tag: None,
            trunks: Vec::new(),
            vlan_mode: None,
            bond_mode: None,
            lacp: None,
            bond_updelay: 0,
            bond_downdelay: 0,
            bond_fake_iface: false,
            fake_bridge: false,
            other_config: StrMap::new(),
            external_ids: StrMap::new(),
            qos: None,
        }
    }

    /// Whether the port is a bond (more than one interface).
    pub fn is_bond(&self) -> bool {
        self.interfaces.len() > 1
    }

    /// `trunks` as a set.
    pub fn trunk_set(&self) -> VlanSet {
        let mut s = VlanSet::empty();
        for v in &self.trunks {
            s.insert(*v);
        }
        s
    }

    /// The resolved VLAN configuration.
    pub fn port_vlan(&self) -> Result<PortVlan, VlanConfigError> {
        PortVlan::new(self.vlan_mode, self.tag, &self.trunk_set())
    }

    /// `bond_mode` with OVS's default (active-backup).
    pub fn bond_mode(&self) -> BondMode {
        self.bond_mode.unwrap_or(BondMode::ActiveBackup)
    }

    /// `lacp` with OVS's default (off).
    pub fn lacp_mode(&self) -> LacpMode {
        self.lacp.unwrap_or(LacpMode::Off)
    }

    /// `other_config:lacp-time` (default slow).
    pub fn lacp_time(&self) -> LacpTime {
        self.other_config
            .get("lacp-time")
            .and_then(|s| LacpTime::from_name(s))
            .unwrap_or(LacpTime::Slow)
    }

    /// `other_config:lacp-system-id`.
    pub fn lacp_system_id(&self) -> Option<MacAddr> {
        self.other_config
            .get("lacp-system-id")
            .and_then(|s| s.parse().ok())
    }

    /// `other_config:lacp-system-priority`, else OVS's default for a bond
    /// of this many interfaces ([`LacpConfig::default_system_priority`]).
    pub fn lacp_system_priority(&self) -> u16 {
        map_int(&self.other_config, "lacp-system-priority")
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(LacpConfig::default_system_priority(self.interfaces.len()))
    }

    /// `other_config:lacp-fallback-ab` (default false).
    pub fn lacp_fallback_ab(&self) -> bool {
        map_bool(&self.other_config, "lacp-fallback-ab").unwrap_or(false)
    }

    /// `other_config:bond-detect-mode` with `bond-miimon-interval`
    /// (defaults: carrier; 200 ms).
    pub fn bond_detect_mode(&self) -> DetectMode {
        let interval = map_int(&self.other_config, "bond-miimon-interval")
            .filter(|v| *v > 0)
            .map(|v| v as u64);
        let mode = self
            .other_config
            .get("bond-detect-mode")
            .map(String::as_str);
        DetectMode::from_config(mode, interval).unwrap_or(DetectMode::Carrier)
    }

    /// `other_config:bond-rebalance-interval` in ms as configured (unset:
    /// OVS's 10 s); [`BondConfig::effective_rebalance_interval`] applies
    /// OVS's rules (0 = never, below 1 s means 1 s).
    pub fn bond_rebalance_interval_ms(&self) -> u64 {
        match map_int(&self.other_config, "bond-rebalance-interval") {
            Some(v) if v >= 0 => v as u64,
            _ => datapath::bond::DEFAULT_REBALANCE_INTERVAL_MS,
        }
    }

    /// `other_config:bond-primary`.
    pub fn bond_primary(&self) -> Option<&str> {
        self.other_config.get("bond-primary").map(String::as_str)
    }

    /// `other_config:bond-hash-basis` (default 0).
    pub fn bond_hash_basis(&self) -> u64 {
        map_int(&self.other_config, "bond-hash-basis")
            .map(|v| v as u64)
            .unwrap_or(0)
    }

    /// `bond_updelay` in ms (negative values count as 0).
    pub fn updelay_ms(&self) -> u64 {
        self.bond_updelay.max(0) as u64
    }

    /// `bond_downdelay` in ms (negative values count as 0).
    pub fn downdelay_ms(&self) -> u64 {
        self.bond_downdelay.max(0) as u64
    }

    /// The bond machine's configuration. Member ids are the interfaces'
    /// positions in [`Port::interfaces`] (`bond-primary` resolves to one).
    pub fn bond_config(&self) -> BondConfig {
        BondConfig {
            mode: self.bond_mode(),
            updelay_ms: self.updelay_ms(),
            downdelay_ms: self.downdelay_ms(),
            detect: self.bond_detect_mode(),
            rebalance_interval_ms: self.bond_rebalance_interval_ms(),
            lacp: self.lacp_mode() != LacpMode::Off,
            lacp_fallback_ab: self.lacp_fallback_ab(),
            primary: self
                .bond_primary()
                .and_then(|p| self.interfaces.iter().position(|i| i.name == p))
                .map(|i| i as datapath::bond::MemberId),
            hash_basis: self.bond_hash_basis() as u32,
        }
    }

    /// The LACP machine's configuration, `None` with `lacp=off`.
    /// `bridge_mac` is the system ID unless `lacp-system-id` is set.
    pub fn lacp_config(&self, bridge_mac: MacAddr) -> Option<LacpConfig> {
        let mode = self.lacp_mode();
        if mode == LacpMode::Off {
            return None;
        }
        Some(LacpConfig {
            mode,
            fast: self.lacp_time() == LacpTime::Fast,
            system_id: self.lacp_system_id().unwrap_or(bridge_mac),
            system_priority: self.lacp_system_priority(),
            key: self
                .interfaces
                .iter()
                .find_map(Interface::lacp_aggregation_key)
                .unwrap_or(0),
        })
    }
}

impl Interface {
    /// An interface of type `""` with no settings.
    pub fn new(uuid: Uuid, name: &str) -> Interface {
        Interface {
            uuid,
            name: name.to_string(),
            iface_type: IfaceType::System,
            options: StrMap::new(),
            mtu_request: None,
            admin_state: None,
            mac: None,
            other_config: StrMap::new(),
            external_ids: StrMap::new(),
            ingress_policing_rate: 0,
            ingress_policing_burst: 0,
        }
    }

    /// An `internal` interface (a bridge's local port).
    pub fn internal(uuid: Uuid, name: &str) -> Interface {
        Interface {
            iface_type: IfaceType::Internal,
            ..Interface::new(uuid, name)
        }
    }

    /// `options:dpdk-devargs`.
    pub fn dpdk_devargs(&self) -> Option<&str> {
        self.options.get("dpdk-devargs").map(String::as_str)
    }

    /// `options:vhost-server-path`.
    pub fn vhost_server_path(&self) -> Option<&str> {
        self.options.get("vhost-server-path").map(String::as_str)
    }

    /// `other_config:pmd-rxq-affinity` as (queue, core) pairs; nothing
    /// when unset or not valid (validation refuses that).
    pub fn rxq_affinity(&self) -> Vec<(u16, u32)> {
        self.other_config
            .get("pmd-rxq-affinity")
            .and_then(|v| parse_affinity(v).ok())
            .unwrap_or_default()
    }

    /// `options:n_rxq` (default 1).
    pub fn n_rxq(&self) -> u16 {
        map_int(&self.options, "n_rxq")
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(1)
    }

    /// `options:n_rxq_desc` (default 2048).
    pub fn n_rxq_desc(&self) -> u16 {
        map_int(&self.options, "n_rxq_desc")
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(2048)
    }

    /// `options:n_txq_desc` (default 2048).
    pub fn n_txq_desc(&self) -> u16 {
        map_int(&self.options, "n_txq_desc")
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(2048)
    }

    /// `admin_state` with the default (up).
    pub fn admin_up(&self) -> bool {
        self.admin_state != Some(AdminState::Down)
    }

    /// `other_config:lacp-port-id`.
    pub fn lacp_port_id(&self) -> Option<u16> {
        map_int(&self.other_config, "lacp-port-id").and_then(|v| u16::try_from(v).ok())
    }

    /// `other_config:lacp-port-priority`.
    pub fn lacp_port_priority(&self) -> Option<u16> {
        map_int(&self.other_config, "lacp-port-priority").and_then(|v| u16::try_from(v).ok())
    }

    /// `other_config:lacp-aggregation-key`.
    pub fn lacp_aggregation_key(&self) -> Option<u16> {
        map_int(&self.other_config, "lacp-aggregation-key").and_then(|v| u16::try_from(v).ok())
    }

    /// This interface's LACP settings as a bond member: `lacp-port-id`,
    /// else `number` (its bridge-unique interface number, OVS's OpenFlow
    /// port number); `lacp-port-priority`, else OVS's default; `mac` is
    /// the source address of its LACPDUs.
    pub fn lacp_member_config(&self, number: u16, mac: MacAddr) -> MemberConfig {
        MemberConfig {
            port_id: self.lacp_port_id().unwrap_or(number),
            port_priority: self
                .lacp_port_priority()
                .unwrap_or(datapath::lacp::DEFAULT_PORT_PRIORITY),
            mac,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u8) -> Uuid {
        Uuid::from_random_bytes([n; 16])
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(parse_cpu_mask("0x33").unwrap(), vec![0, 1, 4, 5]);
        assert_eq!(parse_cpu_mask("2").unwrap(), vec![1]);
        assert_eq!(parse_cpu_mask("0X100").unwrap(), vec![8]);
        for bad in ["", "0x", "0xg", "33h", "-1", "1 2"] {
            assert!(parse_cpu_mask(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_round_trip_uses_ovs_spellings() {
        let mut db = Db::new(u(1));
        let mut br = Bridge::new(u(2), "br0");
        let mut i = Interface::new(u(3), "vhu0");
        i.iface_type = IfaceType::DpdkVhostUserClient;
        i.mac = Some("52:54:00:00:00:01".parse().unwrap());
        let mut p = Port::new(u(4), "vhu0", vec![i]);
        p.vlan_mode = Some(VlanMode::NativeUntagged);
        p.tag = Some(5);
        p.bond_mode = Some(BondMode::BalanceTcp);
        br.ports.push(p);
        db.bridges.push(br);
        let j = serde_json::to_value(&db).unwrap();
        let port = &j["bridges"][0]["ports"][0];
        assert_eq!(port["vlan_mode"], "native-untagged");
        assert_eq!(port["bond_mode"], "balance-tcp");
        assert_eq!(port["interfaces"][0]["type"], "dpdkvhostuserclient");
        assert_eq!(port["interfaces"][0]["mac"], "52:54:00:00:00:01");
        let back: Db = serde_json::from_value(j).unwrap();
        assert_eq!(back, db);
    }

    #[test]
    fn knob_defaults_and_values() {
        let mut p = Port::new(u(1), "bond0", vec![]);
        assert_eq!(p.lacp_time(), LacpTime::Slow);
        assert_eq!(p.bond_detect_mode(), DetectMode::Carrier);
        assert_eq!(p.bond_rebalance_interval_ms(), 10_000);
        assert_eq!(p.bond_mode(), BondMode::ActiveBackup);
        p.other_config.insert("lacp-time".into(), "fast".into());
        p.other_config
            .insert("bond-rebalance-interval".into(), "500".into());
        p.other_config
            .insert("bond-detect-mode".into(), "miimon".into());
        assert_eq!(p.lacp_time(), LacpTime::Fast);
        assert_eq!(p.bond_rebalance_interval_ms(), 500);
        assert_eq!(p.bond_config().effective_rebalance_interval(), 1000);
        assert_eq!(
            p.bond_detect_mode(),
            DetectMode::Miimon { interval_ms: 200 }
        );
        let i = Interface::new(u(2), "x");
        assert_eq!((i.n_rxq(), i.n_rxq_desc()), (1, 2048));
        assert!(i.admin_up());
    }
}
