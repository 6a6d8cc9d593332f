//! Tables and columns as the generic database commands (`get`, `set`,
//! `add`, `remove`, `clear`, `list`, `find`) see them.
//!
//! Table and column names match OVS's schema and are looked up as OVS does:
//! case-insensitively, `-` equal to `_`, and any unique prefix. Each column
//! reads a [`Datum`] from the typed records of [`crate::db`] and writes one
//! back, converting and checking the value.

use datapath::vlan::{parse_vid, VlanMode, VlanSet};
use datapath::wire::MacAddr;

use crate::db::{AdminState, BondMode, Db, FailMode, IfaceType, LacpMode, StrMap};
use crate::env::Runtime;
use crate::uuid::Uuid;
use crate::value::{parse_datum_with, Atom, AtomType, ColType, Datum, RowIds, UNLIMITED};

/// A table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// The root record.
    OpenVswitch,
    /// Bridges.
    Bridge,
    /// Ports.
    Port,
    /// Interfaces.
    Interface,
    /// QoS configurations (a root table: rows live until destroyed).
    Qos,
    /// QoS output queues (a root table).
    Queue,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 6] = [
        Table::OpenVswitch,
        Table::Bridge,
        Table::Port,
        Table::Interface,
        Table::Qos,
        Table::Queue,
    ];

    /// The OVS name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::OpenVswitch => "Open_vSwitch",
            Table::Bridge => "Bridge",
            Table::Port => "Port",
            Table::Interface => "Interface",
            Table::Qos => "QoS",
            Table::Queue => "Queue",
        }
    }

    /// The columns, alphabetically (as `list` prints them).
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::OpenVswitch => OVS_COLUMNS,
            Table::Bridge => BRIDGE_COLUMNS,
            Table::Port => PORT_COLUMNS,
            Table::Interface => INTERFACE_COLUMNS,
            Table::Qos => QOS_COLUMNS,
            Table::Queue => QUEUE_COLUMNS,
        }
    }

    /// Whether `create` and `destroy` work on it (OVS's root tables; the
    /// others are made and removed by add-br, add-port, del-port, ...).
    pub const fn is_root_set(self) -> bool {
        matches!(self, Table::Qos | Table::Queue)
    }
}

/// Who may write a column.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Configuration.
    ReadWrite,
    /// Derived from the configuration (names, references, constants).
    ReadOnly,
    /// Live state supplied by the daemon.
    Runtime,
}

/// How a column's text is parsed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Parse {
    /// OVS value syntax for the column type.
    Generic,
    /// One VLAN ID 1..=4094 (`tag`).
    Tag,
    /// A VLAN list (`trunks`), via `VlanSet::parse`.
    Trunks,
}

/// A column.
#[derive(Debug)]
pub struct Column {
    /// The OVS name.
    pub name: &'static str,
    /// Value type.
    pub ty: ColType,
    /// Who may write it.
    pub access: Access,
    /// How its text is parsed.
    pub parse: Parse,
}

const fn col(name: &'static str, ty: ColType, access: Access) -> Column {
    Column {
        name,
        ty,
        access,
        parse: Parse::Generic,
    }
}

use Access::{ReadOnly as RO, ReadWrite as RW, Runtime as RT};

const STR: AtomType = AtomType::STRING;
const INT: AtomType = AtomType::INTEGER;
const VID: AtomType = AtomType::Integer { min: 0, max: 4095 };
const MAP: ColType = ColType::STRING_MAP;

const OVS_COLUMNS: &[Column] = &[
    col("bridges", ColType::set(AtomType::Uuid), RO),
    col("datapath_types", ColType::set(STR), RO),
    col("dpdk_initialized", ColType::scalar(AtomType::Boolean), RT),
    col("dpdk_version", ColType::optional(STR), RT),
    col("external_ids", MAP, RW),
    col("iface_types", ColType::set(STR), RO),
    col("other_config", MAP, RW),
    col("ovs_version", ColType::optional(STR), RO),
];

const BRIDGE_COLUMNS: &[Column] = &[
    col("datapath_type", ColType::scalar(STR), RW),
    col("external_ids", MAP, RW),
    col(
        "fail_mode",
        ColType::optional(AtomType::String {
            allowed: Some(&["standalone", "secure"]),
        }),
        RW,
    ),
    col("name", ColType::scalar(STR), RO),
    col("other_config", MAP, RW),
    col("ports", ColType::set(AtomType::Uuid), RO),
];

