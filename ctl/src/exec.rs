//! The executor: runs a chain of ovs-vsctl commands against a database as
//! one transaction.
//!
//! [`execute`] is pure: it works on a copy of the database and talks to the
//! outside only through [`Env`] and [`Runtime`]. If any command fails, or
//! the resulting database does not validate, the whole chain fails and
//! nothing changes. Otherwise the [`Outcome`] carries the output, the new
//! database (when something changed) and the runtime commands for the
//! daemon to carry out after it has saved and applied the new database.

use core::fmt;

use datapath::vlan::parse_vid;
use serde_json::Value;

use crate::cmd::{self, Command, Kind, Options};
use crate::cond::{parse_column_key_value, Condition};
use crate::db::{Bridge, Db, FailMode, Interface, Port};
use crate::env::{Env, Runtime};
use crate::output::{self, Cell, TableOut};
use crate::runtime::{self, RuntimeCommand};
use crate::schema::{
    self, check_writable, find_column, find_row, find_table, parse_value_with, read, row_uuid,
    rows, Row, Table,
};
use crate::validate::{check_name, validate};
use crate::value::{
    parse_single_atom, parse_single_atom_with, Atom, AtomType, ColType, Datum, UNLIMITED,
};

mod records;

/// A failed command chain: print `vsctl: <message>` and exit 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtlError {
    /// The reason, without the `vsctl: ` prefix.
    pub message: String,
}

