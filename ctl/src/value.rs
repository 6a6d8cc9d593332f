//! OVSDB values as `ovs-vsctl` reads and prints them.
//!
//! A column holds a [`Datum`]: a sorted set of atoms, or a sorted map from
//! atoms to atoms. Its [`ColType`] says what the atoms are and how many there
//! may be (a plain string column is a set of exactly one; an optional column
//! is a set of zero or one).
//!
//! Text syntax (ovs-vsctl(8), "Database Values"): atoms are separated by
//! commas or spaces; a set may be written in `[...]`, a map in `{...}` with
//! `key=value` pairs; strings may be double-quoted with JSON escapes; the
//! empty set and map must be written `[]` and `{}`. Integer sets accept
//! ranges `300-304`. Output quotes a string unless it is an identifier-like
//! word (OVS's rule).

use core::fmt::Write as _;
use std::cmp::Ordering;

use serde_json::Value;

use crate::uuid::Uuid;

/// One value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    /// A 64-bit signed integer.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
    /// A row reference.
    Uuid(Uuid),
}

/// The type of the atoms of a column, with their constraints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomType {
    /// An integer in `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A boolean.
    Boolean,
    /// A string, optionally restricted to a list of values.
    String {
        /// The allowed values, or `None` for any string.
        allowed: Option<&'static [&'static str]>,
    },
    /// A reference to a row.
    Uuid,
}

impl AtomType {
    /// Any integer.
    pub const INTEGER: AtomType = AtomType::Integer {
        min: i64::MIN,
        max: i64::MAX,
    };
    /// Any string.
    pub const STRING: AtomType = AtomType::String { allowed: None };

    fn english(&self) -> &'static str {
        match self {
            AtomType::Integer { .. } => "integer",
            AtomType::Boolean => "boolean",
            AtomType::String { .. } => "string",
            AtomType::Uuid => "uuid",
        }
    }
}

/// Unlimited number of elements.
pub const UNLIMITED: usize = usize::MAX;

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColType {
    /// Type of the (set) elements or map keys.
    pub key: AtomType,
    /// Type of the map values; `None` for a set or scalar.
    pub value: Option<AtomType>,
    /// Fewest elements.
    pub min: usize,
    /// Most elements.
    pub max: usize,
}

impl ColType {
    /// Exactly one atom.
    pub const fn scalar(key: AtomType) -> ColType {
        ColType {
            key,
            value: None,
            min: 1,
            max: 1,
        }
    }

    /// Zero or one atom.
    pub const fn optional(key: AtomType) -> ColType {
        ColType {
            key,
            value: None,
            min: 0,
            max: 1,
        }
    }

    /// Any number of atoms.
    pub const fn set(key: AtomType) -> ColType {
        ColType {
            key,
            value: None,
            min: 0,
            max: UNLIMITED,
        }
    }

    /// A map.
    pub const fn map(key: AtomType, value: AtomType) -> ColType {
        ColType {
            key,
            value: Some(value),
            min: 0,
            max: UNLIMITED,
        }
    }

    /// String-to-string map.
    pub const STRING_MAP: ColType = ColType::map(AtomType::STRING, AtomType::STRING);

    /// Whether this is a map type.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    fn english(&self) -> String {
        match self.value {
            Some(v) => format!("map of {} to {}", self.key.english(), v.english()),
            None if self.max == 1 => self.key.english().to_string(),
            None => format!("set of {}s", self.key.english()),
        }
    }
}

/// A column value: sorted, duplicate-free keys (and values, for a map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Datum {
    /// Set elements or map keys, ascending.
    pub keys: Vec<Atom>,
    /// Map values, parallel to `keys`; empty for a set.
    pub values: Vec<Atom>,
}

impl Datum {
    /// The empty set or map.
    pub fn empty() -> Datum {
        Datum::default()
    }

    /// A set of one atom.
    pub fn atom(a: Atom) -> Datum {
        Datum {
            keys: vec![a],
            values: Vec::new(),
        }
    }

    /// A set of one string.
    pub fn string(s: &str) -> Datum {
        Datum::atom(Atom::String(s.to_string()))
    }

    /// A set of one integer.
    pub fn integer(i: i64) -> Datum {
        Datum::atom(Atom::Integer(i))
    }