const PORT_COLUMNS: &[Column] = &[
    col("bond_active_slave", ColType::optional(STR), RT),
    col("bond_downdelay", ColType::scalar(INT), RW),
    col("bond_fake_iface", ColType::scalar(AtomType::Boolean), RW),
    col(
        "bond_mode",
        ColType::optional(AtomType::String {
            allowed: Some(BondMode::NAMES),
        }),
        RW,
    ),
    col("bond_updelay", ColType::scalar(INT), RW),
    col("external_ids", MAP, RW),
    col("fake_bridge", ColType::scalar(AtomType::Boolean), RW),
    col(
        "interfaces",
        ColType {
            key: AtomType::Uuid,
            value: None,
            min: 1,
            max: UNLIMITED,
        },
        RO,
    ),
    col(
        "lacp",
        ColType::optional(AtomType::String {
            allowed: Some(LacpMode::NAMES),
        }),
        RW,
    ),
    col("name", ColType::scalar(STR), RO),
    col("other_config", MAP, RW),
    col("qos", ColType::optional(AtomType::Uuid), RW),
    col("status", MAP, RT),
    Column {
        name: "tag",
        ty: ColType::optional(VID),
        access: RW,
        parse: Parse::Tag,
    },
    Column {
        name: "trunks",
        ty: ColType {
            key: VID,
            value: None,
            min: 0,
            max: 4096,
        },
        access: RW,
        parse: Parse::Trunks,
    },
    col("vlan_mode", ColType::optional(STR), RW),
];

const INTERFACE_COLUMNS: &[Column] = &[
    col(
        "admin_state",
        ColType::optional(AtomType::String {
            allowed: Some(&["up", "down"]),
        }),
        RW,
    ),
    col("error", ColType::optional(STR), RT),
    col("external_ids", MAP, RW),
    col("ingress_policing_burst", ColType::scalar(NON_NEGATIVE), RW),
    col("ingress_policing_rate", ColType::scalar(NON_NEGATIVE), RW),
    col("link_state", ColType::optional(STR), RT),
    col("mac", ColType::optional(STR), RW),
    col("mac_in_use", ColType::optional(STR), RT),
    col("mtu", ColType::optional(INT), RT),
    col(
        "mtu_request",
        ColType::optional(AtomType::Integer {
            min: 1,
            max: i64::MAX,
        }),
        RW,
    ),
    col("name", ColType::scalar(STR), RO),
    col("ofport", ColType::optional(INT), RT),
    col("options", MAP, RW),
    col("other_config", MAP, RW),
    col("statistics", ColType::map(STR, INT), RT),
    col("status", MAP, RT),
    col("type", ColType::scalar(STR), RW),
];

const NON_NEGATIVE: AtomType = AtomType::Integer {
    min: 0,
    max: i64::MAX,
};

const QOS_COLUMNS: &[Column] = &[
    col("external_ids", MAP, RW),
    col("other_config", MAP, RW),
    col(
        "queues",
        ColType {
            key: AtomType::Integer {
                min: 0,
                max: u32::MAX as i64,
            },
            value: Some(AtomType::Uuid),
            min: 0,
            max: UNLIMITED,
        },
        RW,
    ),
    col("type", ColType::scalar(STR), RW),
];

const QUEUE_COLUMNS: &[Column] = &[
    col(
        "dscp",
        ColType::optional(AtomType::Integer { min: 0, max: 63 }),
        RW,
    ),
    col("external_ids", MAP, RW),
    col("other_config", MAP, RW),
];

fn norm(c: u8) -> u8 {
    if c == b'-' {
        b'_'
    } else {
        c.to_ascii_lowercase()
    }
}

/// OVS's `score_partial_match`: how well user input `s` matches `name`.
fn score(name: &str, s: &str) -> u32 {
    if name == s {
        return u32::MAX;
    }
    let (n, t) = (name.as_bytes(), s.as_bytes());
    let mut i = 0usize;
    loop {
        let a = n.get(i).copied().map(norm);
        let b = t.get(i).copied().map(norm);
        if a != b {
            break;
        }
        if a.is_none() {
            return u32::MAX - 1;
        }
        i += 1;
    }
    if i == t.len() {
        i as u32
    } else {
        0
    }
}

fn best_match<'a, T>(
    items: impl Iterator<Item = (&'a str, T)>,
    s: &str,
) -> (Vec<&'a str>, Option<T>) {
    let mut best = 0u32;
    let mut names = Vec::new();
    let mut found = None;
    for (name, item) in items {
        let sc = score(name, s);
        if sc > 0 && sc >= best {
            if sc > best {
                names.clear();
            }
            best = sc;
            names.push(name);
            found = Some(item);
        }
    }
    (names, found)
}