impl CtlError {
    /// Build from a message.
    pub fn new(message: impl Into<String>) -> CtlError {
        CtlError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CtlError {}

impl From<String> for CtlError {
    fn from(message: String) -> CtlError {
        CtlError { message }
    }
}

/// The result of a successful chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// What to print on stdout (already in the requested format).
    pub output: String,
    /// Structured output (for `--format=json` requests; `None` otherwise).
    pub json: Option<Value>,
    /// The new database, if the chain changed it (and was not `--dry-run`).
    /// The daemon saves it, applies it, then replies.
    pub new_db: Option<Db>,
    /// Runtime commands to carry out, in order, after the change is applied;
    /// their output follows `output`.
    pub runtime: Vec<RuntimeCommand>,
    /// Process exit status (0, or 2 for `br-exists` on a missing bridge).
    pub exit_code: i32,
    /// Whether output is JSON (runtime command output must match).
    pub json_format: bool,
    /// `--oneline` (runtime command output must match).
    pub oneline: bool,
    /// Number of commands in the chain.
    pub commands: usize,
    /// Position in the chain of each entry of `runtime` (where its JSON
    /// goes in the `json` array of a multi-command chain).
    pub runtime_positions: Vec<usize>,
    /// `--pretty` (runtime command JSON must match).
    pub pretty: bool,
    /// A `wait-until` of the chain does not hold yet: nothing was done and
    /// the client should ask again (ovs-vsctl's "try again").
    pub waiting: bool,
}

impl Outcome {
    /// A chain that printed `output` and changed nothing.
    fn plain(output: String, opts: &Options, exit_code: i32) -> Outcome {
        Outcome {
            output,
            json: None,
            new_db: None,
            runtime: Vec::new(),
            exit_code,
            json_format: opts.json(),
            oneline: opts.oneline,
            commands: 0,
            runtime_positions: Vec::new(),
            pretty: opts.pretty,
            waiting: false,
        }
    }
}

/// Run `argv` (the arguments after `vsctl`) against `db`.
pub fn execute(
    db: &Db,
    argv: &[String],
    env: &dyn Env,
    rt: &dyn Runtime,
) -> Result<Outcome, CtlError> {
    let (opts, commands) = cmd::parse(argv)?;
    if opts.help || opts.version || opts.list_options {
        let text = if opts.help {
            cmd::usage()
        } else if opts.version {
            format!("vsctl (rvswitch) {}\n", env!("CARGO_PKG_VERSION"))
        } else {
            crate::options::options_text()
        };
        let plain = Options::default();
        return Ok(Outcome::plain(text, &plain, 0));
    }
    let mut ctx = Ctx {
        db: db.clone(),
        env,
        rt,
        opts: &opts,
        tables: 0,
        runtime: Vec::new(),
        row_ids: records::RowIdTable::default(),
    };
    let mut texts = Vec::with_capacity(commands.len());
    let mut jsons = Vec::with_capacity(commands.len());
    let mut runtime_positions = Vec::new();
    for (idx, c) in commands.iter().enumerate() {
        if c.syntax.kind == Kind::Runtime {
            runtime_positions.push(idx);
        }
        match ctx.run(c)? {
            Step::Out(text, json) => {
                texts.push((c, text));
                jsons.push(json);
            }
            Step::Exit(code) => {
                return Ok(Outcome {
                    commands: commands.len(),
                    ..Outcome::plain(String::new(), &opts, code)
                })
            }
            Step::Wait => {
                return Ok(Outcome {
                    commands: commands.len(),
                    waiting: true,
                    ..Outcome::plain(String::new(), &opts, 0)
                })
            }
        }
    }
    ctx.row_ids.check_all_created()?;
    let mut new_db = None;
    if ctx.db != *db {
        validate(Some(db), &ctx.db, env)?;
        if !opts.dry_run {
            new_db = Some(ctx.db);
        }
    }

    let mut output = String::new();
    let json = if opts.json() {
        for j in &jsons {
            if !j.is_null() {
                output.push_str(&json_text(j, opts.pretty));
            }
        }
        Some(if jsons.len() == 1 {
            jsons.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(jsons)
        })
    } else {
        for (c, t) in &texts {
            // As ovs-vsctl: tables are printed as they are, runtime
            // commands print later (in `Response::from_outcome`).
            let table = matches!(c.name(), "list" | "find");
            if opts.oneline && !table && c.syntax.kind != Kind::Runtime {
                output.push_str(&oneline(t));
            } else {
                output.push_str(t);
            }
        }
        None
    };
    Ok(Outcome {
        output,
        json,
        new_db,
        runtime: ctx.runtime,
        commands: commands.len(),
        runtime_positions,
        ..Outcome::plain(String::new(), &opts, 0)
    })
}

/// One command's output in `--oneline` form.
pub fn oneline(t: &str) -> String {
    let t = t.strip_suffix('\n').unwrap_or(t);
    let mut s = String::with_capacity(t.len() + 1);
    for c in t.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('\n');
    s
}

/// A JSON value as one output line, or as OVS lays out `--pretty` JSON.
pub fn json_text(v: &Value, pretty: bool) -> String {
    let mut s = crate::output::ovs_json(v, pretty);
    s.push('\n');
    s
}

enum Step {
    Out(String, Value),
    Exit(i32),
    /// A `wait-until` that does not hold yet.
    Wait,
}

fn text_lines(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// A bridge as ovs-vsctl sees it: real, or fake (a VLAN of a parent).
#[derive(Clone, Debug)]
struct LBridge {
    name: String,
    /// Index of the real bridge (the parent for a fake bridge).
    real: usize,
    /// `Some(vlan)` for a fake bridge.
    vlan: Option<u16>,
}

struct Ctx<'a> {
    db: Db,
    env: &'a dyn Env,
    rt: &'a dyn Runtime,
    opts: &'a Options,
    tables: usize,
    runtime: Vec<RuntimeCommand>,
    /// The chain's `@name` row ids.
    row_ids: records::RowIdTable,
}

fn command_string(c: &Command) -> String {
    let mut parts: Vec<String> = c
        .options
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    parts.push(c.name().to_string());
    parts.extend(c.args.iter().cloned());
    parts.join(" ")
}

impl Ctx<'_> {
    fn run(&mut self, c: &Command) -> Result<Step, CtlError> {
        if c.syntax.kind == Kind::Runtime {
            let r = runtime::parse(&self.db, c)?;
            self.runtime.push(r);
            return Ok(Step::Out(String::new(), Value::Null));
        }
        let (text, json) = match c.name() {
            "init" => (String::new(), Value::Null),
            "show" => (
                output::show(&self.db, self.rt),
                output::show_json(&self.db, self.rt),
            ),
            "add-br" => self.add_br(c)?,
            "del-br" => self.del_br(c)?,
            "list-br" => self.list_br(c),
            "br-exists" => {
                if self.find_bridge(c.arg(0)).is_none() {
                    return Ok(Step::Exit(2));
                }
                (String::new(), Value::Bool(true))
            }
            "br-to-vlan" => {
                let b = self.must_bridge(c.arg(0))?;
                let v = b.vlan.unwrap_or(0);
                (format!("{v}\n"), Value::from(v))
            }
            "br-to-parent" => {
                let b = self.must_bridge(c.arg(0))?;
                let p = self.db.bridges[b.real].name.clone();
                (format!("{p}\n"), Value::from(p))
            }
            "br-set-external-id" => self.br_set_external_id(c)?,
            "br-get-external-id" => self.br_get_external_id(c)?,
            "list-ports" => {
                let b = self.must_bridge(c.arg(0))?;
                let names = self.ports_of(&b);
                (text_lines(&names), Value::from(names))
            }
            "add-port" => {
                self.add_port(c, c.arg(0), c.arg(1), &c.args[1..2], &c.args[2..], false)?;
                (String::new(), Value::Null)
            }
            "add-bond" => {
                let n = c.args[2..]
                    .iter()
                    .position(|a| a.contains('='))
                    .unwrap_or(c.args.len() - 2);
                if n < 2 {
                    return Err(CtlError::new(format!(
                        "add-bond requires at least 2 interfaces, but only {n} were specified"
                    )));
                }
                self.add_port(
                    c,
                    c.arg(0),
                    c.arg(1),
                    &c.args[2..2 + n],
                    &c.args[2 + n..],
                    c.has("--fake-iface"),
                )?;
                (String::new(), Value::Null)
            }
            "del-port" => self.del_port(c)?,
            "port-to-br" => {
                let (b, p) = self.must_port(c.arg(0))?;
                let name = self.logical_of(b, p);
                (format!("{name}\n"), Value::from(name))
            }
            "add-bond-iface" => self.add_bond_iface(c)?,
            "del-bond-iface" => self.del_bond_iface(c)?,
            "list-ifaces" => {
                let b = self.must_bridge(c.arg(0))?;
                let names = self.ifaces_of(&b);
                (text_lines(&names), Value::from(names))
            }
            "iface-to-br" => {
                let (b, p, _) = self.must_iface(c.arg(0))?;
                let name = self.logical_of(b, p);
                (format!("{name}\n"), Value::from(name))
            }
            "get-fail-mode" => {
                let b = self.must_bridge(c.arg(0))?;
                match self.db.bridges[b.real].fail_mode {
                    Some(m) => {
                        let s = fail_mode_str(m);
                        (format!("{s}\n"), Value::from(s))
                    }
                    None => (String::new(), Value::Null),
                }
            }
            "set-fail-mode" => {
                let real = self.must_real_bridge(c.arg(0))?;
                let mode = match c.arg(1) {
                    "standalone" => FailMode::Standalone,
                    "secure" => FailMode::Secure,
                    _ => {
                        return Err(CtlError::new(
                            "fail-mode must be \"standalone\" or \"secure\"",
                        ))
                    }
                };
                self.db.bridges[real].fail_mode = Some(mode);
                (String::new(), Value::Null)
            }
            "del-fail-mode" => {
                let real = self.must_real_bridge(c.arg(0))?;
                self.db.bridges[real].fail_mode = None;
                (String::new(), Value::Null)
            }
            "get" => self.get(c)?,
            "set" => self.set(c)?,
            "add" => self.add(c)?,
            "remove" => self.remove(c)?,
            "clear" => self.clear(c)?,
            "list" => self.list(c)?,
            "find" => self.find(c)?,
            "create" => self.create(c)?,
            "destroy" => self.destroy(c)?,
            "wait-until" => {
                if !crate::wait::holds(&self.db, self.rt, c)? {
                    return Ok(Step::Wait);
                }
                (String::new(), Value::Null)
            }
            other => {
                return Err(CtlError::new(format!(
                    "unknown command '{other}'; use --help for help"
                )))
            }
        };
        Ok(Step::Out(text, json))
    }

