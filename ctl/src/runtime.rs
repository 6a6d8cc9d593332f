//! Runtime commands: what OVS puts in `ovs-appctl` (`bond/show`,
//! `lacp/show`, `fdb/show`, `dpif-netdev/pmd-stats-show`, ...).
//!
//! The executor checks their arguments against the configuration (the bond
//! or bridge exists, the VLAN and MAC parse) and hands the daemon a typed
//! [`RuntimeCommand`]. The daemon carries it out and formats the answer;
//! that is the hook: implement [`RuntimeHandler`] and pass it to
//! [`crate::proto::Response::from_outcome`].

use datapath::vlan::parse_vid;
use datapath::wire::MacAddr;
use serde_json::Value;

use crate::cmd::Command;
use crate::db::{Db, LacpMode};

/// A request for live state or a live action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeCommand {
    /// `bond/show [BOND]`: every bond, or one.
    BondShow {
        /// The bond port, or every bond.
        bond: Option<String>,
    },
    /// `bond/set-active-member`, `bond/enable-member`,
    /// `bond/disable-member BOND MEMBER` (and their `-slave` aliases).
    BondMember {
        /// The bond port.
        bond: String,
        /// One of its interfaces.
        member: String,
        /// What to do with it.
        action: MemberAction,
    },
    /// `bond/hash MAC [VLAN] [BASIS]`: the balance-slb bucket of a MAC.
    BondHash {
        /// The source MAC.
        mac: MacAddr,
        /// The VLAN (0 when not given).
        vlan: u16,
        /// The hash basis (0 when not given).
        basis: u32,
    },
    /// `bond/events [BOND]`: the bonds' last recorded events.
    BondEvents {
        /// The bond port, or every bond.
        bond: Option<String>,
    },
    /// `lacp/events [BOND]`: the LACP machines' last recorded events.
    LacpEvents {
        /// The bond port, or every bond running LACP.
        bond: Option<String>,
    },
    /// `lacp/show [BOND]`.
    LacpShow {
        /// The bond port, or every bond running LACP.
        bond: Option<String>,
    },
    /// `lacp/show-stats [BOND]`.
    LacpShowStats {
        /// The bond port, or every bond running LACP.
        bond: Option<String>,
    },
    /// `fdb/show BRIDGE`: the MAC table.
    FdbShow {
        /// A real bridge.
        bridge: String,
    },
    /// `fdb/flush [BRIDGE]`: forget learned entries.
    FdbFlush {
        /// A real bridge, or every bridge.
        bridge: Option<String>,
    },
    /// `fdb/add BRIDGE PORT VLAN MAC`: a static entry.
    FdbAdd {
        /// A real bridge.
        bridge: String,
        /// A port on it.
        port: String,
        /// The VLAN.
        vlan: u16,
        /// The unicast MAC.
        mac: MacAddr,
    },
    /// `fdb/del BRIDGE VLAN MAC`.
    FdbDel {
        /// A real bridge.
        bridge: String,
        /// The VLAN.
        vlan: u16,
        /// The MAC.
        mac: MacAddr,
    },
    /// `dpif-netdev/pmd-stats-show [-pmd CORE]`.
    PmdStatsShow {
        /// One PMD core, or all.
        pmd: Option<u32>,
    },
    /// `dpif-netdev/pmd-stats-clear [-pmd CORE]`.
    PmdStatsClear {
        /// One PMD core, or all.
        pmd: Option<u32>,
    },
    /// `memory/show`: the daemon's memory use (packet buffers in use, MAC
    /// entries, resident set), as OVS's `memory/show` reports its own.
    MemoryShow,
    /// `dpif-netdev/pmd-rxq-show [-pmd CORE]`.
    PmdRxqShow {
        /// One PMD core, or all.
        pmd: Option<u32>,
    },
    /// `dpif-netdev/pmd-rxq-rebalance [DP]`: place the receive queues
    /// again with the cycles measured over the last minute.
    PmdRxqRebalance,
}

