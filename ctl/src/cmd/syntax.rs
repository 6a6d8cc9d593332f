//! The command table: every command's name, argument counts, usage and
//! options (the one definition of each command's options: the parser, the
//! abbreviation matcher and `--help` read it).

use crate::getopt::HasArg;

/// Whether a command reads or writes the database, or asks the daemon.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reads the configuration only.
    Read,
    /// May change the configuration.
    Write,
    /// A runtime command (`ovs-appctl` in OVS) the daemon carries out.
    Runtime,
}

/// A command's syntax.
#[derive(Debug, PartialEq, Eq)]
pub struct Syntax {
    /// Name.
    pub name: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// Usage line for `--help`.
    pub usage: &'static str,
    /// Options it takes, comma-separated; a trailing `=` takes a value.
    pub options: &'static str,
    /// What it does.
    pub kind: Kind,
}

const MANY: usize = usize::MAX;

macro_rules! syn {
    ($name:literal, $min:expr, $max:expr, $usage:literal, $opts:literal, $kind:ident) => {
        Syntax {
            name: $name,
            min_args: $min,
            max_args: $max,
            usage: $usage,
            options: $opts,
            kind: Kind::$kind,
        }
    };
}

/// Every command rvswitch understands.
pub static COMMANDS: &[Syntax] = &[
    syn!("init", 0, 0, "", "", Write),
    syn!("show", 0, 0, "", "", Read),
    syn!(
        "add-br",
        1,
        3,
        "NEW-BRIDGE [PARENT] [NEW-VLAN]",
        "--may-exist",
        Write
    ),
    syn!("del-br", 1, 1, "BRIDGE", "--if-exists", Write),
    syn!("list-br", 0, 0, "", "--real,--fake", Read),
    syn!("br-exists", 1, 1, "BRIDGE", "", Read),
    syn!("br-to-vlan", 1, 1, "BRIDGE", "", Read),
    syn!("br-to-parent", 1, 1, "BRIDGE", "", Read),
    syn!("br-set-external-id", 2, 3, "BRIDGE KEY [VALUE]", "", Write),
    syn!("br-get-external-id", 1, 2, "BRIDGE [KEY]", "", Read),
    syn!("list-ports", 1, 1, "BRIDGE", "", Read),
    syn!(
        "add-port",
        2,
        MANY,
        "BRIDGE NEW-PORT [COLUMN[:KEY]=VALUE]...",
        "--may-exist",
        Write
    ),
    syn!(
        "del-port",
        1,
        2,
        "[BRIDGE] PORT|IFACE",
        "--if-exists,--with-iface",
        Write
    ),
    syn!("port-to-br", 1, 1, "PORT", "", Read),
    syn!(
        "add-bond",
        4,
        MANY,
        "BRIDGE BOND IFACE... [COLUMN[:KEY]=VALUE]...",
        "--may-exist,--fake-iface",
        Write
    ),
    syn!("add-bond-iface", 2, 2, "BOND IFACE", "--may-exist", Write),
    syn!("del-bond-iface", 1, 2, "[BOND] IFACE", "--if-exists", Write),
    syn!("list-ifaces", 1, 1, "BRIDGE", "", Read),
    syn!("iface-to-br", 1, 1, "IFACE", "", Read),
    syn!("get-fail-mode", 1, 1, "BRIDGE", "", Read),
    syn!("set-fail-mode", 2, 2, "BRIDGE MODE", "", Write),
    syn!("del-fail-mode", 1, 1, "BRIDGE", "", Write),
    syn!(
        "get",
        2,
        MANY,
        "TABLE RECORD [COLUMN[:KEY]]...",
        "--if-exists",
        Read
    ),
    syn!(
        "set",
        3,
        MANY,
        "TABLE RECORD COLUMN[:KEY]=VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "add",
        4,
        MANY,
        "TABLE RECORD COLUMN [KEY=]VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "remove",
        4,
        MANY,
        "TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...",
        "--if-exists",
        Write
    ),
    syn!(
        "clear",
        3,
        MANY,
        "TABLE RECORD COLUMN...",
        "--if-exists",
        Write
    ),
    syn!(
        "list",
        1,
        MANY,
        "TABLE [RECORD]...",
        "--if-exists,--columns=",
        Read
    ),
    syn!(
        "find",
        1,
        MANY,
        "TABLE [COLUMN[:KEY]=VALUE]...",
        "--columns=",
        Read
    ),
    syn!(
        "create",
        1,
        MANY,
        "TABLE [COLUMN[:KEY]=VALUE]...",
        "--id=",
        Write
    ),
    syn!(
        "destroy",
        1,
        MANY,
        "TABLE [RECORD]...",
        "--if-exists,--all",
        Write
    ),
    syn!(
        "wait-until",
        2,
        MANY,
        "TABLE RECORD [COLUMN[:KEY]=VALUE]...",
        "",
        Read
    ),
    syn!("bond/show", 0, 1, "[BOND]", "", Runtime),
    syn!("bond/set-active-member", 2, 2, "BOND MEMBER", "", Runtime),
    syn!("bond/enable-member", 2, 2, "BOND MEMBER", "", Runtime),
    syn!("bond/disable-member", 2, 2, "BOND MEMBER", "", Runtime),
    syn!("bond/hash", 1, 3, "MAC [VLAN] [BASIS]", "", Runtime),
    syn!("bond/events", 0, 1, "[BOND]", "", Runtime),
    syn!("lacp/show", 0, 1, "[BOND]", "", Runtime),
    syn!("lacp/show-stats", 0, 1, "[BOND]", "", Runtime),
    syn!("lacp/events", 0, 1, "[BOND]", "", Runtime),
    syn!("fdb/show", 1, 1, "BRIDGE", "", Runtime),
    syn!("fdb/flush", 0, 1, "[BRIDGE]", "", Runtime),
    syn!("fdb/add", 4, 4, "BRIDGE PORT VLAN MAC", "", Runtime),
    syn!("fdb/del", 3, 3, "BRIDGE VLAN MAC", "", Runtime),
    syn!(
        "dpif-netdev/pmd-stats-show",
        0,
        2,
        "[-pmd CORE]",
        "",
        Runtime
    ),
    syn!(
        "dpif-netdev/pmd-stats-clear",
        0,
        2,
        "[-pmd CORE]",
        "",
        Runtime
    ),
    syn!("dpif-netdev/pmd-rxq-show", 0, 2, "[-pmd CORE]", "", Runtime),
    syn!("dpif-netdev/pmd-rxq-rebalance", 0, 1, "[DP]", "", Runtime),
    syn!("memory/show", 0, 0, "", "", Runtime),
];