    // ---- the bridge/port/interface view -------------------------------

    fn find_bridge(&self, name: &str) -> Option<LBridge> {
        if let Some(i) = self.db.bridge_index(name) {
            return Some(LBridge {
                name: name.to_string(),
                real: i,
                vlan: None,
            });
        }
        let f = self.db.fake_bridge(name)?;
        Some(LBridge {
            name: f.name,
            real: self.db.bridge_index(&f.parent)?,
            vlan: Some(f.vlan),
        })
    }

    fn must_bridge(&self, name: &str) -> Result<LBridge, CtlError> {
        self.find_bridge(name)
            .ok_or_else(|| CtlError::new(format!("no bridge named {name}")))
    }

    fn must_real_bridge(&self, name: &str) -> Result<usize, CtlError> {
        let b = self.must_bridge(name)?;
        if b.vlan.is_some() {
            return Err(CtlError::new(format!("{name} is a fake bridge")));
        }
        Ok(b.real)
    }

    /// The logical bridge a port belongs to.
    fn logical_of(&self, b: usize, p: usize) -> String {
        let br = &self.db.bridges[b];
        self.db.logical_bridge_of(br, &br.ports[p])
    }

    /// Ports (by index) attributed to logical bridge `lb`.
    fn port_indices(&self, lb: &LBridge) -> Vec<usize> {
        let br = &self.db.bridges[lb.real];
        (0..br.ports.len())
            .filter(|&p| self.db.logical_bridge_of(br, &br.ports[p]) == lb.name)
            .collect()
    }

    fn ports_of(&self, lb: &LBridge) -> Vec<String> {
        let br = &self.db.bridges[lb.real];
        let mut v: Vec<String> = self
            .port_indices(lb)
            .into_iter()
            .map(|p| br.ports[p].name.clone())
            .filter(|n| *n != lb.name)
            .collect();
        v.sort();
        v
    }