/// What `RuntimeCommand::BondMember` does to the member.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemberAction {
    /// `bond/set-active-member`.
    SetActive,
    /// `bond/enable-member`.
    Enable,
    /// `bond/disable-member`.
    Disable,
}

/// The output of one runtime command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimeOutput {
    /// Text, as `ovs-appctl` would print it.
    pub text: String,
    /// The structured form for `--format=json`.
    pub json: Option<Value>,
}

/// What the daemon implements to carry out runtime commands.
pub trait RuntimeHandler {
    /// Carry out `cmd`. `json` asks for the structured form (the text may
    /// then be empty). An `Err` becomes `vsctl: <reason>`.
    fn run(&mut self, cmd: &RuntimeCommand, json: bool) -> Result<RuntimeOutput, String>;
}

impl<F> RuntimeHandler for F
where
    F: FnMut(&RuntimeCommand, bool) -> Result<RuntimeOutput, String>,
{
    fn run(&mut self, cmd: &RuntimeCommand, json: bool) -> Result<RuntimeOutput, String> {
        self(cmd, json)
    }
}

fn real_bridge(db: &Db, name: &str) -> Result<String, String> {
    if db.bridge(name).is_some() {
        return Ok(name.to_string());
    }
    if let Some(f) = db.fake_bridge(name) {
        return Err(format!(
            "{name} is a fake bridge (VLAN {} of {}); MAC tables belong to real bridges, use {}",
            f.vlan, f.parent, f.parent
        ));
    }
    Err(format!("no bridge named {name}"))
}

fn bond(db: &Db, name: &str, lacp: bool) -> Result<String, String> {
    match db.port(name) {
        Some((_, p)) if p.is_bond() => {
            if lacp && p.lacp_mode() == LacpMode::Off {
                Err(format!("bond {name} does not run LACP (lacp=off)"))
            } else {
                Ok(name.to_string())
            }
        }
        Some(_) => Err(format!("port {name} is not a bond")),
        None => Err(format!("no bond named {name}")),
    }
}

/// A bond and one of its members, refused with OVS's texts.
fn bond_member(db: &Db, bond: &str, member: &str) -> Result<(String, String), String> {
    match db.port(bond) {
        Some((_, p)) if p.is_bond() => {
            if p.interfaces.iter().any(|i| i.name == member) {
                Ok((bond.to_string(), member.to_string()))
            } else {
                Err("no such member".to_string())
            }
        }
        _ => Err("no such bond".to_string()),
    }
}

/// `bond/hash MAC [VLAN] [BASIS]` with OVS's refusals (checked in OVS's
/// order: VLAN, basis, MAC).
fn bond_hash(cmd: &Command) -> Result<RuntimeCommand, String> {
    let vlan = match cmd.args.get(1) {
        None => 0,
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|v| *v <= 4095)
            .ok_or("invalid vlan")?,
    };
    let basis = match cmd.args.get(2) {
        None => 0,
        Some(b) => b.parse::<u32>().map_err(|_| "invalid basis")?,
    };
    let mac = cmd.arg(0).parse::<MacAddr>().map_err(|_| "invalid mac")?;
    Ok(RuntimeCommand::BondHash { mac, vlan, basis })
}

/// The name of rvswitch's one datapath, as OVS names its userspace one
/// (`dpif-netdev/pmd-rxq-rebalance [DP]`).
pub const DATAPATH_NAME: &str = "ovs-netdev";

fn pmd_arg(cmd: &Command) -> Result<Option<u32>, String> {
    match cmd.args.as_slice() {
        [] => Ok(None),
        [flag, core] if flag == "-pmd" => core
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("invalid PMD core \"{core}\"")),
        _ => Err(format!("usage: {} [-pmd CORE]", cmd.name())),
    }
}

fn parse_vlan(s: &str) -> Result<u16, String> {
    parse_vid(s).map_err(|e| e.to_string())
}