/// Older names OVS still registers (`ofproto/bond.c`, `bond_init`): each
/// is the command it names, with that command's syntax.
const ALIASES: &[(&str, &str)] = &[
    ("bond/set-active-slave", "bond/set-active-member"),
    ("bond/enable-slave", "bond/enable-member"),
    ("bond/disable-slave", "bond/disable-member"),
];

/// ovs-vsctl commands rvswitch deliberately lacks, with their options
/// (so that those options parse and the command is refused by name).
const UNSUPPORTED: &[(&str, &str)] = &[
    ("get-controller", ""),
    ("del-controller", ""),
    ("set-controller", "--inactivity-probe="),
    ("get-manager", ""),
    ("del-manager", ""),
    ("set-manager", "--inactivity-probe="),
    ("get-ssl", ""),
    ("del-ssl", ""),
    ("set-ssl", "--bootstrap"),
    ("add-aa-mapping", ""),
    ("del-aa-mapping", ""),
    ("get-aa-mapping", ""),
    ("emer-reset", ""),
    ("add-zone-tp", "--may-exist"),
    ("del-zone-tp", "--if-exists"),
    ("list-zone-tp", ""),
    ("list-dp-cap", ""),
    ("set-zone-limit", ""),
    ("del-zone-limit", "--if-exists"),
    ("list-zone-limits", ""),
];

/// Look a command up (an alias gives the command it stands for).
pub fn find_command(name: &str) -> Result<&'static Syntax, String> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, to)| *to);
    if let Some(s) = COMMANDS.iter().find(|s| s.name == name) {
        return Ok(s);
    }
    if UNSUPPORTED.iter().any(|(n, _)| *n == name) {
        return Err(format!(
            "'{name}' is an ovs-vsctl command that rvswitch does not support (rvswitch has no OpenFlow controllers, managers, SSL, conntrack or record creation outside QoS and Queue)"
        ));
    }
    Err(format!("unknown command '{name}'; use --help for help"))
}

/// A command's options as `(name without "--", takes a value)`, from its
/// options string (`--if-exists,--columns=`).
pub fn option_specs(options: &'static str) -> impl Iterator<Item = (&'static str, HasArg)> {
    options
        .split(',')
        .filter_map(|o| o.strip_prefix("--"))
        .map(|o| match o.strip_suffix('=') {
            Some(name) => (name, HasArg::Required),
            None => (o, HasArg::No),
        })
}

impl Syntax {
    /// This command's options (see [`option_specs`]).
    pub fn option_specs(&self) -> impl Iterator<Item = (&'static str, HasArg)> {
        option_specs(self.options)
    }
}

/// Every option of every command (supported or not), in table order;
/// a name may repeat.
pub fn all_command_options() -> impl Iterator<Item = (&'static str, HasArg)> {
    COMMANDS
        .iter()
        .map(|s| s.options)
        .chain(UNSUPPORTED.iter().map(|(_, o)| *o))
        .flat_map(option_specs)
}
