//! Command-line options the way OVS's tools read them: glibc's
//! `getopt_long` with a leading `+`.
//!
//! - A long option may be abbreviated to any prefix that picks one option
//!   (`--no-heading` for `--no-headings`, `--col=a,b` for `--columns`). An
//!   exact name always wins over longer names it is a prefix of. Several
//!   matches are ambiguous unless they take the same kind of argument and
//!   do the same thing (`kind`), in which case the first one counts, as
//!   glibc has it.
//! - `--opt=VALUE`, or `--opt VALUE` for an option that requires a value;
//!   an optional value is given only with `=`.
//! - Short options: `-t 5`, `-t5`, clusters such as `-hV`.
//! - Scanning stops at the first word that is not an option (`-` alone is
//!   not one); `--` ends the options and is consumed.
//!
//! Error texts are glibc's, without the program name the caller puts in
//! front (`ovs-vsctl: option '--no' is ambiguous; possibilities: ...`).

use core::ops::Range;

/// Whether an option takes a value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HasArg {
    /// A flag.
    No,
    /// `--opt=VALUE` or `--opt VALUE`.
    Required,
    /// `--opt` or `--opt=VALUE`.
    Optional,
}

/// One entry of an option table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LongOpt<K> {
    /// The long name, without the leading `--`.
    pub name: &'static str,
    /// The one-letter form, if any.
    pub short: Option<char>,
    /// Whether it takes a value.
    pub has_arg: HasArg,
    /// What it does (options with the same `kind` and `has_arg` are one
    /// option to the abbreviation rules).
    pub kind: K,
}

/// An option found on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<K> {
    /// What it does.
    pub kind: K,
    /// Its full long name (also for its short form).
    pub name: &'static str,
    /// Its value.
    pub value: Option<String>,
    /// The words of the command line it was given in.
    pub words: Range<usize>,
}

/// The options at the start of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan<K> {
    /// The options, in order.
    pub found: Vec<Found<K>>,
    /// Index of the first word after the options (and after `--`).
    pub rest: usize,
    /// Whether the options ended with `--`.
    pub dashdash: bool,
}

/// Resolve `TEXT` of a `--TEXT` word (a name, maybe abbreviated, maybe
/// followed by `=VALUE`) against `table`. `Ok(None)`: no such option;
/// `Err`: the prefix is ambiguous.
pub fn match_long<'t, K: Copy + PartialEq>(
    table: &'t [LongOpt<K>],
    text: &str,
) -> Result<Option<&'t LongOpt<K>>, String> {
    let name = text.split_once('=').map_or(text, |(n, _)| n);
    if let Some(exact) = table.iter().find(|o| o.name == name) {
        return Ok(Some(exact));
    }
    let mut matches = table.iter().filter(|o| o.name.starts_with(name));
    let Some(first) = matches.next() else {
        return Ok(None);
    };
    let others: Vec<&LongOpt<K>> = matches
        .filter(|o| o.has_arg != first.has_arg || o.kind != first.kind)
        .collect();
    if others.is_empty() {
        return Ok(Some(first));
    }
    let mut msg = format!("option '--{text}' is ambiguous; possibilities:");
    for o in core::iter::once(first).chain(others) {
        msg.push_str(&format!(" '--{}'", o.name));
    }
    Err(msg)
}