    fn ifaces_of(&self, lb: &LBridge) -> Vec<String> {
        let br = &self.db.bridges[lb.real];
        let mut v: Vec<String> = self
            .port_indices(lb)
            .into_iter()
            .flat_map(|p| br.ports[p].interfaces.iter().map(|i| i.name.clone()))
            .filter(|n| *n != lb.name)
            .collect();
        v.sort();
        v
    }

    /// A port that is not a bridge's local port.
    fn find_port(&self, name: &str) -> Option<(usize, usize)> {
        let (b, p) = self.db.port_index(name)?;
        if self.find_bridge(name).is_some() {
            return None;
        }
        Some((b, p))
    }

    fn must_port(&self, name: &str) -> Result<(usize, usize), CtlError> {
        self.find_port(name)
            .ok_or_else(|| CtlError::new(format!("no port named {name}")))
    }

    /// An interface that is not a bridge's local interface.
    fn find_iface(&self, name: &str) -> Option<(usize, usize, usize)> {
        let r = self.db.interface_index(name)?;
        if self.find_bridge(name).is_some() {
            return None;
        }
        Some(r)
    }

    fn must_iface(&self, name: &str) -> Result<(usize, usize, usize), CtlError> {
        self.find_iface(name)
            .ok_or_else(|| CtlError::new(format!("no interface named {name}")))
    }

    /// ovs-vsctl's `check_conflicts`.
    fn check_conflicts(&self, name: &str, what: &str) -> Result<(), CtlError> {
        if self.find_bridge(name).is_some() {
            return Err(CtlError::new(format!(
                "{what} because a bridge named {name} already exists"
            )));
        }
        if let Some((b, p)) = self.db.port_index(name) {
            return Err(CtlError::new(format!(
                "{what} because a port named {name} already exists on bridge {}",
                self.logical_of(b, p)
            )));
        }
        if let Some((b, p, _)) = self.db.interface_index(name) {
            return Err(CtlError::new(format!(
                "{what} because an interface named {name} already exists on bridge {}",
                self.logical_of(b, p)
            )));
        }
        Ok(())
    }

    // ---- bridge commands ---------------------------------------------

    fn add_br(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let name = c.arg(0);
        let may_exist = c.has("--may-exist");
        let (parent, vlan) = match c.args.len() {
            1 => (None, 0u16),
            3 => {
                let v = parse_vid(c.arg(2)).map_err(|e| format!("add-br: {e}"))?;
                if v == 0 {
                    return Err(CtlError::new(
                        "add-br: VLAN 0 cannot carry a fake bridge (use a VLAN between 1 and 4094)",
                    ));
                }
                (Some(c.arg(1)), v)
            }
            _ => {
                return Err(CtlError::new(
                    "'add-br' command takes exactly 1 or 3 arguments",
                ))
            }
        };
        check_name("bridge", name)?;
        if may_exist {
            if let Some(br) = self.find_bridge(name) {
                match (parent, br.vlan) {
                    (None, None) => return Ok((String::new(), Value::Null)),
                    (None, Some(v)) => {
                        return Err(CtlError::new(format!(
                            "\"--may-exist add-br {name}\" but {name} is a VLAN bridge for VLAN {v}"
                        )))
                    }
                    (Some(p), None) => {
                        return Err(CtlError::new(format!(
                        "\"--may-exist add-br {name} {p} {vlan}\" but {name} is not a VLAN bridge"
                    )))
                    }
                    (Some(p), Some(v)) => {
                        let actual = &self.db.bridges[br.real].name;
                        if actual != p {
                            return Err(CtlError::new(format!(
                                "\"--may-exist add-br {name} {p} {vlan}\" but {name} has the wrong parent {actual}"
                            )));
                        }
                        if v != vlan {
                            return Err(CtlError::new(format!(
                                "\"--may-exist add-br {name} {p} {vlan}\" but {name} is a VLAN bridge for the wrong VLAN {v}"
                            )));
                        }
                        return Ok((String::new(), Value::Null));
                    }
                }
            }
        }
        self.check_conflicts(name, &format!("cannot create a bridge named {name}"))?;
        let iface = Interface::internal(self.env.new_uuid(), name);
        let mut port = Port::new(self.env.new_uuid(), name, vec![iface]);
        match parent {
            None => {
                let mut br = Bridge::new(self.env.new_uuid(), name);
                br.ports.push(port);
                self.db.bridges.push(br);
            }
            Some(p) => {
                let parent = match self.find_bridge(p) {
                    None => return Err(CtlError::new(format!("parent bridge {p} does not exist"))),
                    Some(b) if b.vlan.is_some() => {
                        return Err(CtlError::new(
                            "cannot create bridge with fake bridge as parent",
                        ))
                    }
                    Some(b) => b.real,
                };
                if let Some(f) = self
                    .db
                    .fake_bridges()
                    .into_iter()
                    .find(|f| f.parent == p && f.vlan == vlan)
                {
                    return Err(CtlError::new(format!(
                        "bridge {p} already has a child VLAN bridge {} on VLAN {vlan}",
                        f.name
                    )));
                }
                port.fake_bridge = true;
                port.tag = Some(vlan);
                self.db.bridges[parent].ports.push(port);
            }
        }
        Ok((String::new(), Value::Null))
    }

