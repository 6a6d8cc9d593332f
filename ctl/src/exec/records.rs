//! `create` and `destroy`, and the `@name` row ids of a command chain
//! (ovs-vsctl's symbol table): `--id=@name create ...` names the new row,
//! and `@name` stands for its UUID in the uuid values of `create`, `set`,
//! `add` and `remove`, before or after the `create` in the same chain.
//!
//! rvswitch's bridges, ports and interfaces nest in one another (see
//! [`crate::db`]), so rows are created and destroyed only in the root
//! tables OVS keeps until destroyed: `QoS` and `Queue`. A destroyed row
//! still referenced fails the whole chain at commit, as ovsdb-server's
//! referential integrity does ([`crate::qos::check_references`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{CtlError, Ctx};
use crate::cmd::Command;
use crate::db::{Qos, Queue};
use crate::env::Env;
use crate::schema::{find_row, find_table, Row, Table};
use crate::uuid::Uuid;
use crate::value::RowIds;

/// One `@name` of the chain.
#[derive(Copy, Clone, Debug)]
struct Symbol {
    uuid: Uuid,
    /// A `--id` gave it a row.
    created: bool,
}

/// The chain's `@name`s.
#[derive(Debug, Default)]
pub(super) struct RowIdTable {
    symbols: BTreeMap<String, Symbol>,
}

/// A [`RowIdTable`] with the source of new UUIDs, for value parsing.
pub(super) struct Alloc<'t> {
    pub(super) table: &'t mut RowIdTable,
    pub(super) env: &'t dyn Env,
}

impl RowIds for Alloc<'_> {
    fn row_id(&mut self, name: &str) -> Uuid {
        self.table.get_or_insert(name, self.env).uuid
    }
}

impl RowIdTable {
    fn get_or_insert(&mut self, name: &str, env: &dyn Env) -> Symbol {
        *self
            .symbols
            .entry(name.to_string())
            .or_insert_with(|| Symbol {
                uuid: env.new_uuid(),
                created: false,
            })
    }

    /// `--id=NAME` on `create` (ovs-vsctl's `create_symbol`).
    fn create(&mut self, id: &str, env: &dyn Env) -> Result<Uuid, CtlError> {
        if !id.starts_with('@') {
            return Err(CtlError::new(format!(
                "row id \"{id}\" does not begin with \"@\""
            )));
        }
        let sym = self.get_or_insert(id, env);
        if sym.created {
            return Err(CtlError::new(format!(
                "row id \"{id}\" may only be specified on one --id option"
            )));
        }
        self.symbols.insert(
            id.to_string(),
            Symbol {
                created: true,
                ..sym
            },
        );
        Ok(sym.uuid)
    }

    /// After the last command: every `@name` used must have been created.
    pub(super) fn check_all_created(&self) -> Result<(), CtlError> {
        match self.symbols.iter().find(|(_, s)| !s.created) {
            Some((name, _)) => Err(CtlError::new(format!(
                "row id \"{name}\" is referenced but never created (e.g. with \"-- --id={name} create ...\")"
            ))),
            None => Ok(()),
        }
    }
}

/// The refusal for `create`/`destroy` on a table whose rows nest.
fn not_root(cmd: &str, table: Table) -> CtlError {
    let how = match (cmd, table) {
        ("create", Table::Bridge) => "use add-br",
        ("create", Table::Port) => "use add-port or add-bond",
        ("create", Table::Interface) => "use add-port, add-bond or add-bond-iface",
        ("destroy", Table::Bridge) => "use del-br",
        ("destroy", Table::Port) => "use del-port",
        ("destroy", Table::Interface) => "use del-port or del-bond-iface",
        _ => "there is exactly one",
    };
    CtlError::new(format!(
        "\"{cmd}\" works on tables QoS and Queue only: rvswitch's {} rows are made and removed with the bridge commands ({how})",
        table.name()
    ))
}

impl Ctx<'_> {
    /// `[--id=@NAME|UUID] create TABLE [COLUMN[:KEY]=VALUE]...`: prints the
    /// new row's UUID.
    pub(super) fn create(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        if !table.is_root_set() {
            return Err(not_root("create", table));
        }
        let uuid = match c.option("--id") {
            None => self.env.new_uuid(),
            Some(id) => match id.parse::<Uuid>() {
                Ok(u) => u,
                Err(_) => self.row_ids.create(id, self.env)?,
            },
        };
        let row = match table {
            Table::Qos => {
                self.db.qos.push(Qos::new(uuid));
                Row::Qos(self.db.qos.len() - 1)
            }
            _ => {
                self.db.queues.push(Queue::new(uuid));
                Row::Queue(self.db.queues.len() - 1)
            }
        };
        for a in &c.args[1..] {
            self.set_column(table, row, a)?;
        }
        let u = uuid.to_string();
        Ok((format!("{u}\n"), Value::from(u)))
    }

    /// `[--if-exists] [--all] destroy TABLE [RECORD]...`.
    pub(super) fn destroy(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        if !table.is_root_set() {
            return Err(not_root("destroy", table));
        }
        let all = c.has("--all");
        if all && c.args.len() > 1 {
            return Err(CtlError::new(
                "--all and records argument should not be specified together",
            ));
        }
        if all && c.has("--if-exists") {
            return Err(CtlError::new(
                "--all and --if-exists should not be specified together",
            ));
        }
        if all {
            match table {
                Table::Qos => self.db.qos.clear(),
                _ => self.db.queues.clear(),
            }
        }
        // Without --all or records, ovs-vsctl only warns ("either --all or
        // records argument should be specified") and does nothing.
        for id in &c.args[1..] {
            match find_row(&self.db, table, id)? {
                Some(Row::Qos(i)) => {
                    self.db.qos.remove(i);
                }
                Some(Row::Queue(i)) => {
                    self.db.queues.remove(i);
                }
                Some(_) => {}
                None if c.has("--if-exists") => {}
                None => {
                    return Err(CtlError::new(format!(
                        "no row \"{id}\" in table {}",
                        table.name()
                    )))
                }
            }
        }
        Ok((String::new(), Value::Null))
    }
}