/// Read the options at the start of `argv` (the words after the program
/// name).
pub fn scan<K: Copy + PartialEq>(argv: &[String], table: &[LongOpt<K>]) -> Result<Scan<K>, String> {
    let mut found = Vec::new();
    let mut i = 0usize;
    while let Some(arg) = argv.get(i) {
        let start = i;
        if arg == "--" {
            return Ok(Scan {
                found,
                rest: i + 1,
                dashdash: true,
            });
        }
        if let Some(text) = arg.strip_prefix("--") {
            let opt =
                match_long(table, text)?.ok_or_else(|| format!("unrecognized option '{arg}'"))?;
            let inline = text.split_once('=').map(|(_, v)| v.to_string());
            let value =
                match (opt.has_arg, inline) {
                    (HasArg::No, Some(_)) => {
                        return Err(format!("option '--{}' doesn't allow an argument", opt.name))
                    }
                    (_, Some(v)) => Some(v),
                    (HasArg::Required, None) => {
                        i += 1;
                        Some(argv.get(i).cloned().ok_or_else(|| {
                            format!("option '--{}' requires an argument", opt.name)
                        })?)
                    }
                    (_, None) => None,
                };
            i += 1;
            found.push(Found {
                kind: opt.kind,
                name: opt.name,
                value,
                words: start..i,
            });
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            break;
        };
        let mut here = Vec::new();
        for (pos, c) in cluster.char_indices() {
            let opt = table
                .iter()
                .find(|o| o.short == Some(c))
                .ok_or_else(|| format!("invalid option -- '{c}'"))?;
            let tail = &cluster[pos + c.len_utf8()..];
            let value = match opt.has_arg {
                HasArg::No => None,
                HasArg::Optional => (!tail.is_empty()).then(|| tail.to_string()),
                HasArg::Required if !tail.is_empty() => Some(tail.to_string()),
                HasArg::Required => {
                    i += 1;
                    Some(
                        argv.get(i)
                            .cloned()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?,
                    )
                }
            };
            let last = value.is_some() || opt.has_arg != HasArg::No;
            here.push((opt, value));
            if last {
                break;
            }
        }
        i += 1;
        found.extend(here.into_iter().map(|(opt, value)| Found {
            kind: opt.kind,
            name: opt.name,
            value,
            words: start..i,
        }));
    }
    Ok(Scan {
        found,
        rest: i,
        dashdash: false,
    })
}

/// How `--options` lists a table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ListStyle {
    /// ovs-vsctl's: `--db=ARG`, `-t ARG`, `-h`.
    Vsctl,
    /// ovs-appctl's: `--verbose=[ARG]`, `-v [ARG]`, `-e ` (with the space).
    Appctl,
}