/// Look a table up by (abbreviated) name.
pub fn find_table(s: &str) -> Result<Table, String> {
    let (names, found) = best_match(Table::ALL.iter().map(|t| (t.name(), *t)), s);
    match (names.len(), found) {
        (1, Some(t)) => Ok(t),
        (0, _) | (_, None) => Err(format!(
            "unknown table \"{s}\" (rvswitch has tables {})",
            Table::ALL.map(Table::name).join(", ")
        )),
        _ => Err(format!(
            "\"{s}\" matches multiple table names: {}",
            names.join(", ")
        )),
    }
}

/// Look a column up by (abbreviated) name; `-` and `_` are equal.
pub fn find_column(table: Table, s: &str) -> Result<&'static Column, String> {
    let (names, found) = best_match(table.columns().iter().map(|c| (c.name, c)), s);
    match (names.len(), found) {
        (1, Some(c)) => Ok(c),
        (0, _) | (_, None) => Err(format!(
            "{} does not contain a column whose name matches \"{s}\"",
            table.name()
        )),
        _ => Err(format!(
            "{} contains more than one column whose name matches \"{s}\": {}",
            table.name(),
            names.join(", ")
        )),
    }
}

/// A record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Row {
    /// The `Open_vSwitch` record.
    Root,
    /// `bridges[b]`.
    Bridge(usize),
    /// `bridges[b].ports[p]`.
    Port(usize, usize),
    /// `bridges[b].ports[p].interfaces[i]`.
    Interface(usize, usize, usize),
    /// `qos[q]`.
    Qos(usize),
    /// `queues[q]`.
    Queue(usize),
}

impl Row {
    /// The table the row belongs to.
    pub const fn table(self) -> Table {
        match self {
            Row::Root => Table::OpenVswitch,
            Row::Bridge(..) => Table::Bridge,
            Row::Port(..) => Table::Port,
            Row::Interface(..) => Table::Interface,
            Row::Qos(..) => Table::Qos,
            Row::Queue(..) => Table::Queue,
        }
    }
}

/// Every row of `table`, in database order.
pub fn rows(db: &Db, table: Table) -> Vec<Row> {
    let mut out = Vec::new();
    match table {
        Table::OpenVswitch => out.push(Row::Root),
        Table::Bridge => out.extend((0..db.bridges.len()).map(Row::Bridge)),
        Table::Port => {
            for (b, br) in db.bridges.iter().enumerate() {
                out.extend((0..br.ports.len()).map(|p| Row::Port(b, p)));
            }
        }
        Table::Interface => {
            for (b, br) in db.bridges.iter().enumerate() {
                for (p, port) in br.ports.iter().enumerate() {
                    out.extend((0..port.interfaces.len()).map(|i| Row::Interface(b, p, i)));
                }
            }
        }
        Table::Qos => out.extend((0..db.qos.len()).map(Row::Qos)),
        Table::Queue => out.extend((0..db.queues.len()).map(Row::Queue)),
    }
    out
}

/// The record id of a row.
pub fn row_uuid(db: &Db, row: Row) -> Option<Uuid> {
    Some(match row {
        Row::Root => db.uuid,
        Row::Bridge(b) => db.bridges.get(b)?.uuid,
        Row::Port(b, p) => db.bridges.get(b)?.ports.get(p)?.uuid,
        Row::Interface(b, p, i) => db.bridges.get(b)?.ports.get(p)?.interfaces.get(i)?.uuid,
        Row::Qos(q) => db.qos.get(q)?.uuid,
        Row::Queue(q) => db.queues.get(q)?.uuid,
    })
}

fn row_name(db: &Db, row: Row) -> Option<&str> {
    Some(match row {
        Row::Root | Row::Qos(_) | Row::Queue(_) => return None,
        Row::Bridge(b) => &db.bridges.get(b)?.name,
        Row::Port(b, p) => &db.bridges.get(b)?.ports.get(p)?.name,
        Row::Interface(b, p, i) => &db.bridges.get(b)?.ports.get(p)?.interfaces.get(i)?.name,
    })
}

