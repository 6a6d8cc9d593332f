//! EAL arguments from the `Open_vSwitch` globals, named as in OVS:
//! `dpdk-lcore-mask`, `dpdk-socket-mem`, `dpdk-extra`.
//!
//! Rule: EAL never probes PCI devices it was not told to. The arguments
//! always carry a PCI allow-list — the configured PCI devices, or
//! `0000:00:00.0` (no such device) when there are none — unless
//! `dpdk-extra` already says `--no-pci` or gives its own `-a`. Configured
//! devices added later are hot-plugged with `rte_dev_probe`. EAL runs
//! `--in-memory` (nothing left behind by `kill -9`) unless `dpdk-extra`
//! asks for `--proc-type`.

use ctl::db::Db;

/// What the host offers that changes the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host {
    /// 2 MiB (or other) hugepages are free.
    pub hugepages_free: bool,
}

impl Host {
    /// Read `/proc/meminfo`.
    pub fn probe() -> Host {
        let free = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("HugePages_Free:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        Host {
            hugepages_free: free > 0,
        }
    }
}

/// Split `dpdk-extra` like a shell would (quotes and backslashes), without
/// expanding anything.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => match chars.next() {
                Some(n) => cur.push(n),
                None => return Err("dpdk-extra ends with a backslash".into()),
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => match chars.next() {
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("dpdk-extra ends with a backslash".into()),
            },
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("dpdk-extra has an unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// PCI addresses among the configured `dpdk-devargs` (the part before the
/// first comma, when it looks like `DDDD:BB:DD.F` or `BB:DD.F`).
pub fn configured_pci(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = db
        .interfaces()
        .filter_map(|(_, _, i)| i.dpdk_devargs())
        .filter_map(|d| ctl::env::normalize_pci(d.split(',').next().unwrap_or("")))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The main lcore: the lowest core of `dpdk-lcore-mask`, else 0.
pub fn main_lcore(db: &Db) -> usize {
    db.dpdk_lcores()
        .and_then(|v| v.into_iter().min())
        .unwrap_or(0)
}

/// The EAL argument vector (without argv[0]).
pub fn build(db: &Db, host: Host) -> Result<Vec<String>, String> {
    let extra = match db.other_config.get("dpdk-extra") {
        Some(s) => shell_split(s)?,
        None => Vec::new(),
    };
    let has = |flag: &str| {
        extra
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut args = Vec::new();
    if !has("-l") && !has("-c") && !has("--lcores") {
        args.push("-l".to_string());
        args.push(main_lcore(db).to_string());
    }
    let no_huge = has("--no-huge") || !host.hugepages_free;
    if no_huge {
        if !has("--no-huge") {
            args.push("--no-huge".to_string());
        }
        if !has("-m") {
            let mb: u64 = db
                .other_config
                .get("dpdk-socket-mem")
                .map(|s| {
                    s.split(',')
                        .filter_map(|x| x.trim().parse::<u64>().ok())
                        .sum()
                })
                .filter(|m| *m > 0)
                .unwrap_or(1024);
            args.push("-m".to_string());
            args.push(mb.to_string());
        }
    } else if let Some(mem) = db.other_config.get("dpdk-socket-mem") {
        if !has("--socket-mem") && !has("-m") {
            args.push("--socket-mem".to_string());
            args.push(mem.clone());
        }
    }
    // No hugepage files or runtime state that a `kill -9` would leave
    // behind (OVS 3.1 passes it too); multi-process setups opt out with
    // --proc-type.
    // EAL refuses --in-memory with --no-huge; --no-shconf gives the same
    // "nothing shared, nothing left behind" without hugepages.
    if no_huge {
        if !has("--no-shconf") && !has("--proc-type") && !has("--in-memory") {
            args.push("--no-shconf".to_string());
        }
    } else if !has("--in-memory") && !has("--proc-type") {
        args.push("--in-memory".to_string());
    }
    if !has("--no-pci") && !has("-a") && !has("--allow") && !has("-w") {
        let pci = configured_pci(db);
        if pci.is_empty() {
            args.push("-a".to_string());
            args.push("0000:00:00.0".to_string());
        }
        for p in pci {
            args.push("-a".to_string());
            args.push(p);
        }
    }
    args.extend(extra);
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctl::uuid::Uuid;

    fn db(pairs: &[(&str, &str)]) -> Db {
        let mut d = Db::new(Uuid::from_random_bytes([7; 16]));
        for (k, v) in pairs {
            d.other_config.insert(k.to_string(), v.to_string());
        }
        d
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            shell_split("a  'b c' \"d\\\"e\" f\\ g").unwrap(),
            vec!["a", "b c", "d\"e", "f g"]
        );
        assert!(shell_split("'oops").is_err());
        assert!(shell_split("").unwrap().is_empty());
    }

    #[test]
    fn always_an_allow_list_when_no_devices() {
        let a = build(
            &db(&[]),
            Host {
                hugepages_free: true,
            },
        )
        .unwrap();
        let i = a.iter().position(|x| x == "-a").expect("allow list");
        assert_eq!(a[i + 1], "0000:00:00.0");
        assert!(a.contains(&"--in-memory".to_string()));
        assert_eq!(&a[..2], &["-l".to_string(), "0".to_string()]);
    }

    #[test]
    fn no_pci_in_extra_suppresses_allow_list_and_extra_comes_last() {
        let a = build(
            &db(&[("dpdk-extra", "--no-pci --file-prefix=x")]),
            Host {
                hugepages_free: true,
            },
        )
        .unwrap();
        assert!(!a.contains(&"-a".to_string()));
        assert!(
            a.contains(&"--in-memory".to_string()),
            "in-memory even with a file prefix"
        );
        let b = build(
            &db(&[("dpdk-extra", "--proc-type=primary")]),
            Host {
                hugepages_free: true,
            },
        )
        .unwrap();
        assert!(
            !b.contains(&"--in-memory".to_string()),
            "multi-process opts out"
        );
        assert_eq!(a.last().unwrap(), "--file-prefix=x");
    }

    #[test]
    fn lcore_mask_and_socket_mem() {
        let a = build(
            &db(&[("dpdk-lcore-mask", "0x4"), ("dpdk-socket-mem", "512,512")]),
            Host {
                hugepages_free: true,
            },
        )
        .unwrap();
        assert_eq!(&a[..2], &["-l".to_string(), "2".to_string()]);
        let i = a.iter().position(|x| x == "--socket-mem").unwrap();
        assert_eq!(a[i + 1], "512,512");
    }

    #[test]
    fn falls_back_to_no_huge_without_hugepages() {
        let a = build(
            &db(&[("dpdk-socket-mem", "256,256")]),
            Host {
                hugepages_free: false,
            },
        )
        .unwrap();
        assert!(a.contains(&"--no-huge".to_string()));
        let i = a.iter().position(|x| x == "-m").unwrap();
        assert_eq!(a[i + 1], "512");
        assert!(!a.contains(&"--socket-mem".to_string()));
        assert!(
            !a.contains(&"--in-memory".to_string()),
            "EAL refuses it with --no-huge"
        );
        assert!(a.contains(&"--no-shconf".to_string()));
    }
}