    fn del_br(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let name = c.arg(0);
        let Some(lb) = self.find_bridge(name) else {
            if c.has("--if-exists") {
                return Ok((String::new(), Value::Null));
            }
            return Err(CtlError::new(format!("no bridge named {name}")));
        };
        if lb.vlan.is_none() {
            self.db.bridges.remove(lb.real);
        } else {
            let doomed = self.port_indices(&lb);
            let br = &mut self.db.bridges[lb.real];
            let mut i = 0usize;
            br.ports.retain(|_| {
                let keep = !doomed.contains(&i);
                i += 1;
                keep
            });
        }
        Ok((String::new(), Value::Null))
    }

    fn list_br(&self, c: &Command) -> (String, Value) {
        let (mut real, mut fake) = (c.has("--real"), c.has("--fake"));
        if !real && !fake {
            real = true;
            fake = true;
        }
        let mut names: Vec<String> = Vec::new();
        if real {
            names.extend(self.db.bridges.iter().map(|b| b.name.clone()));
        }
        if fake {
            names.extend(self.db.fake_bridges().into_iter().map(|f| f.name));
        }
        names.sort();
        (text_lines(&names), Value::from(names))
    }

    fn br_set_external_id(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let lb = self.must_bridge(c.arg(0))?;
        let key = c.arg(1).to_string();
        let value = c.args.get(2).cloned();
        let map = match lb.vlan {
            None => &mut self.db.bridges[lb.real].external_ids,
            Some(_) => {
                let p = self.db.bridges[lb.real]
                    .ports
                    .iter()
                    .position(|p| p.name == lb.name)
                    .ok_or_else(|| CtlError::new(format!("no bridge named {}", lb.name)))?;
                &mut self.db.bridges[lb.real].ports[p].external_ids
            }
        };
        let key = if lb.vlan.is_some() {
            format!("fake-bridge-{key}")
        } else {
            key
        };
        match value {
            Some(v) => {
                map.insert(key, v);
            }
            None => {
                map.remove(&key);
            }
        }
        Ok((String::new(), Value::Null))
    }

    fn br_get_external_id(&self, c: &Command) -> Result<(String, Value), CtlError> {
        let lb = self.must_bridge(c.arg(0))?;
        let (map, prefix) = match lb.vlan {
            None => (&self.db.bridges[lb.real].external_ids, ""),
            Some(_) => match self.db.bridges[lb.real].port(&lb.name) {
                Some(p) => (&p.external_ids, "fake-bridge-"),
                None => return Err(CtlError::new(format!("no bridge named {}", lb.name))),
            },
        };
        match c.args.get(1) {
            Some(k) => match map.get(&format!("{prefix}{k}")) {
                Some(v) => Ok((format!("{v}\n"), Value::from(v.as_str()))),
                None => Ok((String::new(), Value::Null)),
            },
            None => {
                let mut text = String::new();
                let mut obj = serde_json::Map::new();
                for (k, v) in map {
                    if let Some(k) = k.strip_prefix(prefix) {
                        text.push_str(&format!("{k}={v}\n"));
                        obj.insert(k.to_string(), Value::from(v.as_str()));
                    }
                }
                Ok((text, Value::Object(obj)))
            }
        }
    }

    // ---- port and interface commands ----------------------------------

    fn add_port(
        &mut self,
        c: &Command,
        br_name: &str,
        port_name: &str,
        iface_names: &[String],
        settings: &[String],
        fake_iface: bool,
    ) -> Result<(), CtlError> {
        check_name("port", port_name)?;
        for i in iface_names {
            check_name("interface", i)?;
        }
        if c.has("--may-exist") {
            if let Some((b, p)) = self.find_port(port_name) {
                let actual = self.logical_of(b, p);
                if actual != br_name {
                    return Err(CtlError::new(format!(
                        "\"{}\" but {port_name} is actually attached to bridge {actual}",
                        command_string(c)
                    )));
                }
                let mut want: Vec<&str> = iface_names.iter().map(String::as_str).collect();
                want.sort_unstable();
                let mut have: Vec<&str> = self.db.bridges[b].ports[p]
                    .interfaces
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect();
                have.sort_unstable();
                if want != have {
                    return Err(CtlError::new(format!(
                        "\"{}\" but {port_name} actually has interface(s) {}",
                        command_string(c),
                        have.join(", ")
                    )));
                }
                return Ok(());
            }
        }
        self.check_conflicts(
            port_name,
            &format!("cannot create a port named {port_name}"),
        )?;
        for (n, i) in iface_names.iter().enumerate() {
            if i != port_name {
                self.check_conflicts(i, &format!("cannot create an interface named {i}"))?;
            }
            if iface_names[..n].contains(i) {
                return Err(CtlError::new(format!(
                    "cannot create an interface named {i} because it is listed twice"
                )));
            }
        }
        let lb = self.must_bridge(br_name)?;
        let ifaces: Vec<Interface> = iface_names
            .iter()
            .map(|n| Interface::new(self.env.new_uuid(), n))
            .collect();
        let mut port = Port::new(self.env.new_uuid(), port_name, ifaces);
        port.bond_fake_iface = fake_iface;
        if let Some(v) = lb.vlan {
            port.tag = Some(v);
        }
        let br = &mut self.db.bridges[lb.real];
        br.ports.push(port);
        let row = Row::Port(lb.real, br.ports.len() - 1);
        for s in settings {
            self.set_column(Table::Port, row, s)?;
        }
        Ok(())
    }