    /// A set of one boolean.
    pub fn boolean(b: bool) -> Datum {
        Datum::atom(Atom::Boolean(b))
    }

    /// Zero or one string.
    pub fn opt_string(s: Option<&str>) -> Datum {
        s.map(Datum::string).unwrap_or_default()
    }

    /// Zero or one integer.
    pub fn opt_integer(i: Option<i64>) -> Datum {
        i.map(Datum::integer).unwrap_or_default()
    }

    /// A set built from atoms (sorted and deduplicated here).
    pub fn set(mut atoms: Vec<Atom>) -> Datum {
        atoms.sort();
        atoms.dedup();
        Datum {
            keys: atoms,
            values: Vec::new(),
        }
    }

    /// A map built from pairs (sorted by key; a later duplicate key wins).
    pub fn map<I: IntoIterator<Item = (Atom, Atom)>>(pairs: I) -> Datum {
        let mut v: Vec<(Atom, Atom)> = pairs.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut d = Datum::default();
        for (k, val) in v {
            if d.keys.last() == Some(&k) {
                if let Some(last) = d.values.last_mut() {
                    *last = val;
                }
                continue;
            }
            d.keys.push(k);
            d.values.push(val);
        }
        d
    }

    /// A string-to-string map.
    pub fn string_map<'a, I: IntoIterator<Item = (&'a String, &'a String)>>(m: I) -> Datum {
        Datum::map(
            m.into_iter()
                .map(|(k, v)| (Atom::String(k.clone()), Atom::String(v.clone()))),
        )
    }

    /// Number of elements or pairs.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Index of `key`.
    pub fn find(&self, key: &Atom) -> Option<usize> {
        self.keys.binary_search(key).ok()
    }

    /// The value mapped from `key`.
    pub fn get(&self, key: &Atom) -> Option<&Atom> {
        self.find(key).and_then(|i| self.values.get(i))
    }

    /// Union: add every element (or pair; existing keys keep their value
    /// unless `replace`).
    pub fn union(&mut self, other: &Datum, replace: bool) {
        let is_map = !self.values.is_empty() || !other.values.is_empty();
        for (i, k) in other.keys.iter().enumerate() {
            match self.keys.binary_search(k) {
                Ok(pos) => {
                    if is_map && replace {
                        if let (Some(dst), Some(src)) =
                            (self.values.get_mut(pos), other.values.get(i))
                        {
                            *dst = src.clone();
                        }
                    }
                }
                Err(pos) => {
                    self.keys.insert(pos, k.clone());
                    if is_map {
                        if let Some(v) = other.values.get(i) {
                            self.values.insert(pos, v.clone());
                        }
                    }
                }
            }
        }
    }

    /// Remove elements of `other`. For a map, `other` may be a set of keys
    /// (removes those keys) or a map (removes pairs that match exactly).
    pub fn subtract(&mut self, other: &Datum, self_is_map: bool) {
        let other_is_map = other.values.len() == other.keys.len() && !other.values.is_empty();
        let mut keep_k = Vec::with_capacity(self.keys.len());
        let mut keep_v = Vec::with_capacity(self.values.len());
        for (i, k) in self.keys.iter().enumerate() {
            let remove = match other.find(k) {
                None => false,
                Some(j) => {
                    if self_is_map && other_is_map {
                        self.values.get(i) == other.values.get(j)
                    } else {
                        true
                    }
                }
            };
            if !remove {
                keep_k.push(k.clone());
                if self_is_map {
                    if let Some(v) = self.values.get(i) {
                        keep_v.push(v.clone());
                    }
                }
            }
        }
        self.keys = keep_k;
        self.values = keep_v;
    }

    /// Whether every element (pair) of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Datum) -> bool {
        self.keys
            .iter()
            .enumerate()
            .all(|(i, k)| match other.find(k) {
                None => false,
                Some(j) => self.values.get(i) == other.values.get(j),
            })
    }

    /// Whether no element (key) of `self` is in `other`.
    pub fn is_disjoint(&self, other: &Datum) -> bool {
        self.keys.iter().all(|k| other.find(k).is_none())
    }

    /// OVSDB's three-way comparison (element by element, then by length).
    pub fn compare(&self, other: &Datum) -> Ordering {
        for (i, (a, b)) in self.keys.iter().zip(&other.keys).enumerate() {
            let c = a.cmp(b);
            if c != Ordering::Equal {
                return c;
            }
            let c = self.values.get(i).cmp(&other.values.get(i));
            if c != Ordering::Equal {
                return c;
            }
        }
        self.keys.len().cmp(&other.keys.len())
    }

    /// The text form `ovs-vsctl get` and `list` print.
    pub fn to_text(&self, ty: &ColType) -> String {
        let mut out = String::new();
        let brackets = ty.max > 1 || self.keys.is_empty();
        if brackets {
            out.push(if ty.is_map() { '{' } else { '[' });
        }
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            atom_to_text(k, &mut out);
            if ty.is_map() {
                out.push('=');
                if let Some(v) = self.values.get(i) {
                    atom_to_text(v, &mut out);
                }
            }
        }
        if brackets {
            out.push(if ty.is_map() { '}' } else { ']' });
        }
        out
    }

    /// The bare form (`--bare`, `--data=bare`): no quotes, no brackets,
    /// elements separated by spaces.
    pub fn to_bare(&self, ty: &ColType) -> String {
        let mut out = String::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            atom_to_bare(k, &mut out);
            if ty.is_map() {
                out.push('=');
                if let Some(v) = self.values.get(i) {
                    atom_to_bare(v, &mut out);
                }
            }
        }
        out
    }

    /// OVSDB wire JSON (`--data=json`, `--format=json` tables):
    /// `["map", [[k, v], ...]]`, `["set", [...]]`, or a lone atom.
    pub fn to_ovsdb_json(&self, ty: &ColType) -> Value {
        if ty.is_map() {
            let pairs = self
                .keys
                .iter()
                .zip(&self.values)
                .map(|(k, v)| Value::Array(vec![atom_to_ovsdb_json(k), atom_to_ovsdb_json(v)]))
                .collect();
            Value::Array(vec![Value::from("map"), Value::Array(pairs)])
        } else if self.keys.len() == 1 {
            atom_to_ovsdb_json(&self.keys[0])
        } else {
            Value::Array(vec![
                Value::from("set"),
                Value::Array(self.keys.iter().map(atom_to_ovsdb_json).collect()),
            ])
        }
    }

    /// Plain JSON: a scalar for a scalar column (`null` when an optional
    /// column is empty), an array for a set, an object for a map.
    pub fn to_plain_json(&self, ty: &ColType) -> Value {
        if ty.is_map() {
            let mut m = serde_json::Map::new();
            for (k, v) in self.keys.iter().zip(&self.values) {
                m.insert(atom_to_bare_string(k), atom_to_plain_json(v));
            }
            Value::Object(m)
        } else if ty.max == 1 {
            self.keys
                .first()
                .map(atom_to_plain_json)
                .unwrap_or(Value::Null)
        } else {
            Value::Array(self.keys.iter().map(atom_to_plain_json).collect())
        }
    }
}