/// The option list `--options` (ovs-vsctl) or `-o` (ovs-appctl) prints.
pub fn listing<K>(table: &[LongOpt<K>], style: ListStyle) -> String {
    let mut s = String::new();
    for o in table {
        let arg = match (style, o.has_arg) {
            (_, HasArg::No) => "",
            (ListStyle::Appctl, HasArg::Optional) => "[ARG]",
            _ => "ARG",
        };
        let eq = if arg.is_empty() { "" } else { "=" };
        s.push_str(&format!("--{}{eq}{arg}\n", o.name));
        if let Some(c) = o.short {
            match style {
                ListStyle::Appctl => s.push_str(&format!("-{c} {arg}\n")),
                ListStyle::Vsctl if arg.is_empty() => s.push_str(&format!("-{c}\n")),
                ListStyle::Vsctl => s.push_str(&format!("-{c} {arg}\n")),
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    enum K {
        Db,
        NoWait,
        NoSyslog,
        Timeout,
        Verbose,
        Help,
        Format,
        Local,
    }

    const T: &[LongOpt<K>] = &[
        LongOpt {
            name: "db",
            short: None,
            has_arg: HasArg::Required,
            kind: K::Db,
        },
        LongOpt {
            name: "no-wait",
            short: None,
            has_arg: HasArg::No,
            kind: K::NoWait,
        },
        LongOpt {
            name: "no-syslog",
            short: None,
            has_arg: HasArg::No,
            kind: K::NoSyslog,
        },
        LongOpt {
            name: "timeout",
            short: Some('t'),
            has_arg: HasArg::Required,
            kind: K::Timeout,
        },
        LongOpt {
            name: "verbose",
            short: Some('v'),
            has_arg: HasArg::Optional,
            kind: K::Verbose,
        },
        LongOpt {
            name: "help",
            short: Some('h'),
            has_arg: HasArg::No,
            kind: K::Help,
        },
        LongOpt {
            name: "format",
            short: Some('f'),
            has_arg: HasArg::Required,
            kind: K::Format,
        },
        LongOpt {
            name: "fake",
            short: None,
            has_arg: HasArg::No,
            kind: K::Local,
        },
        LongOpt {
            name: "fake-iface",
            short: None,
            has_arg: HasArg::No,
            kind: K::Local,
        },
        LongOpt {
            name: "columns",
            short: None,
            has_arg: HasArg::Required,
            kind: K::Local,
        },
    ];

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn names(s: &Scan<K>) -> Vec<(&'static str, Option<String>)> {
        s.found.iter().map(|f| (f.name, f.value.clone())).collect()
    }

    #[test]
    fn prefixes_exact_names_and_ambiguity() {
        assert_eq!(match_long(T, "no-w").unwrap().unwrap().name, "no-wait");
        assert_eq!(match_long(T, "col=a,b").unwrap().unwrap().name, "columns");
        // An exact name beats the longer one it is a prefix of.
        assert_eq!(match_long(T, "fake").unwrap().unwrap().name, "fake");
        // Same kind and argument: the first counts (glibc).
        assert_eq!(match_long(T, "fa").unwrap().unwrap().name, "fake");
        assert_eq!(
            match_long(T, "no").unwrap_err(),
            "option '--no' is ambiguous; possibilities: '--no-wait' '--no-syslog'"
        );
        // The value is part of the quoted text, as glibc prints it; options
        // that do the same as the first match are not listed against it.
        assert_eq!(
            match_long(T, "no-=x").unwrap_err(),
            "option '--no-=x' is ambiguous; possibilities: '--no-wait' '--no-syslog'"
        );
        assert_eq!(
            match_long(T, "f").unwrap_err(),
            "option '--f' is ambiguous; possibilities: '--format' '--fake' '--fake-iface'"
        );
        assert_eq!(match_long(T, "frob").unwrap(), None);
    }

    #[test]
    fn values_short_options_and_the_end_of_options() {
        let s = scan(
            &a(&["--db", "unix:x", "--tim=5", "-t7", "-t", "8", "-hv", "list"]),
            T,
        )
        .unwrap();
        assert_eq!(
            names(&s),
            vec![
                ("db", Some("unix:x".into())),
                ("timeout", Some("5".into())),
                ("timeout", Some("7".into())),
                ("timeout", Some("8".into())),
                ("help", None),
                ("verbose", None),
            ]
        );
        assert_eq!((s.rest, s.dashdash), (7, false));
        assert_eq!(s.found[0].words, 0..2);
        assert_eq!(s.found[4].words, 6..7);
        let s = scan(&a(&["-vdbg", "--", "--columns", "x"]), T).unwrap();
        assert_eq!(names(&s), vec![("verbose", Some("dbg".into()))]);
        assert_eq!((s.rest, s.dashdash), (2, true));
        // An optional value comes only with "=".
        let s = scan(&a(&["--verbose", "dbg"]), T).unwrap();
        assert_eq!((names(&s), s.rest), (vec![("verbose", None)], 1));
        let s = scan(&a(&["-", "x"]), T).unwrap();
        assert_eq!((s.found.len(), s.rest), (0, 0));
    }

    #[test]
    fn errors_are_glibcs() {
        let e = |v: &[&str]| scan(&a(v), T).unwrap_err();
        assert_eq!(e(&["--frob=1"]), "unrecognized option '--frob=1'");
        assert_eq!(
            e(&["--no-w=1"]),
            "option '--no-wait' doesn't allow an argument"
        );
        assert_eq!(e(&["--db"]), "option '--db' requires an argument");
        assert_eq!(e(&["-x"]), "invalid option -- 'x'");
        assert_eq!(e(&["-t"]), "option requires an argument -- 't'");
    }

    #[test]
    fn listings() {
        let t = &T[3..6];
        assert_eq!(
            listing(t, ListStyle::Vsctl),
            "--timeout=ARG\n-t ARG\n--verbose=ARG\n-v ARG\n--help\n-h\n"
        );
        assert_eq!(
            listing(t, ListStyle::Appctl),
            "--timeout=ARG\n-t ARG\n--verbose=[ARG]\n-v [ARG]\n--help\n-h \n"
        );
    }
}