    fn del_port(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let must_exist = !c.has("--if-exists");
        let target = c.args.last().map(String::as_str).unwrap_or("");
        let found = if self.find_bridge(target).is_some() {
            if must_exist {
                return Err(CtlError::new(format!(
                    "cannot delete port {target} because it is the local port for bridge {target} (deleting this port requires deleting the entire bridge)"
                )));
            }
            None
        } else if !c.has("--with-iface") {
            let p = self.find_port(target);
            if p.is_none() && must_exist {
                return Err(CtlError::new(format!("no port named {target}")));
            }
            p
        } else {
            let p = self
                .find_port(target)
                .or_else(|| self.find_iface(target).map(|(b, p, _)| (b, p)));
            if p.is_none() && must_exist {
                return Err(CtlError::new(format!(
                    "no port or interface named {target}"
                )));
            }
            p
        };
        if let Some((b, p)) = found {
            if c.args.len() == 2 {
                let want = self.must_bridge(c.arg(0))?;
                let actual = self.logical_of(b, p);
                if actual != want.name {
                    let port = &self.db.bridges[b].ports[p].name;
                    if want.vlan.is_none() && self.db.bridges[b].name == want.name {
                        return Err(CtlError::new(format!(
                            "bridge {} does not have a port {port} (although its child bridge {actual} does)",
                            want.name
                        )));
                    }
                    return Err(CtlError::new(format!(
                        "bridge {} does not have a port {port}",
                        want.name
                    )));
                }
            }
            self.db.bridges[b].ports.remove(p);
        }
        Ok((String::new(), Value::Null))
    }

    fn add_bond_iface(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let (b, p) = self.must_port(c.arg(0))?;
        let name = c.arg(1);
        check_name("interface", name)?;
        if c.has("--may-exist") {
            if let Some((ib, ip, _)) = self.find_iface(name) {
                if (ib, ip) == (b, p) {
                    return Ok((String::new(), Value::Null));
                }
                return Err(CtlError::new(format!(
                    "\"{}\" but {name} is actually attached to port {}",
                    command_string(c),
                    self.db.bridges[ib].ports[ip].name
                )));
            }
        }
        self.check_conflicts(name, &format!("cannot create an interface named {name}"))?;
        let iface = Interface::new(self.env.new_uuid(), name);
        self.db.bridges[b].ports[p].interfaces.push(iface);
        Ok((String::new(), Value::Null))
    }

    fn del_bond_iface(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let name = c.args.last().map(String::as_str).unwrap_or("");
        let Some((b, p, i)) = self.find_iface(name) else {
            if c.has("--if-exists") {
                return Ok((String::new(), Value::Null));
            }
            return Err(CtlError::new(format!("no interface named {name}")));
        };
        if c.args.len() == 2 {
            let want = self.must_port(c.arg(0))?;
            if want != (b, p) {
                return Err(CtlError::new(format!(
                    "port {} does not have an interface {name}",
                    c.arg(0)
                )));
            }
        }
        let port = &mut self.db.bridges[b].ports[p];
        if port.interfaces.len() < 2 {
            return Err(CtlError::new(format!(
                "cannot delete last interface from port {}",
                port.name
            )));
        }
        port.interfaces.remove(i);
        Ok((String::new(), Value::Null))
    }

    // ---- generic database commands ------------------------------------