fn atom_to_plain_json(a: &Atom) -> Value {
    match a {
        Atom::Integer(i) => Value::from(*i),
        Atom::Boolean(b) => Value::from(*b),
        Atom::String(s) => Value::from(s.as_str()),
        Atom::Uuid(u) => Value::from(u.to_string()),
    }
}

fn atom_to_ovsdb_json(a: &Atom) -> Value {
    match a {
        Atom::Uuid(u) => Value::Array(vec![Value::from("uuid"), Value::from(u.to_string())]),
        other => atom_to_plain_json(other),
    }
}

/// Whether OVS would print `s` in double quotes.
pub fn string_needs_quotes(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return true,
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return true;
    }
    s == "true" || s == "false" || Uuid::is_uuid(s)
}

/// Append `s` as a JSON string literal.
pub fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Append one atom in `ovs-vsctl` text form.
pub fn atom_to_text(a: &Atom, out: &mut String) {
    match a {
        Atom::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Atom::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Atom::String(s) => {
            if string_needs_quotes(s) {
                push_json_string(s, out);
            } else {
                out.push_str(s);
            }
        }
        Atom::Uuid(u) => {
            let _ = write!(out, "{u}");
        }
    }
}

/// One atom in text form.
pub fn atom_text(a: &Atom) -> String {
    let mut s = String::new();
    atom_to_text(a, &mut s);
    s
}

