//! `COLUMN[:KEY][OP VALUE]` arguments of the database commands
//! (ovs-vsctl's `parse_column_key_value`), and the conditions of `find`
//! and `wait-until` (`COLUMN[:KEY] OP VALUE` with OVS's relational
//! operators, `check_condition`).

use crate::exec::CtlError;
use crate::schema::{self, find_column, parse_value, Table};
use crate::value::{parse_single_atom, parse_token, Atom, AtomType, ColType, Datum, UNLIMITED};

const RELOPS: &[&str] = &[
    "=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}",
    "{not-in}",
];

/// Split `COL[:KEY][OP VALUE]` (ovs-vsctl's `parse_column_key_value`).
/// With `want_value`, the operator must be `=`; returns (column, key, value).
pub(crate) fn parse_column_key_value(
    table: Table,
    arg: &str,
    want_value: bool,
) -> Result<(&'static schema::Column, Option<String>, Option<String>), CtlError> {
    let (col, key, _, value) = split_cond(table, arg, if want_value { &["="] } else { &[] })?;
    Ok((col, key, value))
}

#[allow(clippy::type_complexity)]
fn split_cond(
    table: Table,
    arg: &str,
    ops: &[&'static str],
) -> Result<
    (
        &'static schema::Column,
        Option<String>,
        &'static str,
        Option<String>,
    ),
    CtlError,
> {
    let (name, mut rest) = parse_token(arg)?;
    if name.is_empty() {
        return Err(CtlError::new(format!("{arg}: missing column name")));
    }
    let col = find_column(table, &name)?;
    let mut key = None;
    if let Some(r) = rest.strip_prefix(':') {
        let (k, r2) = parse_token(r)?;
        key = Some(k);
        rest = r2;
    }
    if ops.is_empty() {
        if !rest.is_empty() {
            return Err(CtlError::new(format!(
                "{arg}: trailing garbage \"{rest}\" in argument"
            )));
        }
        return Ok((col, key, "", None));
    }
    let best = ops
        .iter()
        .filter(|op| rest.starts_with(**op) && rest.len() > op.len())
        .max_by_key(|op| op.len());
    match best {
        Some(op) => Ok((col, key, op, Some(rest[op.len()..].to_string()))),
        None => {
            let list = if ops.len() == 1 {
                format!("\"{}\"", ops[0])
            } else {
                let quoted: Vec<String> = ops.iter().map(|o| format!("\"{o}\"")).collect();
                let (last, init) = quoted
                    .split_last()
                    .map(|(l, i)| (l.clone(), i.to_vec()))
                    .unwrap_or_default();
                format!("{}, or {last}", init.join(", "))
            };
            Err(CtlError::new(format!(
                "{arg}: argument does not end in {list} followed by a value."
            )))
        }
    }
}

/// A `find` or `wait-until` condition.
pub(crate) struct Condition {
    pub(crate) col: &'static schema::Column,
    key: Option<Atom>,
    op: &'static str,
    want: Datum,
}

impl Condition {
    pub(crate) fn parse(table: Table, arg: &str) -> Result<Condition, CtlError> {
        let (col, key, op, value) = split_cond(table, arg, RELOPS)?;
        let value = value.unwrap_or_default();
        let mut ty = col.ty;
        ty.max = UNLIMITED;
        let (key, want) = match key {
            Some(k) => {
                let Some(vty) = col.ty.value else {
                    return Err(CtlError::new(format!(
                        "cannot specify key to check for non-map column {}",
                        col.name
                    )));
                };
                let k = parse_single_atom(&k, &col.ty.key)?;
                let vt = ColType {
                    key: vty,
                    value: None,
                    min: 0,
                    max: UNLIMITED,
                };
                let t = value.trim();
                let want = if matches!(vty, AtomType::String { .. })
                    && !t.is_empty()
                    && !t.starts_with(['"', '['])
                {
                    // One unquoted string, delimiters and all.
                    Datum::atom(parse_single_atom(t, &vty)?)
                } else {
                    crate::value::parse_datum(&value, &vt)?
                };
                (Some(k), want)
            }
            None => (None, parse_value(col, &value, &ty)?),
        };
        Ok(Condition { col, key, op, want })
    }

    pub(crate) fn holds(&self, have: &Datum) -> bool {
        let a = match &self.key {
            Some(k) => match have.get(k) {
                Some(v) => Datum::atom(v.clone()),
                None if !self.op.starts_with('{') => return false,
                None => Datum::empty(),
            },
            None => have.clone(),
        };
        let b = &self.want;
        use std::cmp::Ordering::*;
        match self.op {
            "=" | "{=}" => a.compare(b) == Equal,
            "!=" | "{!=}" => a.compare(b) != Equal,
            "<" => a.compare(b) == Less,
            ">" => a.compare(b) == Greater,
            "<=" => a.compare(b) != Greater,
            ">=" => a.compare(b) != Less,
            "{<}" => b.len() > a.len() && a.is_subset_of(b),
            "{>}" => a.len() > b.len() && b.is_subset_of(&a),
            "{<=}" | "{in}" => a.is_subset_of(b),
            "{>=}" => b.is_subset_of(&a),
            "{not-in}" => a.is_disjoint(b),
            _ => false,
        }
    }
}
