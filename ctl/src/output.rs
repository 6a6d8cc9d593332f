//! Output formats: `show`, and the table layouts `list` and `find` use
//! (`--format=list|table|html|csv|json`, `--data=string|bare|json`,
//! `--no-headings`, `--bare`, `--max-column-width`, `--pretty`), laid out
//! as ovs-vsctl 3.1 lays them out (OVS's `lib/table.c`, `lib/json.c`).

use serde_json::{json, Value};

use crate::cmd::{DataFormat, Options, TableFormat};
use crate::db::Db;
use crate::env::Runtime;
use crate::schema::{find_column, ovs_version, read, Row, Table};
use crate::uuid::Uuid;
use crate::value::{push_json_string, ColType, Datum};

/// One cell of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The value.
    pub datum: Datum,
    /// Its type (decides brackets and quoting).
    pub ty: ColType,
}

/// Table-shaped output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableOut {
    /// Column names.
    pub headings: Vec<String>,
    /// Rows of cells, one per heading.
    pub rows: Vec<Vec<Cell>>,
}

fn cell_text(c: &Cell, data: DataFormat) -> String {
    match data {
        DataFormat::String => c.datum.to_text(&c.ty),
        DataFormat::Bare => c.datum.to_bare(&c.ty),
        DataFormat::Json => c.datum.to_ovsdb_json(&c.ty).to_string(),
    }
}

fn finish_line(s: &mut String) {
    while s.ends_with(' ') {
        s.pop();
    }
    s.push('\n');
}

/// A CSV field: quoted (with `""` for `"`) when it holds `,`, `"` or a
/// newline, as OVS quotes.
fn csv_field(t: &str) -> String {
    if t.contains([',', '"', '\n']) {
        format!("\"{}\"", t.replace('"', "\"\""))
    } else {
        t.to_string()
    }
}

/// `&`, `<`, `>` and `"` as HTML entities.
fn html_escape(t: &str, s: &mut String) {
    for c in t.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            c => s.push(c),
        }
    }
}

/// One HTML cell: every UUID in it becomes a link to the row it names
/// (its first 8 characters as the text), as OVS writes them.
fn html_cell(element: &str, content: &str, s: &mut String) {
    s.push_str(&format!("    <{element}>"));
    let mut rest = content;
    while let Some(c) = rest.chars().next() {
        match rest.get(..36).filter(|u| Uuid::is_uuid(u)) {
            Some(u) => {
                s.push_str(&format!("<a href=\"#{u}\">{}</a>", &u[..8]));
                rest = &rest[36..];
            }
            None => {
                html_escape(&rest[..c.len_utf8()], s);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    s.push_str(&format!("</{element}>\n"));
}

/// The first `n` characters of `t`.
fn truncate(t: &str, n: usize) -> &str {
    t.char_indices().nth(n).map_or(t, |(i, _)| &t[..i])
}

impl TableOut {
    /// The JSON form (`--format=json`), as ovs-vsctl prints it:
    /// `{"headings": [...], "data": [[...], ...]}` with OVSDB-JSON cells.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| Value::Array(r.iter().map(|c| c.datum.to_ovsdb_json(&c.ty)).collect()))
            .collect();
        json!({ "headings": self.headings, "data": rows })
    }

    /// The text form. `first` is false for the second and later tables of
    /// one invocation, which are preceded by a blank line.
    pub fn render(&self, opts: &Options, first: bool) -> String {
        let mut s = String::new();
        match opts.format {
            TableFormat::List => {
                if !first {
                    s.push('\n');
                }
                for (y, row) in self.rows.iter().enumerate() {
                    if y > 0 {
                        s.push('\n');
                    }
                    for (x, cell) in row.iter().enumerate() {
                        if opts.headings {
                            let h = self.headings.get(x).map(String::as_str).unwrap_or("");
                            s.push_str(&format!("{h:<20}: "));
                        }
                        s.push_str(&cell_text(cell, opts.data));
                        s.push('\n');
                    }
                }
            }
            TableFormat::Table => {
                if !first {
                    s.push('\n');
                }
                let texts: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|c| cell_text(c, opts.data)).collect())
                    .collect();
                let widths: Vec<usize> = (0..self.headings.len())
                    .map(|x| {
                        let mut w = texts
                            .iter()
                            .map(|r| r.get(x).map(|t| t.chars().count()).unwrap_or(0))
                            .max()
                            .unwrap_or(0);
                        if let Some(max) = opts.max_column_width.filter(|m| *m > 0) {
                            w = w.min(max);
                        }
                        if opts.headings {
                            w.max(self.headings[x].chars().count())
                        } else {
                            w
                        }
                    })
                    .collect();
                if opts.headings {
                    for (x, h) in self.headings.iter().enumerate() {
                        if x > 0 {
                            s.push(' ');
                        }
                        s.push_str(&format!("{h:<w$}", w = widths[x]));
                    }
                    finish_line(&mut s);
                    for (x, w) in widths.iter().enumerate() {
                        if x > 0 {
                            s.push(' ');
                        }
                        s.push_str(&"-".repeat(*w));
                    }
                    finish_line(&mut s);
                }
                for row in &texts {
                    for (x, t) in row.iter().enumerate() {
                        if x > 0 {
                            s.push(' ');
                        }
                        let w = widths.get(x).copied().unwrap_or(0);
                        s.push_str(&format!("{:<w$}", truncate(t, w)));
                    }
                    finish_line(&mut s);
                }
            }
            TableFormat::Csv => {
                if !first {
                    s.push('\n');
                }
                if opts.headings {
                    let h: Vec<String> = self.headings.iter().map(|h| csv_field(h)).collect();
                    s.push_str(&h.join(","));
                    s.push('\n');
                }
                for row in &self.rows {
                    let r: Vec<String> = row
                        .iter()
                        .map(|c| csv_field(&cell_text(c, opts.data)))
                        .collect();
                    s.push_str(&r.join(","));
                    s.push('\n');
                }
            }
            TableFormat::Html => {
                s.push_str("<table border=1>\n");
                if opts.headings {
                    s.push_str("  <tr>\n");
                    for h in &self.headings {
                        html_cell("th", h, &mut s);
                    }
                    s.push_str("  </tr>\n");
                }
                for row in &self.rows {
                    s.push_str("  <tr>\n");
                    for (x, cell) in row.iter().enumerate() {
                        let t = cell_text(cell, opts.data);
                        if self.headings.get(x).map(String::as_str) == Some("_uuid") {
                            s.push_str("    <td><a name=\"");
                            html_escape(&t, &mut s);
                            s.push_str("\">");
                            html_escape(truncate(&t, 8), &mut s);
                            s.push_str("</a></td>\n");
                        } else {
                            html_cell("td", &t, &mut s);
                        }
                    }
                    s.push_str("  </tr>\n");
                }
                s.push_str("</table>\n");
            }
            TableFormat::Json => {
                s.push_str(&ovs_json(&self.to_json(), opts.pretty));
                s.push('\n');
            }
        }
        s
    }
}