fn atom_to_bare(a: &Atom, out: &mut String) {
    match a {
        Atom::String(s) => out.push_str(s),
        other => atom_to_text(other, out),
    }
}

fn atom_to_bare_string(a: &Atom) -> String {
    let mut s = String::new();
    atom_to_bare(a, &mut s);
    s
}

/// Characters that end a token.
fn is_delim(c: char) -> bool {
    ":=, []{}!<>".contains(c)
}

/// Split one token off the front of `s` (OVS `ovsdb_token_parse`): up to the
/// first unquoted, unescaped delimiter. Quotes are kept in the token;
/// backslashes outside quotes escape the next character.
pub fn parse_token(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        if c == '\\' {
            if in_quotes {
                out.push('\\');
            }
            match it.next() {
                Some((_, n)) => out.push(n),
                None => return Err(format!("{s}: backslash at end of argument")),
            }
        } else if !in_quotes && is_delim(c) {
            return Ok((out, &s[i..]));
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = !in_quotes;
            }
        }
    }
    if in_quotes {
        return Err(format!("{s}: quoted string extends past end of argument"));
    }
    Ok((out, ""))
}

/// Decode a JSON string literal (with its quotes).
fn unquote_json(s: &str) -> Result<String, String> {
    if s.len() < 2 || !s.ends_with('"') {
        return Err(format!("{s}: missing quote at end of quoted string"));
    }
    serde_json::from_str::<String>(s).map_err(|e| format!("{s}: {e}"))
}

/// Parse a strict decimal integer with optional sign.
pub fn parse_i64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn check_atom(a: &Atom, ty: &AtomType) -> Result<(), String> {
    match (a, ty) {
        (Atom::Integer(i), AtomType::Integer { min, max }) if i < min || i > max => {
            Err(if *max == i64::MAX {
                format!("constraint violation: {i} is less than minimum allowed value {min}")
            } else if *min == i64::MIN {
                format!("constraint violation: {i} is greater than maximum allowed value {max}")
            } else {
                format!(
                    "constraint violation: {i} is not in the valid range {min} to {max} (inclusive)"
                )
            })
        }
        (
            Atom::String(s),
            AtomType::String {
                allowed: Some(list),
            },
        ) if !list.contains(&s.as_str()) => {
            let mut sorted: Vec<&str> = list.to_vec();
            sorted.sort_unstable();
            Err(format!(
                "constraint violation: {} is not one of the allowed values ([{}])",
                atom_text(a),
                sorted.join(", ")
            ))
        }
        _ => Ok(()),
    }
}

/// Parse one atom of type `ty` from a token. With `allow_range`, an integer
/// token `a-b` yields every integer from `a` to `b`.
pub fn parse_atom(token: &str, ty: &AtomType, allow_range: bool) -> Result<Vec<Atom>, String> {
    parse_atom_with(token, ty, allow_range, None)
}

/// Where the `@name` row ids of uuid values come from (ovs-vsctl's symbol
/// table): the executor passes one to the commands that accept them
/// (`create`, `set`, `add`, `remove`).
pub trait RowIds {
    /// The UUID that `name` (with its `@`) stands for; the first mention
    /// allocates it.
    fn row_id(&mut self, name: &str) -> Uuid;
}