    /// The chain's row ids, for parsing uuid values.
    fn ids(&mut self) -> records::Alloc<'_> {
        records::Alloc {
            table: &mut self.row_ids,
            env: self.env,
        }
    }

    fn row(&self, c: &Command, table: Table) -> Result<Option<Row>, CtlError> {
        let id = c.arg(1);
        match find_row(&self.db, table, id)? {
            Some(r) => Ok(Some(r)),
            None if c.has("--if-exists") => Ok(None),
            None => Err(CtlError::new(format!(
                "no row \"{id}\" in table {}",
                table.name()
            ))),
        }
    }

    /// `COL[:KEY]=VALUE` on one row (ovs-vsctl's `set_column`).
    fn set_column(&mut self, table: Table, row: Row, arg: &str) -> Result<(), CtlError> {
        let (col, key, value) = parse_column_key_value(table, arg, true)?;
        let Some(value) = value else {
            return Err(CtlError::new(format!("{arg}: missing value")));
        };
        check_writable(table, col)?;
        let datum = match key {
            Some(key) => {
                let Some(vty) = col.ty.value else {
                    return Err(CtlError::new(format!(
                        "cannot specify key to set for non-map column {}",
                        col.name
                    )));
                };
                let mut ids = self.ids();
                let k = parse_single_atom_with(&key, &col.ty.key, Some(&mut ids))?;
                let v = parse_single_atom_with(&value, &vty, Some(&mut ids))?;
                let mut d = read(&self.db, row, col, self.rt);
                d.union(&Datum::map([(k, v)]), true);
                d
            }
            None => parse_value_with(col, &value, &col.ty, Some(&mut self.ids()))?,
        };
        schema::write(&mut self.db, row, col, &datum)?;
        Ok(())
    }

    fn get(&self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        // Check the column arguments first, as ovs-vsctl's prerequisites do.
        for a in &c.args[2..] {
            if !a.eq_ignore_ascii_case("_uuid") && !a.eq_ignore_ascii_case("-uuid") {
                parse_column_key_value(table, a, false)?;
            }
        }
        let Some(row) = self.row(c, table)? else {
            return Ok((String::new(), Value::Null));
        };
        let mut text = String::new();
        let mut vals = Vec::new();
        for a in &c.args[2..] {
            if a.eq_ignore_ascii_case("_uuid") || a.eq_ignore_ascii_case("-uuid") {
                let u = row_uuid(&self.db, row).unwrap_or_default().to_string();
                text.push_str(&u);
                text.push('\n');
                vals.push(Value::from(u));
                continue;
            }
            let (col, key, _) = parse_column_key_value(table, a, false)?;
            let d = read(&self.db, row, col, self.rt);
            match key {
                Some(key) => {
                    let Some(vty) = col.ty.value else {
                        return Err(CtlError::new(format!(
                            "cannot specify key to get for non-map column {}",
                            col.name
                        )));
                    };
                    let k = parse_single_atom(&key, &col.ty.key)?;
                    match d.get(&k) {
                        Some(v) => {
                            let one = Datum::atom(v.clone());
                            let vt = ColType::scalar(vty);
                            text.push_str(&one.to_text(&vt));
                            vals.push(one.to_plain_json(&vt));
                        }
                        None if !c.has("--if-exists") => {
                            return Err(CtlError::new(format!(
                                "no key \"{key}\" in {} record \"{}\" column {}",
                                table.name(),
                                c.arg(1),
                                col.name
                            )))
                        }
                        None => vals.push(Value::Null),
                    }
                }
                None => {
                    text.push_str(&d.to_text(&col.ty));
                    vals.push(d.to_plain_json(&col.ty));
                }
            }
            text.push('\n');
        }
        Ok((text, Value::Array(vals)))
    }

    fn set(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        for a in &c.args[2..] {
            parse_column_key_value(table, a, true)?;
        }
        if let Some(row) = self.row(c, table)? {
            for a in &c.args[2..] {
                self.set_column(table, row, a)?;
            }
        }
        Ok((String::new(), Value::Null))
    }

    fn add(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        let col = find_column(table, c.arg(2))?;
        let Some(row) = self.row(c, table)? else {
            return Ok((String::new(), Value::Null));
        };
        check_writable(table, col)?;
        let mut ty = col.ty;
        ty.min = 1;
        ty.max = UNLIMITED;
        let mut d = read(&self.db, row, col, self.rt);
        for v in &c.args[3..] {
            let add = parse_value_with(col, v, &ty, Some(&mut self.ids()))?;
            d.union(&add, false);
        }
        if d.len() > col.ty.max {
            return Err(CtlError::new(format!(
                "\"add\" operation would put {} {} in column {} of table {} but the maximum number is {}",
                d.len(),
                if col.ty.is_map() { "pairs" } else { "values" },
                col.name,
                table.name(),
                col.ty.max
            )));
        }
        schema::write(&mut self.db, row, col, &d)?;
        Ok((String::new(), Value::Null))
    }

    fn remove(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        let col = find_column(table, c.arg(2))?;
        let Some(row) = self.row(c, table)? else {
            return Ok((String::new(), Value::Null));
        };
        check_writable(table, col)?;
        let mut ty = col.ty;
        ty.min = 1;
        ty.max = UNLIMITED;
        let mut d = read(&self.db, row, col, self.rt);
        for v in &c.args[3..] {
            let rm = match parse_value_with(col, v, &ty, Some(&mut self.ids())) {
                Ok(rm) => rm,
                Err(e) if ty.is_map() => {
                    let keys_ty = ColType { value: None, ..ty };
                    parse_value_with(col, v, &keys_ty, Some(&mut self.ids()))
                        .map_err(|_| CtlError::new(e))?
                }
                Err(e) => return Err(CtlError::new(e)),
            };
            d.subtract(&rm, col.ty.is_map());
        }
        if d.len() < col.ty.min {
            return Err(CtlError::new(format!(
                "\"remove\" operation would put {} {} in column {} of table {} but the minimum number is {}",
                d.len(),
                if col.ty.is_map() { "pairs" } else { "values" },
                col.name,
                table.name(),
                col.ty.min
            )));
        }
        schema::write(&mut self.db, row, col, &d)?;
        Ok((String::new(), Value::Null))
    }

    fn clear(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        let cols = c.args[2..]
            .iter()
            .map(|a| find_column(table, a))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(row) = self.row(c, table)? else {
            return Ok((String::new(), Value::Null));
        };
        for col in cols {
            check_writable(table, col)?;
            if col.ty.min > 0 {
                return Err(CtlError::new(format!(
                    "\"clear\" operation cannot be applied to column {} of table {}, which is not allowed to be empty",
                    col.name,
                    table.name()
                )));
            }
            schema::write(&mut self.db, row, col, &Datum::empty())?;
        }
        Ok((String::new(), Value::Null))
    }

    fn columns_for(
        &self,
        table: Table,
        spec: Option<&str>,
    ) -> Result<Vec<Option<&'static schema::Column>>, CtlError> {
        match spec {
            None => {
                let mut v = vec![None];
                v.extend(table.columns().iter().map(Some));
                Ok(v)
            }
            Some(s) => {
                let mut v = Vec::new();
                for name in s.split([',', ' ']).filter(|n| !n.is_empty()) {
                    if name.eq_ignore_ascii_case("_uuid") {
                        v.push(None);
                    } else {
                        v.push(Some(find_column(table, name)?));
                    }
                }
                if v.is_empty() {
                    return Err(CtlError::new("must specify at least one column name"));
                }
                Ok(v)
            }
        }
    }

    fn table_out(&self, cols: &[Option<&'static schema::Column>], rows: &[Row]) -> TableOut {
        let uuid_ty = ColType::scalar(AtomType::Uuid);
        TableOut {
            headings: cols
                .iter()
                .map(|c| c.map(|c| c.name).unwrap_or("_uuid").to_string())
                .collect(),
            rows: rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|c| match c {
                            None => Cell {
                                datum: Datum::atom(Atom::Uuid(
                                    row_uuid(&self.db, *r).unwrap_or_default(),
                                )),
                                ty: uuid_ty,
                            },
                            Some(col) => Cell {
                                datum: read(&self.db, *r, col, self.rt),
                                ty: col.ty,
                            },
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn emit_table(&mut self, t: TableOut) -> (String, Value) {
        let text = t.render(self.opts, self.tables == 0);
        self.tables += 1;
        (text, t.to_json())
    }

    fn list(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        let cols = self.columns_for(table, c.option("--columns"))?;
        let mut selected = Vec::new();
        if c.args.len() > 1 {
            for id in &c.args[1..] {
                match find_row(&self.db, table, id)? {
                    Some(r) => selected.push(r),
                    None if c.has("--if-exists") => {}
                    None => {
                        return Err(CtlError::new(format!(
                            "no row \"{id}\" in table {}",
                            table.name()
                        )))
                    }
                }
            }
        } else {
            selected = rows(&self.db, table);
        }
        let t = self.table_out(&cols, &selected);
        Ok(self.emit_table(t))
    }

    fn find(&mut self, c: &Command) -> Result<(String, Value), CtlError> {
        let table = find_table(c.arg(0))?;
        let cols = self.columns_for(table, c.option("--columns"))?;
        let conds = c.args[1..]
            .iter()
            .map(|a| Condition::parse(table, a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut selected = Vec::new();
        for r in rows(&self.db, table) {
            let mut ok = true;
            for cond in &conds {
                if !cond.holds(&read(&self.db, r, cond.col, self.rt)) {
                    ok = false;
                    break;
                }
            }
            if ok {
                selected.push(r);
            }
        }
        let t = self.table_out(&cols, &selected);
        Ok(self.emit_table(t))
    }
}

fn fail_mode_str(m: FailMode) -> &'static str {
    match m {
        FailMode::Standalone => "standalone",
        FailMode::Secure => "secure",
    }
}