/// JSON text as OVS writes it (`lib/json.c`): object members sorted by
/// name; with `pretty`, every member and element on a line of its own,
/// indented two spaces a level, and closing brackets right after the
/// last element.
pub fn ovs_json(v: &Value, pretty: bool) -> String {
    let mut s = String::new();
    write_json(v, pretty, 0, &mut s);
    s
}

fn newline(pretty: bool, depth: usize, s: &mut String) {
    if pretty {
        s.push('\n');
        s.push_str(&"  ".repeat(depth));
    }
}

fn write_json(v: &Value, pretty: bool, depth: usize, s: &mut String) {
    match v {
        Value::Object(m) => {
            s.push('{');
            newline(pretty, depth + 1, s);
            let mut members: Vec<(&String, &Value)> = m.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    s.push(',');
                    newline(pretty, depth + 1, s);
                }
                push_json_string(k, s);
                s.push_str(if pretty { ": " } else { ":" });
                write_json(v, pretty, depth + 1, s);
            }
            s.push('}');
        }
        Value::Array(a) => {
            s.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                newline(pretty, depth + 1, s);
                write_json(e, pretty, depth + 1, s);
            }
            s.push(']');
        }
        Value::String(t) => push_json_string(t, s),
        other => s.push_str(&other.to_string()),
    }
}

fn is_default(d: &Datum, ty: &ColType) -> bool {
    if d.is_empty() {
        return true;
    }
    if ty.min == 1 && ty.max == 1 && !ty.is_map() {
        return matches!(
            d.keys.first(),
            Some(crate::value::Atom::String(s)) if s.is_empty()
        ) || matches!(d.keys.first(), Some(crate::value::Atom::Integer(0)))
            || matches!(d.keys.first(), Some(crate::value::Atom::Boolean(false)));
    }
    false
}

fn show_columns(
    out: &mut String,
    db: &Db,
    rt: &dyn Runtime,
    row: Row,
    table: Table,
    cols: &[&str],
    level: usize,
) {
    for name in cols {
        let Ok(col) = find_column(table, name) else {
            continue;
        };
        let d = read(db, row, col, rt);
        if !is_default(&d, &col.ty) {
            out.push_str(&" ".repeat(level * 4));
            out.push_str(col.name);
            out.push_str(": ");
            out.push_str(&d.to_text(&col.ty));
            out.push('\n');
        }
    }
}