/// [`parse_atom`], with `@name` accepted for a uuid when `ids` is given.
pub fn parse_atom_with(
    token: &str,
    ty: &AtomType,
    allow_range: bool,
    ids: Option<&mut (dyn RowIds + '_)>,
) -> Result<Vec<Atom>, String> {
    let atoms = match ty {
        AtomType::Integer { .. } => {
            if let Some(i) = parse_i64(token) {
                vec![Atom::Integer(i)]
            } else if let Some((a, b)) = allow_range.then(|| split_range(token)).flatten() {
                if a > b {
                    return Err(format!(
                        "\"{token}\" is not a valid range. Range end cannot be before start."
                    ));
                }
                if (b as i128) - (a as i128) >= 4096 {
                    return Err(format!(
                        "constraint violation: Range \"{a}-{b}\" is too big. Maximum allowed size is 4096."
                    ));
                }
                (a..=b).map(Atom::Integer).collect()
            } else {
                return Err(format!("\"{token}\" is not a valid integer"));
            }
        }
        AtomType::Boolean => match token {
            "true" | "yes" | "on" | "1" => vec![Atom::Boolean(true)],
            "false" | "no" | "off" | "0" => vec![Atom::Boolean(false)],
            _ => {
                return Err(format!(
                    "\"{token}\" is not a valid boolean (use \"true\" or \"false\")"
                ))
            }
        },
        AtomType::String { .. } => {
            if token.is_empty() {
                return Err(
                    "An empty string is not valid as input; use \"\" to represent the empty string"
                        .to_string(),
                );
            } else if token.starts_with('"') {
                vec![Atom::String(unquote_json(token)?)]
            } else {
                vec![Atom::String(token.to_string())]
            }
        }
        AtomType::Uuid => match (token.parse::<Uuid>(), ids) {
            (Ok(u), _) => vec![Atom::Uuid(u)],
            (Err(_), Some(ids)) if token.starts_with('@') => vec![Atom::Uuid(ids.row_id(token))],
            (Err(_), _) => return Err(format!("\"{token}\" is not a valid UUID")),
        },
    };
    for a in &atoms {
        check_atom(a, ty)?;
    }
    Ok(atoms)
}

fn split_range(token: &str) -> Option<(i64, i64)> {
    // "a-b" where a may itself be negative: split at a '-' that follows a digit.
    let bytes = token.as_bytes();
    let pos = (1..bytes.len()).find(|&i| bytes[i] == b'-' && bytes[i - 1].is_ascii_digit())?;
    let a = parse_i64(&token[..pos])?;
    let b = parse_i64(&token[pos + 1..])?;
    Some((a, b))
}

/// Parse a single atom from a whole argument (the key or value of
/// `COL:KEY=VALUE`).
pub fn parse_single_atom(s: &str, ty: &AtomType) -> Result<Atom, String> {
    parse_single_atom_with(s, ty, None)
}

/// [`parse_single_atom`], with `@name` row ids from `ids`.
pub fn parse_single_atom_with(
    s: &str,
    ty: &AtomType,
    ids: Option<&mut (dyn RowIds + '_)>,
) -> Result<Atom, String> {
    let mut v = parse_atom_with(s, ty, false, ids)?;
    match v.pop() {
        Some(a) if v.is_empty() => Ok(a),
        _ => Err(format!("\"{s}\" is not a single value")),
    }
}

fn skip_spaces(s: &str) -> &str {
    s.trim_start()
}

/// Parse a whole datum of type `ty` (OVS `ovsdb_datum_from_string`).
pub fn parse_datum(s: &str, ty: &ColType) -> Result<Datum, String> {
    parse_datum_with(s, ty, None)
}

/// [`parse_datum`], with `@name` row ids from `ids`.
pub fn parse_datum_with(
    s: &str,
    ty: &ColType,
    mut ids: Option<&mut (dyn RowIds + '_)>,
) -> Result<Datum, String> {
    let is_map = ty.is_map();
    let mut p = skip_spaces(s);
    let end_delim = if p.starts_with(if is_map { '{' } else { '[' }) {
        p = skip_spaces(&p[1..]);
        Some(if is_map { '}' } else { ']' })
    } else if p.is_empty() {
        return Err(if is_map {
            "use \"{}\" to specify the empty map".to_string()
        } else {
            "use \"[]\" to specify the empty set".to_string()
        });
    } else {
        None
    };

    let allow_range = !is_map && ty.max > 1;
    let mut keys: Vec<Atom> = Vec::new();
    let mut pairs: Vec<(Atom, Atom)> = Vec::new();
    loop {
        match p.chars().next() {
            None => break,
            Some(c) if Some(c) == end_delim => break,
            Some(c) if is_delim(c) => {
                return Err(format!("{s}: unexpected \"{c}\" parsing {}", ty.english()))
            }
            Some(_) => {}
        }
        let (tok, rest) = parse_token(p)?;
        let atoms = parse_atom_with(&tok, &ty.key, allow_range, ids.as_deref_mut())?;
        p = rest;
        if let Some(vty) = &ty.value {
            p = skip_spaces(p);
            let Some(after_eq) = p.strip_prefix('=') else {
                let c = p.chars().next().map(String::from).unwrap_or_default();
                return Err(format!("{s}: syntax error at \"{c}\" expecting \"=\""));
            };
            p = skip_spaces(after_eq);
            let (vtok, rest) = parse_token(p)?;
            let v = parse_single_atom_with(&vtok, vty, ids.as_deref_mut())?;
            p = rest;
            for k in atoms {
                if pairs.iter().any(|(pk, _)| *pk == k) {
                    return Err(format!("{s}: map contains duplicate key"));
                }
                pairs.push((k, v.clone()));
            }
        } else {
            for k in atoms {
                if keys.contains(&k) {
                    return Err(format!("{s}: set contains duplicate value"));
                }
                keys.push(k);
            }
        }
        p = skip_spaces(p);
        if let Some(r) = p.strip_prefix(',') {
            p = skip_spaces(r);
        }
    }
    match end_delim {
        Some(d) => {
            let Some(rest) = p.strip_prefix(d) else {
                return Err(format!("{s}: missing \"{d}\" at end of data"));
            };
            if !skip_spaces(rest).is_empty() {
                return Err(format!("{s}: trailing garbage after \"{d}\""));
            }
        }
        None => {
            if !p.is_empty() {
                return Err(format!("{s}: trailing garbage"));
            }
        }
    }
    let d = if is_map {
        Datum::map(pairs)
    } else {
        Datum::set(keys)
    };
    let what = if is_map { "pair(s)" } else { "value(s)" };
    if d.len() < ty.min {
        return Err(format!(
            "{s}: {} {what} specified but the minimum number is {}",
            d.len(),
            ty.min
        ));
    }
    if d.len() > ty.max {
        return Err(format!(
            "{s}: {} {what} specified but the maximum number is {}",
            d.len(),
            ty.max
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INT_SET: ColType = ColType::set(AtomType::Integer { min: 0, max: 4095 });

    #[test]
    fn quoting_follows_ovs() {
        for (s, q) in [
            ("ovsbr0", false),
            ("dpdk-devargs", false),
            ("a.b_c", false),
            ("0000:08:00.0", true),
            ("2.10.90", true),
            ("", true),
            ("true", true),
            ("has space", true),
            ("/usr/local/openvswitch/vhuc0", true),
            ("8daaa733-f6ef-4b67-a1a9-581875f33420", true),
        ] {
            assert_eq!(string_needs_quotes(s), q, "{s:?}");
        }
        let d = Datum::map([(
            Atom::String("dpdk-devargs".into()),
            Atom::String("0000:08:00.0".into()),
        )]);
        assert_eq!(
            d.to_text(&ColType::STRING_MAP),
            "{dpdk-devargs=\"0000:08:00.0\"}"
        );
        assert_eq!(Datum::empty().to_text(&ColType::STRING_MAP), "{}");
        assert_eq!(
            Datum::empty().to_text(&ColType::optional(AtomType::INTEGER)),
            "[]"
        );
        assert_eq!(
            Datum::integer(300).to_text(&ColType::optional(AtomType::INTEGER)),
            "300"
        );
    }

    #[test]
    fn sets_with_ranges() {
        let d = parse_datum("11,300-304", &INT_SET).unwrap();
        assert_eq!(d.to_text(&INT_SET), "[11, 300, 301, 302, 303, 304]");
        assert_eq!(parse_datum("[11, 300-304]", &INT_SET).unwrap(), d);
        assert_eq!(parse_datum("11 300 301 302 303 304", &INT_SET).unwrap(), d);
        assert_eq!(parse_datum("[]", &INT_SET).unwrap(), Datum::empty());
        assert!(parse_datum("", &INT_SET).unwrap_err().contains("[]"));
        assert!(parse_datum("5-2", &INT_SET).is_err());
        assert!(parse_datum("4096", &INT_SET).unwrap_err().contains("4096"));
        assert!(parse_datum("[1,2", &INT_SET)
            .unwrap_err()
            .contains("missing"));
        assert!(parse_datum("[1] x", &INT_SET)
            .unwrap_err()
            .contains("trailing"));
        assert!(parse_datum("1,1", &INT_SET)
            .unwrap_err()
            .contains("duplicate"));
    }

    #[test]
    fn maps_and_quoted_strings() {
        let d = parse_datum("{k=v, \"a b\"=\"x=y\", z=\"\"}", &ColType::STRING_MAP).unwrap();
        assert_eq!(
            d.get(&Atom::String("a b".into())),
            Some(&Atom::String("x=y".into()))
        );
        assert_eq!(
            d.to_text(&ColType::STRING_MAP),
            "{\"a b\"=\"x=y\", k=v, z=\"\"}"
        );
        assert_eq!(
            parse_datum(&d.to_text(&ColType::STRING_MAP), &ColType::STRING_MAP).unwrap(),
            d
        );
        assert!(parse_datum("{k}", &ColType::STRING_MAP)
            .unwrap_err()
            .contains("expecting \"=\""));
        assert!(parse_datum("{k=\"v}", &ColType::STRING_MAP).is_err());
        assert!(parse_datum("", &ColType::STRING_MAP)
            .unwrap_err()
            .contains("{}"));
    }

    #[test]
    fn enums_booleans_and_limits() {
        let ty = ColType::optional(AtomType::String {
            allowed: Some(&["active", "passive", "off"]),
        });
        assert_eq!(parse_datum("active", &ty).unwrap(), Datum::string("active"));
        let e = parse_datum("sometimes", &ty).unwrap_err();
        assert!(e.contains("[active, off, passive]"), "{e}");
        assert!(parse_datum("active,off", &ty)
            .unwrap_err()
            .contains("maximum number is 1"));
        let b = ColType::scalar(AtomType::Boolean);
        assert_eq!(parse_datum("yes", &b).unwrap(), Datum::boolean(true));
        assert!(parse_datum("maybe", &b).is_err());
        assert!(parse_datum("[]", &b)
            .unwrap_err()
            .contains("minimum number is 1"));
        let i = ColType::scalar(AtomType::INTEGER);
        assert!(parse_datum("12x", &i).is_err());
        assert!(parse_datum("0x10", &i).is_err());
        assert_eq!(parse_datum("-5", &i).unwrap(), Datum::integer(-5));
    }

    #[test]
    fn never_panics_on_junk() {
        let tys = [
            INT_SET,
            ColType::STRING_MAP,
            ColType::scalar(AtomType::STRING),
            ColType::set(AtomType::Uuid),
        ];
        let junk = [
            "\\",
            "\"",
            "{",
            "}",
            "[",
            "]",
            "=",
            "{=}",
            "[,]",
            "{a=}",
            "é",
            "\"\\u12\"",
            "1-",
            "-",
            "--1",
            "9223372036854775807-9223372036854775807",
            "-9223372036854775808--1",
            "{é=\"é\"}",
        ];
        for t in &tys {
            for j in junk {
                let _ = parse_datum(j, t);
            }
        }
    }

    #[test]
    fn json_forms() {
        let d = parse_datum("11,300", &INT_SET).unwrap();
        assert_eq!(
            d.to_ovsdb_json(&INT_SET),
            serde_json::json!(["set", [11, 300]])
        );
        assert_eq!(d.to_plain_json(&INT_SET), serde_json::json!([11, 300]));
        let m = parse_datum("{a=b}", &ColType::STRING_MAP).unwrap();
        assert_eq!(
            m.to_ovsdb_json(&ColType::STRING_MAP),
            serde_json::json!(["map", [["a", "b"]]])
        );
        assert_eq!(
            m.to_plain_json(&ColType::STRING_MAP),
            serde_json::json!({"a": "b"})
        );
        assert_eq!(m.to_bare(&ColType::STRING_MAP), "a=b");
    }

    #[test]
    fn set_algebra() {
        let mut a = parse_datum("1,2,3", &INT_SET).unwrap();
        let b = parse_datum("2,5", &INT_SET).unwrap();
        a.union(&b, false);
        assert_eq!(a.to_text(&INT_SET), "[1, 2, 3, 5]");
        a.subtract(&b, false);
        assert_eq!(a.to_text(&INT_SET), "[1, 3]");
        let mut m = parse_datum("{a=1, b=2}", &ColType::STRING_MAP).unwrap();
        m.subtract(&parse_datum("{a=2}", &ColType::STRING_MAP).unwrap(), true);
        assert_eq!(m.len(), 2, "pair with another value is not removed");
        m.subtract(&Datum::set(vec![Atom::String("a".into())]), true);
        assert_eq!(m.to_text(&ColType::STRING_MAP), "{b=\"2\"}");
    }
}