fn parse_mac(s: &str) -> Result<MacAddr, String> {
    s.parse::<MacAddr>().map_err(|e| e.to_string())
}

/// Check a runtime command's arguments against `db`.
pub fn parse(db: &Db, cmd: &Command) -> Result<RuntimeCommand, String> {
    let opt_arg = |i: usize| cmd.args.get(i).cloned();
    Ok(match cmd.name() {
        "bond/show" => RuntimeCommand::BondShow {
            bond: opt_arg(0).map(|b| bond(db, &b, false)).transpose()?,
        },
        "bond/set-active-member" | "bond/enable-member" | "bond/disable-member" => {
            let (bond, member) = bond_member(db, cmd.arg(0), cmd.arg(1))?;
            let action = match cmd.name() {
                "bond/set-active-member" => MemberAction::SetActive,
                "bond/enable-member" => MemberAction::Enable,
                _ => MemberAction::Disable,
            };
            RuntimeCommand::BondMember {
                bond,
                member,
                action,
            }
        }
        "bond/hash" => bond_hash(cmd)?,
        "bond/events" => RuntimeCommand::BondEvents {
            bond: opt_arg(0).map(|b| bond(db, &b, false)).transpose()?,
        },
        "lacp/events" => RuntimeCommand::LacpEvents {
            bond: opt_arg(0).map(|b| bond(db, &b, true)).transpose()?,
        },
        "lacp/show" => RuntimeCommand::LacpShow {
            bond: opt_arg(0).map(|b| bond(db, &b, true)).transpose()?,
        },
        "lacp/show-stats" => RuntimeCommand::LacpShowStats {
            bond: opt_arg(0).map(|b| bond(db, &b, true)).transpose()?,
        },
        "fdb/show" => RuntimeCommand::FdbShow {
            bridge: real_bridge(db, cmd.arg(0))?,
        },
        "fdb/flush" => RuntimeCommand::FdbFlush {
            bridge: opt_arg(0).map(|b| real_bridge(db, &b)).transpose()?,
        },
        "fdb/add" => {
            let bridge = real_bridge(db, cmd.arg(0))?;
            let port = cmd.arg(1).to_string();
            if db.bridge(&bridge).and_then(|b| b.port(&port)).is_none() {
                return Err(format!("bridge {bridge} has no port named {port}"));
            }
            let vlan = parse_vlan(cmd.arg(2))?;
            let mac = parse_mac(cmd.arg(3))?;
            if !mac.is_unicast() {
                return Err(format!(
                    "{mac} is not a unicast MAC address; static entries must be unicast"
                ));
            }
            RuntimeCommand::FdbAdd {
                bridge,
                port,
                vlan,
                mac,
            }
        }
        "fdb/del" => RuntimeCommand::FdbDel {
            bridge: real_bridge(db, cmd.arg(0))?,
            vlan: parse_vlan(cmd.arg(1))?,
            mac: parse_mac(cmd.arg(2))?,
        },
        "dpif-netdev/pmd-stats-show" => RuntimeCommand::PmdStatsShow { pmd: pmd_arg(cmd)? },
        "dpif-netdev/pmd-stats-clear" => RuntimeCommand::PmdStatsClear { pmd: pmd_arg(cmd)? },
        "dpif-netdev/pmd-rxq-show" => RuntimeCommand::PmdRxqShow { pmd: pmd_arg(cmd)? },
        "dpif-netdev/pmd-rxq-rebalance" => match opt_arg(0).as_deref() {
            // The one datapath, named as OVS names its userspace one.
            None | Some(DATAPATH_NAME) => RuntimeCommand::PmdRxqRebalance,
            Some(_) => return Err("please specify an existing datapath".into()),
        },
        "memory/show" => RuntimeCommand::MemoryShow,
        other => return Err(format!("unknown command '{other}'; use --help for help")),
    })
}