/// Find a row by record id as `ovs-vsctl` does: full UUID, `.` for the
/// only row of a table, name (for `QoS`: the name of a port whose `qos` it
/// is), or a unique UUID prefix of at least 4 characters. `Ok(None)` when
/// nothing matches.
pub fn find_row(db: &Db, table: Table, id: &str) -> Result<Option<Row>, String> {
    let all = rows(db, table);
    if let Ok(u) = id.parse::<Uuid>() {
        if let Some(r) = all.iter().find(|r| row_uuid(db, **r) == Some(u)) {
            return Ok(Some(*r));
        }
    }
    if id == "." && all.len() == 1 {
        return Ok(all.first().copied());
    }
    if let Some(r) = all.iter().find(|r| row_name(db, **r) == Some(id)) {
        return Ok(Some(*r));
    }
    if table == Table::Qos {
        if let Some(q) = db.port(id).and_then(|(_, p)| p.qos) {
            if let Some(r) = all.iter().find(|r| row_uuid(db, **r) == Some(q)) {
                return Ok(Some(*r));
            }
        }
    }
    let hexish = id.len() >= 4 && id.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-');
    if hexish {
        let matches: Vec<Row> = all
            .iter()
            .copied()
            .filter(|r| row_uuid(db, *r).is_some_and(|u| u.starts_with(id)))
            .collect();
        match matches.as_slice() {
            [one] => return Ok(Some(*one)),
            [a, b, ..] => {
                return Err(format!(
                    "{} contains 2 or more rows whose UUIDs begin with {id}: at least {} and {}",
                    table.name(),
                    row_uuid(db, *a).unwrap_or_default(),
                    row_uuid(db, *b).unwrap_or_default()
                ))
            }
            [] => {}
        }
    }
    Ok(None)
}

/// Parse a whole value for `col` (the `VALUE` of `COL=VALUE`). `ty`
/// overrides the column type (for `add`/`remove`/`find`, which allow more
/// elements).
pub fn parse_value(col: &Column, s: &str, ty: &ColType) -> Result<Datum, String> {
    parse_value_with(col, s, ty, None)
}