fn name_text(n: &str) -> String {
    let mut s = String::new();
    crate::value::atom_to_text(&crate::value::Atom::String(n.to_string()), &mut s);
    s
}

/// `show`: the database as a tree.
pub fn show(db: &Db, rt: &dyn Runtime) -> String {
    let mut out = format!("{}\n", db.uuid);
    for (b, br) in db.bridges.iter().enumerate() {
        out.push_str(&format!("    Bridge {}\n", name_text(&br.name)));
        show_columns(
            &mut out,
            db,
            rt,
            Row::Bridge(b),
            Table::Bridge,
            &["fail_mode", "datapath_type"],
            2,
        );
        for (p, port) in br.ports.iter().enumerate() {
            out.push_str(&format!("        Port {}\n", name_text(&port.name)));
            show_columns(
                &mut out,
                db,
                rt,
                Row::Port(b, p),
                Table::Port,
                &["tag", "trunks"],
                3,
            );
            for (i, iface) in port.interfaces.iter().enumerate() {
                out.push_str(&format!(
                    "            Interface {}\n",
                    name_text(&iface.name)
                ));
                show_columns(
                    &mut out,
                    db,
                    rt,
                    Row::Interface(b, p, i),
                    Table::Interface,
                    &["type", "options", "error"],
                    4,
                );
            }
        }
    }
    let mut v = String::new();
    push_json_string(&ovs_version(), &mut v);
    out.push_str(&format!("    ovs_version: {v}\n"));
    out
}

/// `show --format=json`: the same tree as objects.
pub fn show_json(db: &Db, rt: &dyn Runtime) -> Value {
    let bridges: Vec<Value> = db
        .bridges
        .iter()
        .map(|br| {
            let ports: Vec<Value> = br
                .ports
                .iter()
                .map(|port| {
                    let ifaces: Vec<Value> = port
                        .interfaces
                        .iter()
                        .map(|i| {
                            json!({
                                "name": i.name,
                                "type": i.iface_type.as_str(),
                                "options": i.options,
                                "error": rt.interface(&i.name).error,
                            })
                        })
                        .collect();
                    json!({
                        "name": port.name,
                        "tag": port.tag,
                        "trunks": port.trunks,
                        "interfaces": ifaces,
                    })
                })
                .collect();
            json!({
                "name": br.name,
                "fail_mode": br.fail_mode,
                "datapath_type": br.datapath_type,
                "ports": ports,
            })
        })
        .collect();
    json!({
        "_uuid": db.uuid.to_string(),
        "bridges": bridges,
        "ovs_version": ovs_version(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::AtomType;

    fn table() -> TableOut {
        let s = ColType::scalar(AtomType::STRING);
        let t = ColType::optional(AtomType::INTEGER);
        TableOut {
            headings: vec!["name".into(), "tag".into()],
            rows: vec![
                vec![
                    Cell {
                        datum: Datum::string("vhuc0"),
                        ty: s,
                    },
                    Cell {
                        datum: Datum::integer(300),
                        ty: t,
                    },
                ],
                vec![
                    Cell {
                        datum: Datum::string("bond 0"),
                        ty: s,
                    },
                    Cell {
                        datum: Datum::set(vec![]),
                        ty: t,
                    },
                ],
            ],
        }
    }

    #[test]
    fn list_layout() {
        let o = Options::default();
        assert_eq!(
            table().render(&o, true),
            "name                : vhuc0\ntag                 : 300\n\nname                : \"bond 0\"\ntag                 : []\n"
        );
        let bare = Options {
            data: DataFormat::Bare,
            headings: false,
            ..Options::default()
        };
        assert_eq!(table().render(&bare, true), "vhuc0\n300\n\nbond 0\n\n");
    }

    #[test]
    fn table_csv_and_json_layouts() {
        let o = Options {
            format: TableFormat::Table,
            ..Options::default()
        };
        assert_eq!(
            table().render(&o, true),
            "name     tag\n-------- ---\nvhuc0    300\n\"bond 0\" []\n"
        );
        let o = Options {
            format: TableFormat::Csv,
            ..Options::default()
        };
        assert_eq!(
            table().render(&o, true),
            "name,tag\nvhuc0,300\n\"\"\"bond 0\"\"\",[]\n"
        );
        let j = table().to_json();
        assert_eq!(j["headings"], json!(["name", "tag"]));
        assert_eq!(j["data"][1], json!(["bond 0", ["set", []]]));
    }
}