/// [`parse_value`], with `@name` row ids for uuids from `ids`.
pub fn parse_value_with(
    col: &Column,
    s: &str,
    ty: &ColType,
    ids: Option<&mut (dyn RowIds + '_)>,
) -> Result<Datum, String> {
    match col.parse {
        // A single string may be written without quotes even when it
        // contains delimiters (`mac=52:54:00:12:34:56`); ovs-vsctl insists
        // on quotes there.
        Parse::Generic
            if ty.max == 1
                && !ty.is_map()
                && matches!(ty.key, AtomType::String { .. })
                && !s.trim_start().starts_with(['"', '['])
                && !s.trim().is_empty() =>
        {
            let atom = crate::value::parse_single_atom(s.trim(), &ty.key)?;
            Ok(Datum::atom(atom))
        }
        Parse::Generic => parse_datum_with(s, ty, ids),
        Parse::Tag => {
            let t = s.trim();
            let inner = t
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(t)
                .trim();
            if inner.is_empty() {
                if t.starts_with('[') {
                    return Ok(Datum::empty());
                }
                return Err("use \"[]\" to specify the empty set".to_string());
            }
            let v = parse_vid(inner).map_err(|e| format!("tag: {e}"))?;
            if v == 0 {
                return Err(
                    "tag: VLAN 0 is not a valid tag (use a VLAN between 1 and 4094, or clear tag)"
                        .to_string(),
                );
            }
            Ok(Datum::integer(v as i64))
        }
        Parse::Trunks => {
            let set = VlanSet::parse(s).map_err(|e| format!("trunks: {e}"))?;
            let d = Datum::set(set.iter().map(|v| Atom::Integer(v as i64)).collect());
            if d.len() < ty.min {
                return Err(format!("{s}: at least {} VLAN(s) required", ty.min));
            }
            Ok(d)
        }
    }
}

fn smap(m: &StrMap) -> Datum {
    Datum::string_map(m)
}

fn uuids(v: impl Iterator<Item = Uuid>) -> Datum {
    Datum::set(v.map(Atom::Uuid).collect())
}

fn strings(v: &[&str]) -> Datum {
    Datum::set(v.iter().map(|s| Atom::String(s.to_string())).collect())
}

/// `ovs_version` as rvswitch reports it.
pub fn ovs_version() -> String {
    format!("rvswitch {}", env!("CARGO_PKG_VERSION"))
}

/// Read `col` of `row`. Runtime columns come from `rt`.
pub fn read(db: &Db, row: Row, col: &Column, rt: &dyn Runtime) -> Datum {
    let name = col.name;
    match row {
        Row::Root => match name {
            "bridges" => uuids(db.bridges.iter().map(|b| b.uuid)),
            "datapath_types" => strings(&["netdev"]),
            "dpdk_initialized" => Datum::boolean(rt.global().dpdk_initialized),
            "dpdk_version" => Datum::opt_string(rt.global().dpdk_version.as_deref()),
            "external_ids" => smap(&db.external_ids),
            "iface_types" => strings(IfaceType::SUPPORTED),
            "other_config" => smap(&db.other_config),
            "ovs_version" => Datum::string(&ovs_version()),
            _ => Datum::empty(),
        },
        Row::Bridge(b) => {
            let Some(br) = db.bridges.get(b) else {
                return Datum::empty();
            };
            match name {
                "datapath_type" => Datum::string(&br.datapath_type),
                "external_ids" => smap(&br.external_ids),
                "fail_mode" => Datum::opt_string(br.fail_mode.map(|m| match m {
                    FailMode::Standalone => "standalone",
                    FailMode::Secure => "secure",
                })),
                "name" => Datum::string(&br.name),
                "other_config" => smap(&br.other_config),
                "ports" => uuids(br.ports.iter().map(|p| p.uuid)),
                _ => Datum::empty(),
            }
        }
        Row::Port(b, p) => {
            let Some(port) = db.bridges.get(b).and_then(|br| br.ports.get(p)) else {
                return Datum::empty();
            };
            match name {
                "bond_active_slave" => {
                    Datum::opt_string(rt.port(&port.name).bond_active_slave.as_deref())
                }
                "bond_downdelay" => Datum::integer(port.bond_downdelay),
                "bond_fake_iface" => Datum::boolean(port.bond_fake_iface),
                "bond_mode" => Datum::opt_string(port.bond_mode.map(BondMode::as_str)),
                "bond_updelay" => Datum::integer(port.bond_updelay),
                "external_ids" => smap(&port.external_ids),
                "fake_bridge" => Datum::boolean(port.fake_bridge),
                "interfaces" => uuids(port.interfaces.iter().map(|i| i.uuid)),
                "lacp" => Datum::opt_string(port.lacp.map(LacpMode::as_str)),
                "name" => Datum::string(&port.name),
                "other_config" => smap(&port.other_config),
                "qos" => Datum::set(port.qos.map(Atom::Uuid).into_iter().collect()),
                "status" => smap(&rt.port(&port.name).status),
                "tag" => Datum::opt_integer(port.tag.map(i64::from)),
                "trunks" => Datum::set(
                    port.trunks
                        .iter()
                        .map(|v| Atom::Integer(*v as i64))
                        .collect(),
                ),
                "vlan_mode" => Datum::opt_string(port.vlan_mode.map(VlanMode::as_str)),
                _ => Datum::empty(),
            }
        }
        Row::Interface(b, p, i) => {
            let Some(iface) = db
                .bridges
                .get(b)
                .and_then(|br| br.ports.get(p))
                .and_then(|port| port.interfaces.get(i))
            else {
                return Datum::empty();
            };
            let runtime = || rt.interface(&iface.name);
            match name {
                "admin_state" => match iface.admin_state {
                    Some(s) => Datum::string(s.as_str()),
                    None => Datum::opt_string(runtime().admin_state.as_deref()),
                },
                "error" => Datum::opt_string(runtime().error.as_deref()),
                "external_ids" => smap(&iface.external_ids),
                "ingress_policing_burst" => Datum::integer(iface.ingress_policing_burst),
                "ingress_policing_rate" => Datum::integer(iface.ingress_policing_rate),
                "link_state" => Datum::opt_string(runtime().link_state.as_deref()),
                "mac" => Datum::opt_string(iface.mac.map(|m| m.to_string()).as_deref()),
                "mac_in_use" => Datum::opt_string(runtime().mac_in_use.as_deref()),
                "mtu" => Datum::opt_integer(runtime().mtu),
                "mtu_request" => Datum::opt_integer(iface.mtu_request),
                "name" => Datum::string(&iface.name),
                "ofport" => Datum::opt_integer(runtime().ofport),
                "options" => smap(&iface.options),
                "other_config" => smap(&iface.other_config),
                "statistics" => Datum::map(
                    runtime()
                        .statistics
                        .into_iter()
                        .map(|(k, v)| (Atom::String(k), Atom::Integer(v))),
                ),
                "status" => smap(&runtime().status),
                "type" => Datum::string(iface.iface_type.as_str()),
                _ => Datum::empty(),
            }
        }
        Row::Qos(q) => {
            let Some(qos) = db.qos.get(q) else {
                return Datum::empty();
            };
            match name {
                "external_ids" => smap(&qos.external_ids),
                "other_config" => smap(&qos.other_config),
                "queues" => Datum::map(
                    qos.queues
                        .iter()
                        .map(|(k, v)| (Atom::Integer(i64::from(*k)), Atom::Uuid(*v))),
                ),
                "type" => Datum::string(&qos.qos_type),
                _ => Datum::empty(),
            }
        }
        Row::Queue(q) => {
            let Some(queue) = db.queues.get(q) else {
                return Datum::empty();
            };
            match name {
                "dscp" => Datum::opt_integer(queue.dscp),
                "external_ids" => smap(&queue.external_ids),
                "other_config" => smap(&queue.other_config),
                _ => Datum::empty(),
            }
        }
    }
}

fn to_smap(d: &Datum) -> StrMap {
    d.keys
        .iter()
        .zip(&d.values)
        .filter_map(|(k, v)| match (k, v) {
            (Atom::String(k), Atom::String(v)) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

fn first_str(d: &Datum) -> Option<&str> {
    match d.keys.first() {
        Some(Atom::String(s)) => Some(s),
        _ => None,
    }
}

fn first_int(d: &Datum) -> Option<i64> {
    match d.keys.first() {
        Some(Atom::Integer(i)) => Some(*i),
        _ => None,
    }
}

fn first_bool(d: &Datum) -> Option<bool> {
    match d.keys.first() {
        Some(Atom::Boolean(b)) => Some(*b),
        _ => None,
    }
}

fn read_only_error(table: Table, col: &Column) -> String {
    match col.name {
        "bridges" => "cannot modify column bridges of table Open_vSwitch directly (use add-br and del-br)".into(),
        "ports" => "cannot modify column ports of table Bridge directly (use add-port and del-port)".into(),
        "interfaces" => "cannot modify column interfaces of table Port directly (use add-bond, add-bond-iface and del-bond-iface)".into(),
        _ => format!(
            "cannot modify read-only column {} in table {}",
            col.name,
            table.name()
        ),
    }
}

/// Whether `col` of `table` may be written.
pub fn check_writable(table: Table, col: &Column) -> Result<(), String> {
    if col.access == Access::ReadWrite {
        Ok(())
    } else {
        Err(read_only_error(table, col))
    }
}

/// Write `d` into `col` of `row`, converting to the typed field.
pub fn write(db: &mut Db, row: Row, col: &Column, d: &Datum) -> Result<(), String> {
    let table = row.table();
    check_writable(table, col)?;
    if d.len() < col.ty.min || d.len() > col.ty.max {
        return Err(format!(
            "column {} of table {} needs between {} and {} values, got {}",
            col.name,
            table.name(),
            col.ty.min,
            col.ty.max,
            d.len()
        ));
    }
    let missing = || format!("no such row in table {}", table.name());
    match row {
        Row::Root => match col.name {
            "external_ids" => db.external_ids = to_smap(d),
            "other_config" => db.other_config = to_smap(d),
            _ => return Err(read_only_error(table, col)),
        },
        Row::Bridge(b) => {
            let br = db.bridges.get_mut(b).ok_or_else(missing)?;
            match col.name {
                "datapath_type" => {
                    let t = first_str(d).unwrap_or("");
                    match t {
                        "" | "netdev" => br.datapath_type = t.to_string(),
                        "system" => {
                            return Err("datapath_type=system is not supported: rvswitch has only the userspace datapath (use datapath_type=netdev)".into())
                        }
                        other => {
                            return Err(format!(
                                "datapath_type=\"{other}\" is not supported: rvswitch has only the userspace datapath (use datapath_type=netdev)"
                            ))
                        }
                    }
                }
                "external_ids" => br.external_ids = to_smap(d),
                "fail_mode" => {
                    br.fail_mode = match first_str(d) {
                        None => None,
                        Some("secure") => Some(FailMode::Secure),
                        Some(_) => Some(FailMode::Standalone),
                    }
                }
                "other_config" => br.other_config = to_smap(d),
                _ => return Err(read_only_error(table, col)),
            }
        }
        Row::Port(b, p) => {
            let port = db
                .bridges
                .get_mut(b)
                .and_then(|br| br.ports.get_mut(p))
                .ok_or_else(missing)?;
            match col.name {
                "bond_downdelay" => port.bond_downdelay = first_int(d).unwrap_or(0),
                "bond_updelay" => port.bond_updelay = first_int(d).unwrap_or(0),
                "bond_fake_iface" => port.bond_fake_iface = first_bool(d).unwrap_or(false),
                "fake_bridge" => port.fake_bridge = first_bool(d).unwrap_or(false),
                "bond_mode" => {
                    port.bond_mode = match first_str(d) {
                        None => None,
                        Some(s) => Some(BondMode::from_name(s).ok_or_else(|| {
                            format!("\"{s}\" is not a bond_mode (expected active-backup, balance-slb or balance-tcp)")
                        })?),
                    }
                }
                "lacp" => {
                    port.lacp = match first_str(d) {
                        None => None,
                        Some(s) => Some(LacpMode::from_name(s).ok_or_else(|| {
                            format!("\"{s}\" is not a lacp mode (expected active, passive or off)")
                        })?),
                    }
                }
                "external_ids" => port.external_ids = to_smap(d),
                "other_config" => port.other_config = to_smap(d),
                "qos" => port.qos = first_uuid(d),
                "tag" => {
                    port.tag = match first_int(d) {
                        None => None,
                        Some(v) if (1..=4094).contains(&v) => Some(v as u16),
                        Some(v) => {
                            return Err(format!(
                                "tag: VLAN {v} is out of range (a tag must be between 1 and 4094)"
                            ))
                        }
                    }
                }
                "trunks" => {
                    let mut v = Vec::with_capacity(d.len());
                    for a in &d.keys {
                        match a {
                            Atom::Integer(i) if (0..=4094).contains(i) => v.push(*i as u16),
                            Atom::Integer(i) => {
                                return Err(format!(
                                    "trunks: VLAN {i} is out of range (valid VLAN IDs are 0 to 4094)"
                                ))
                            }
                            _ => return Err("trunks: not a VLAN".into()),
                        }
                    }
                    v.sort_unstable();
                    v.dedup();
                    port.trunks = v;
                }
                "vlan_mode" => {
                    port.vlan_mode = match first_str(d) {
                        None => None,
                        Some(s) => Some(VlanMode::parse(s).map_err(|e| e.to_string())?),
                    }
                }
                _ => return Err(read_only_error(table, col)),
            }
        }
        Row::Interface(b, p, i) => {
            let iface = db
                .bridges
                .get_mut(b)
                .and_then(|br| br.ports.get_mut(p))
                .and_then(|port| port.interfaces.get_mut(i))
                .ok_or_else(missing)?;
            match col.name {
                "admin_state" => {
                    iface.admin_state = match first_str(d) {
                        None => None,
                        Some("down") => Some(AdminState::Down),
                        Some(_) => Some(AdminState::Up),
                    }
                }
                "external_ids" => iface.external_ids = to_smap(d),
                "ingress_policing_burst" => {
                    iface.ingress_policing_burst = first_int(d).unwrap_or(0)
                }
                "ingress_policing_rate" => iface.ingress_policing_rate = first_int(d).unwrap_or(0),
                "mac" => {
                    iface.mac = match first_str(d) {
                        None => None,
                        Some(s) => Some(s.parse::<MacAddr>().map_err(|e| format!("mac: {e}"))?),
                    }
                }
                "mtu_request" => iface.mtu_request = first_int(d),
                "options" => iface.options = to_smap(d),
                "other_config" => iface.other_config = to_smap(d),
                "type" => {
                    let t = first_str(d).unwrap_or("");
                    iface.iface_type = IfaceType::parse(t).ok_or_else(|| unsupported_type(t))?;
                }
                _ => return Err(read_only_error(table, col)),
            }
        }
        Row::Qos(q) => {
            let qos = db.qos.get_mut(q).ok_or_else(missing)?;
            match col.name {
                "external_ids" => qos.external_ids = to_smap(d),
                "other_config" => qos.other_config = to_smap(d),
                "queues" => {
                    qos.queues = d
                        .keys
                        .iter()
                        .zip(&d.values)
                        .filter_map(|(k, v)| match (k, v) {
                            (Atom::Integer(k), Atom::Uuid(v)) => {
                                Some((u32::try_from(*k).ok()?, *v))
                            }
                            _ => None,
                        })
                        .collect()
                }
                "type" => qos.qos_type = first_str(d).unwrap_or("").to_string(),
                _ => return Err(read_only_error(table, col)),
            }
        }
        Row::Queue(q) => {
            let queue = db.queues.get_mut(q).ok_or_else(missing)?;
            match col.name {
                "dscp" => queue.dscp = first_int(d),
                "external_ids" => queue.external_ids = to_smap(d),
                "other_config" => queue.other_config = to_smap(d),
                _ => return Err(read_only_error(table, col)),
            }
        }
    }
    Ok(())
}

fn first_uuid(d: &Datum) -> Option<Uuid> {
    match d.keys.first() {
        Some(Atom::Uuid(u)) => Some(*u),
        _ => None,
    }
}

fn unsupported_type(t: &str) -> String {
    let hint = match t {
        "system" => " (rvswitch has no kernel datapath: bind the NIC to DPDK and use type=dpdk with options:dpdk-devargs)",
        _ => "",
    };
    format!(
        "interface type \"{t}\" is not supported; rvswitch supports {}{hint}",
        IfaceType::SUPPORTED.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Bridge, Interface, Port};
    use crate::env::NoRuntime;

    fn u(n: u8) -> Uuid {
        Uuid::from_random_bytes([n; 16])
    }

    fn sample() -> Db {
        let mut db = Db::new(u(1));
        let mut br = Bridge::new(u(2), "br0");
        br.ports.push(Port::new(
            u(3),
            "br0",
            vec![Interface::internal(u(4), "br0")],
        ));
        br.ports.push(Port::new(
            u(5),
            "bond0",
            vec![Interface::new(u(6), "eth0"), Interface::new(u(7), "eth1")],
        ));
        db.bridges.push(br);
        db
    }

    #[test]
    fn table_and_column_lookup_like_ovs() {
        assert_eq!(find_table("interface").unwrap(), Table::Interface);
        assert_eq!(find_table("Open_vSwitch").unwrap(), Table::OpenVswitch);
        assert_eq!(find_table("open-vswitch").unwrap(), Table::OpenVswitch);
        assert_eq!(find_table("o").unwrap(), Table::OpenVswitch);
        assert_eq!(find_table("br").unwrap(), Table::Bridge);
        assert!(find_table("Controller")
            .unwrap_err()
            .contains("unknown table \"Controller\""));
        assert_eq!(
            find_column(Table::Interface, "other-config").unwrap().name,
            "other_config"
        );
        assert_eq!(find_column(Table::Port, "vlan").unwrap().name, "vlan_mode");
        assert!(find_column(Table::Port, "bond_")
            .unwrap_err()
            .contains("more than one column"));
        assert!(find_column(Table::Port, "colour")
            .unwrap_err()
            .contains("Port does not contain a column whose name matches \"colour\""));
    }

    #[test]
    fn rows_by_name_uuid_dot_and_prefix() {
        let db = sample();
        assert_eq!(
            find_row(&db, Table::OpenVswitch, ".").unwrap(),
            Some(Row::Root)
        );
        assert_eq!(
            find_row(&db, Table::Bridge, ".").unwrap(),
            Some(Row::Bridge(0))
        );
        assert_eq!(
            find_row(&db, Table::Port, "bond0").unwrap(),
            Some(Row::Port(0, 1))
        );
        assert_eq!(
            find_row(&db, Table::Interface, &u(7).to_string()).unwrap(),
            Some(Row::Interface(0, 1, 1))
        );
        assert_eq!(
            find_row(&db, Table::Interface, "0606").unwrap(),
            Some(Row::Interface(0, 1, 0))
        );
        assert_eq!(find_row(&db, Table::Interface, "eth9").unwrap(), None);
        assert_eq!(
            find_row(&db, Table::Port, ".").unwrap(),
            None,
            "two ports: . is ambiguous"
        );
    }

    #[test]
    fn read_write_round_trip_and_read_only() {
        let mut db = sample();
        let tag = find_column(Table::Port, "tag").unwrap();
        let d = parse_value(tag, "300", &tag.ty).unwrap();
        write(&mut db, Row::Port(0, 1), tag, &d).unwrap();
        assert_eq!(db.bridges[0].ports[1].tag, Some(300));
        assert_eq!(
            read(&db, Row::Port(0, 1), tag, &NoRuntime).to_text(&tag.ty),
            "300"
        );
        assert!(parse_value(tag, "4095", &tag.ty)
            .unwrap_err()
            .contains("4095"));
        assert!(parse_value(tag, "0", &tag.ty)
            .unwrap_err()
            .contains("VLAN 0"));
        let trunks = find_column(Table::Port, "trunks").unwrap();
        let d = parse_value(trunks, "11,300-302", &trunks.ty).unwrap();
        write(&mut db, Row::Port(0, 1), trunks, &d).unwrap();
        assert_eq!(db.bridges[0].ports[1].trunks, vec![11, 300, 301, 302]);
        assert!(parse_value(trunks, "5-2", &trunks.ty)
            .unwrap_err()
            .contains("reversed"));

        let name = find_column(Table::Bridge, "name").unwrap();
        assert!(write(&mut db, Row::Bridge(0), name, &Datum::string("x"))
            .unwrap_err()
            .contains("read-only column name in table Bridge"));
        let ty = find_column(Table::Interface, "type").unwrap();
        let e = write(
            &mut db,
            Row::Interface(0, 1, 0),
            ty,
            &Datum::string("vxlan"),
        )
        .unwrap_err();
        assert!(
            e.contains("\"vxlan\" is not supported") && e.contains("dpdkvhostuserclient"),
            "{e}"
        );
        let dt = find_column(Table::Bridge, "datapath_type").unwrap();
        let e = write(&mut db, Row::Bridge(0), dt, &Datum::string("system")).unwrap_err();
        assert!(e.contains("only the userspace datapath"), "{e}");
    }
}
