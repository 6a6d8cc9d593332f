//! QoS: which `QoS` rows rvswitch accepts, the references between ports,
//! `QoS` and `Queue` rows, and the conversion of the configuration into
//! the rates the pipeline enforces ([`datapath::qos`]).
//!
//! Supported `QoS` `type`s (anything else is refused when a transaction
//! commits, naming these):
//!
//! - `""`: no QoS (OVS's meaning too: a port with such a row is not
//!   limited). `create qos` without `type` makes one.
//! - `egress-policer` (OVS-DPDK): `other_config:cir` (bytes/s) and `cbs`
//!   (bytes), both required and > 0 (DPDK's `rte_meter_srtcm_profile_config`
//!   refuses 0, and OVS then leaves the port unlimited with a log line;
//!   rvswitch refuses the command instead).
//! - `trtcm-policer` (OVS-DPDK, RFC 4115): `cir`/`cbs` required and > 0;
//!   `eir`/`ebs` optional, >= 0. With `eir` or `ebs` 0 no frame is ever
//!   yellow, so it is enforced as the single-rate policer it then is. OVS
//!   meters queue 0 first, and a queue 0 without a row uses the QoS row's
//!   values; rvswitch meters at the port only, so a `queues:0` row whose
//!   `cir`/`cbs`/`eir`/`ebs` differ from the QoS row's is refused.
//! - `linux-htb` (what libvirt and CloudStack create): enforced as an
//!   egress rate limit on the port, see [`Db::port_egress_qos`]. `min-rate`,
//!   `max-rate` and `burst` (bits), where set on the QoS row or on a Queue
//!   row, must be integers >= 1 (vswitch.xml's `minInteger`).
//!
//! Referential integrity is checked at commit, as ovsdb-server does, and
//! refused with the words ovs-vsctl prints for the server's error
//! (`transaction error: {"details":...,"error":"referential integrity
//! violation"}`): a port's `qos` must name a `QoS` row and a `QoS` row's
//! `queues` must name `Queue` rows; destroying a row still referenced is
//! refused ("cannot delete QoS row ... because of N remaining
//! reference(s)").

use datapath::qos::{EgressQos, Rate};

use crate::db::{Db, Interface, Port, Qos, Queue, StrMap};
use crate::uuid::Uuid;
use crate::value::parse_i64;

/// `QoS` types rvswitch enforces (besides `""`, no QoS).
pub const SUPPORTED_TYPES: &[&str] = &["egress-policer", "trtcm-policer", "linux-htb"];

/// OVS-DPDK's ingress policing burst when `ingress_policing_burst` is 0:
/// 8000 kbit (`netdev_dpdk_set_policing`; vswitch.xml: "The default burst
/// size if set to 0 is 8000 kbit").
pub const DEFAULT_INGRESS_BURST_KBIT: u64 = 8000;

/// MTU assumed for a port whose interface has no `mtu_request`.
pub const DEFAULT_MTU: u64 = 1500;

/// Bytes a frame carries beyond the MTU: Ethernet header and one VLAN tag
/// (a 1500-byte MTU gives 1518-byte frames, FCS not counted).
pub const FRAME_OVERHEAD: u64 = 18;

/// What OVS adds to the MTU for linux-htb's smallest burst (`mtu + 64`,
/// netdev-linux's `htb_parse_class_details__`: "a too-small burst will be
/// silently ignored").
pub const HTB_BURST_GUARD: u64 = 64;

/// Milliseconds of traffic at the rate that a linux-htb row without
/// `burst` may send at once.
pub const DEFAULT_BURST_MS: u64 = 10;

// ---- validation ----------------------------------------------------------

fn ref_error(details: &str) -> String {
    format!(
        "transaction error: {{\"details\":{},\"error\":\"referential integrity violation\"}}",
        serde_json::Value::from(details)
    )
}

/// References between ports, `QoS` and `Queue` rows (ovsdb-server's
/// referential integrity, checked when the transaction commits). `old`
/// tells a deleted row (refused while referenced) from one that never
/// existed.
pub fn check_references(old: Option<&Db>, new: &Db) -> Result<(), String> {
    let qos_refs = new.ports().filter_map(|(_, p)| p.qos.map(|q| (p, q)));
    for (port, q) in qos_refs {
        if new.qos_row(q).is_none() {
            return Err(dangling(old, new, "QoS", q, || {
                format!(
                    "Table Port column qos row {} references nonexistent row {q} in table QoS.",
                    port.uuid
                )
            }));
        }
    }
    for qos in &new.qos {
        for u in qos.queues.values() {
            if new.queue_row(*u).is_none() {
                return Err(dangling(old, new, "Queue", *u, || {
                    format!(
                        "Table QoS column queues row {} references nonexistent row {u} in table Queue.",
                        qos.uuid
                    )
                }));
            }
        }
    }
    Ok(())
}

/// The error for a reference to `target`, a row of `table` missing from
/// `new`: "cannot delete" if `old` had it, else "references nonexistent".
fn dangling(
    old: Option<&Db>,
    new: &Db,
    table: &str,
    target: Uuid,
    nonexistent: impl FnOnce() -> String,
) -> String {
    let existed = old.is_some_and(|o| match table {
        "QoS" => o.qos_row(target).is_some(),
        _ => o.queue_row(target).is_some(),
    });
    if !existed {
        return ref_error(&nonexistent());
    }
    let refs = match table {
        "QoS" => new.ports().filter(|(_, p)| p.qos == Some(target)).count(),
        _ => new
            .qos
            .iter()
            .flat_map(|q| q.queues.values())
            .filter(|u| **u == target)
            .count(),
    };
    ref_error(&format!(
        "cannot delete {table} row {target} because of {refs} remaining reference(s)"
    ))
}

/// An integer key of a `QoS` or `Queue` row's `other_config`: `Ok(None)`
/// when absent; refused when not an integer or below `min`.
fn int_key(what: &str, m: &StrMap, key: &str, min: i64, unit: &str) -> Result<Option<i64>, String> {
    let Some(v) = m.get(key) else {
        return Ok(None);
    };
    match parse_i64(v) {
        Some(n) if n >= min => Ok(Some(n)),
        Some(_) => Err(format!(
            "{what}other_config:{key}={v} is out of range (it must be {} {unit})",
            if min == 0 { ">= 0" } else { "> 0" }
        )),
        None => Err(format!(
            "{what}other_config:{key}=\"{v}\" is not an integer ({unit})"
        )),
    }
}

fn required(what: &str, ty: &str, m: &StrMap, key: &str, unit: &str) -> Result<i64, String> {
    int_key(what, m, key, 1, unit)?
        .ok_or_else(|| format!("{what}type={ty} needs other_config:{key} > 0 ({unit})"))
}

const HTB_KEYS: [(&str, &str); 3] = [
    ("max-rate", "bits per second"),
    ("min-rate", "bits per second"),
    ("burst", "bits"),
];

/// The four meter settings of a trtcm row (absent = 0, as OVS reads them).
fn trtcm_params(what: &str, m: &StrMap) -> Result<[i64; 4], String> {
    let mut out = [0; 4];
    for (i, (key, unit)) in [
        ("cir", "bytes per second"),
        ("cbs", "bytes"),
        ("eir", "bytes per second"),
        ("ebs", "bytes"),
    ]
    .into_iter()
    .enumerate()
    {
        out[i] = int_key(what, m, key, 0, unit)?.unwrap_or(0);
    }
    Ok(out)
}

fn check_qos(db: &Db, qos: &Qos) -> Result<(), String> {
    let what = format!("QoS {}: ", qos.uuid);
    let m = &qos.other_config;
    let ty = qos.qos_type.as_str();
    match ty {
        "" => {}
        "egress-policer" => {
            required(&what, ty, m, "cir", "bytes per second")?;
            required(&what, ty, m, "cbs", "bytes")?;
        }
        "trtcm-policer" => {
            required(&what, ty, m, "cir", "bytes per second")?;
            required(&what, ty, m, "cbs", "bytes")?;
            let port_level = trtcm_params(&what, m)?;
            if let Some(q0) = qos.queues.get(&0).and_then(|u| db.queue_row(*u)) {
                let qwhat = format!("{what}queue 0 (Queue {}): ", q0.uuid);
                if trtcm_params(&qwhat, &q0.other_config)? != port_level {
                    return Err(format!(
                        "{qwhat}rvswitch meters trtcm-policer at the port only: queue 0 must have the QoS row's cir, cbs, eir and ebs (or be left out, which OVS treats the same)"
                    ));
                }
            }
        }
        "linux-htb" => {
            for (key, unit) in HTB_KEYS {
                int_key(&what, m, key, 1, unit)?;
            }
        }
        other => {
            return Err(format!(
            "{what}type \"{other}\" is not supported; rvswitch supports {} (or \"\" for no QoS)",
            SUPPORTED_TYPES.join(", ")
        ))
        }
    }
    Ok(())
}

fn check_queue(queue: &Queue) -> Result<(), String> {
    let what = format!("Queue {}: ", queue.uuid);
    for (key, unit) in HTB_KEYS {
        int_key(&what, &queue.other_config, key, 1, unit)?;
    }
    int_key(&what, &queue.other_config, "priority", 0, "")?;
    Ok(())
}

/// Every `QoS` and `Queue` row's settings (see the module documentation).
pub fn check_rows(db: &Db) -> Result<(), String> {
    for queue in &db.queues {
        check_queue(queue)?;
    }
    for qos in &db.qos {
        check_qos(db, qos)?;
    }
    Ok(())
}

// ---- conversion ------------------------------------------------------------

/// A value of `other_config:key` that validation accepted and that is > 0.
fn positive(m: &StrMap, key: &str) -> Option<u64> {
    m.get(key)
        .and_then(|v| parse_i64(v))
        .filter(|v| *v > 0)
        .map(|v| v as u64)
}

/// Bits (per second) → bytes (per second), rounding down but never to 0.
fn bits_to_bytes(bits: u64) -> u64 {
    (bits / 8).max(1)
}

impl Db {
    /// What `port.qos` asks of the frames sent out on `port`, in bytes:
    ///
    /// - `egress-policer`: `cir` bytes/s, `cbs` bytes (OVS-DPDK's units;
    ///   OVS meters the bytes after the Ethernet header).
    /// - `trtcm-policer`: `cir`/`cbs` and `eir`/`ebs` likewise; with `eir`
    ///   or `ebs` 0, a single-rate [`EgressQos::Policer`].
    /// - `linux-htb`: the rate is the QoS row's `other_config:max-rate`,
    ///   else queue 0's `max-rate`, else the QoS row's `min-rate`, else
    ///   queue 0's `min-rate` (bits/s; libvirt writes the `<bandwidth>`
    ///   average as `min-rate` and `max-rate` only for `peak`; Linux HTB
    ///   would let a class with only `min-rate` use the whole link), in
    ///   bytes/s. The burst is `other_config:burst` (bits) of the QoS row,
    ///   else of queue 0, but at least the MTU + 64 bytes (as OVS's HTB);
    ///   without `burst`, 10 ms at the rate but at least two full frames
    ///   (2 × (MTU + 18) bytes). The MTU is the first interface's
    ///   `mtu_request`, else 1500.
    ///
    /// `None` without a `qos`, for type `""`, for linux-htb without any
    /// rate, or for a row that does not validate (never after a commit).
    pub fn port_egress_qos(&self, port: &Port) -> Option<EgressQos> {
        let qos = self.qos_row(port.qos?)?;
        let m = &qos.other_config;
        let committed = || {
            Some(Rate {
                bytes_per_s: positive(m, "cir")?,
                burst_bytes: positive(m, "cbs")?,
            })
        };
        match qos.qos_type.as_str() {
            "egress-policer" => Some(EgressQos::Policer {
                committed: committed()?,
            }),
            "trtcm-policer" => {
                let committed = committed()?;
                Some(match (positive(m, "eir"), positive(m, "ebs")) {
                    (Some(bytes_per_s), Some(burst_bytes)) => EgressQos::TrTcm {
                        committed,
                        excess: Rate {
                            bytes_per_s,
                            burst_bytes,
                        },
                    },
                    _ => EgressQos::Policer { committed },
                })
            }
            "linux-htb" => {
                let q0 = qos
                    .queues
                    .get(&0)
                    .and_then(|u| self.queue_row(*u))
                    .map(|q| &q.other_config);
                let pick =
                    |key: &str| positive(m, key).or_else(|| q0.and_then(|q| positive(q, key)));
                let rate_bits = pick("max-rate").or_else(|| pick("min-rate"))?;
                let bytes_per_s = bits_to_bytes(rate_bits);
                let mtu = port
                    .interfaces
                    .first()
                    .and_then(|i| i.mtu_request)
                    .filter(|m| *m > 0)
                    .map_or(DEFAULT_MTU, |m| m as u64);
                let burst_bytes = match pick("burst") {
                    Some(bits) => (bits / 8).max(mtu + HTB_BURST_GUARD),
                    None => (bytes_per_s.saturating_mul(DEFAULT_BURST_MS) / 1000)
                        .max(2 * (mtu + FRAME_OVERHEAD)),
                };
                Some(EgressQos::RateLimit {
                    limit: Rate {
                        bytes_per_s,
                        burst_bytes,
                    },
                })
            }
            _ => None,
        }
    }
}

impl Interface {
    /// `ingress_policing_rate` (kbit/s, 1000 bit/s) and
    /// `ingress_policing_burst` (kbit, 1000 bits; 0 means OVS's 8000 kbit)
    /// in bytes, as OVS-DPDK converts them (both capped at `u32::MAX` kbit
    /// first, as OVS's bridge does). `None` when the rate is 0: no policing.
    pub fn ingress_policing(&self) -> Option<Rate> {
        let kbit = |v: i64| v.clamp(0, i64::from(u32::MAX)) as u64;
        let rate = kbit(self.ingress_policing_rate);
        if rate == 0 {
            return None;
        }
        let burst = match kbit(self.ingress_policing_burst) {
            0 => DEFAULT_INGRESS_BURST_KBIT,
            b => b,
        };
        Some(Rate {
            bytes_per_s: rate * 1000 / 8,
            burst_bytes: burst * 1000 / 8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Bridge, Interface, Port};

    fn u(n: u8) -> Uuid {
        Uuid::from_random_bytes([n; 16])
    }

    fn m(pairs: &[(&str, &str)]) -> StrMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A database with port `vnet0` using QoS `u(10)` of `ty`, with queue
    /// 0 `u(11)` if `queue0` is given.
    fn with_qos(ty: &str, qos: &[(&str, &str)], queue0: Option<&[(&str, &str)]>) -> Db {
        let mut db = Db::new(u(1));
        let mut br = Bridge::new(u(2), "br0");
        let mut p = Port::new(u(3), "vnet0", vec![Interface::new(u(4), "vnet0")]);
        p.qos = Some(u(10));
        br.ports.push(p);
        db.bridges.push(br);
        let mut q = Qos::new(u(10));
        q.qos_type = ty.to_string();
        q.other_config = m(qos);
        if let Some(kv) = queue0 {
            let mut queue = Queue::new(u(11));
            queue.other_config = m(kv);
            db.queues.push(queue);
            q.queues.insert(0, u(11));
        }
        db.qos.push(q);
        db
    }

    fn egress(db: &Db) -> Option<EgressQos> {
        let (_, p) = db.port("vnet0").unwrap();
        db.port_egress_qos(p)
    }

    fn rate(bytes_per_s: u64, burst_bytes: u64) -> Rate {
        Rate {
            bytes_per_s,
            burst_bytes,
        }
    }

    #[test]
    fn libvirt_average_and_burst_become_a_byte_rate() {
        // <bandwidth><inbound average='1000' burst='256'/>: kB/s and KiB;
        // libvirt writes average*8000 bit/s and burst*8192 bits.
        let kv: &[(&str, &str)] = &[("min-rate", "8000000"), ("burst", "2097152")];
        let db = with_qos("linux-htb", kv, Some(kv));
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(1_000_000, 262_144)
            })
        );
        // With peak='2000': max-rate wins.
        let qos: &[(&str, &str)] = &[
            ("min-rate", "8000000"),
            ("max-rate", "16000000"),
            ("burst", "2097152"),
        ];
        let db = with_qos("linux-htb", qos, Some(qos));
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(2_000_000, 262_144)
            })
        );
    }

    #[test]
    fn htb_rate_and_burst_sources_in_order() {
        // Queue 0's max-rate beats the QoS row's min-rate.
        let db = with_qos(
            "linux-htb",
            &[("min-rate", "8000000")],
            Some(&[("max-rate", "80000000")]),
        );
        // 10 MB/s; 10 ms of it is 100 kB.
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(10_000_000, 100_000)
            })
        );
        // Only queue 0's min-rate; a slow rate gets two full frames.
        let db = with_qos("linux-htb", &[], Some(&[("min-rate", "80000")]));
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(10_000, 2 * 1518)
            })
        );
        // CloudStack: max-rate on the QoS row, no queue.
        let db = with_qos("linux-htb", &[("max-rate", "1000000000")], None);
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(125_000_000, 1_250_000)
            })
        );
        // A tiny burst is raised to MTU + 64, as OVS's HTB does; the MTU
        // comes from mtu_request.
        let mut db = with_qos(
            "linux-htb",
            &[("max-rate", "8000000"), ("burst", "800")],
            None,
        );
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(1_000_000, 1564)
            })
        );
        db.bridges[0].ports[0].interfaces[0].mtu_request = Some(9000);
        assert_eq!(
            egress(&db),
            Some(EgressQos::RateLimit {
                limit: rate(1_000_000, 9064)
            })
        );
        // No rate anywhere: nothing to enforce.
        assert_eq!(egress(&with_qos("linux-htb", &[], Some(&[]))), None);
    }

    #[test]
    fn policers_use_bytes_as_configured() {
        let db = with_qos(
            "egress-policer",
            &[("cir", "46000000"), ("cbs", "2048")],
            None,
        );
        assert_eq!(
            egress(&db),
            Some(EgressQos::Policer {
                committed: rate(46_000_000, 2048)
            })
        );
        let db = with_qos(
            "trtcm-policer",
            &[
                ("cir", "50000"),
                ("cbs", "2048"),
                ("eir", "50000"),
                ("ebs", "4096"),
            ],
            None,
        );
        assert_eq!(
            egress(&db),
            Some(EgressQos::TrTcm {
                committed: rate(50_000, 2048),
                excess: rate(50_000, 4096)
            })
        );
        // No excess bucket: a single-rate policer.
        let db = with_qos(
            "trtcm-policer",
            &[("cir", "50000"), ("cbs", "2048"), ("eir", "0")],
            None,
        );
        assert_eq!(
            egress(&db),
            Some(EgressQos::Policer {
                committed: rate(50_000, 2048)
            })
        );
        assert_eq!(egress(&with_qos("", &[("cir", "1")], None)), None);
        let mut db = with_qos("egress-policer", &[("cir", "1"), ("cbs", "1")], None);
        db.bridges[0].ports[0].qos = None;
        assert_eq!(egress(&db), None);
    }

    #[test]
    fn ingress_policing_in_bytes_with_ovs_default_burst() {
        let mut i = Interface::new(u(1), "vnet0");
        assert_eq!(i.ingress_policing(), None);
        // libvirt <outbound average='1000' burst='256'/>: rate 8000 kbit/s,
        // burst 2048 kbit.
        i.ingress_policing_rate = 8000;
        i.ingress_policing_burst = 2048;
        assert_eq!(i.ingress_policing(), Some(rate(1_000_000, 256_000)));
        // Burst 0: OVS's 8000 kbit.
        i.ingress_policing_burst = 0;
        assert_eq!(i.ingress_policing(), Some(rate(1_000_000, 1_000_000)));
        // OVS caps both at u32::MAX kbit.
        i.ingress_policing_rate = i64::MAX;
        assert_eq!(
            i.ingress_policing().unwrap().bytes_per_s,
            u64::from(u32::MAX) * 125
        );
        i.ingress_policing_rate = 0;
        i.ingress_policing_burst = 100;
        assert_eq!(i.ingress_policing(), None);
    }

    #[test]
    fn validation_of_types_and_rates() {
        let e = |db: &Db| check_rows(db).unwrap_err();
        assert!(check_rows(&with_qos("", &[], None)).is_ok());
        let err = e(&with_qos("linux-hfsc", &[], None));
        assert!(
            err.contains("type \"linux-hfsc\" is not supported")
                && err.contains("egress-policer, trtcm-policer, linux-htb"),
            "{err}"
        );
        let err = e(&with_qos("egress-policer", &[("cbs", "2048")], None));
        assert!(
            err.contains("type=egress-policer needs other_config:cir > 0"),
            "{err}"
        );
        let err = e(&with_qos(
            "egress-policer",
            &[("cir", "0"), ("cbs", "1")],
            None,
        ));
        assert!(err.contains("other_config:cir=0 is out of range"), "{err}");
        let err = e(&with_qos(
            "egress-policer",
            &[("cir", "fast"), ("cbs", "1")],
            None,
        ));
        assert!(
            err.contains("other_config:cir=\"fast\" is not an integer"),
            "{err}"
        );
        let err = e(&with_qos(
            "trtcm-policer",
            &[("cir", "1"), ("cbs", "1"), ("eir", "-5")],
            None,
        ));
        assert!(
            err.contains("other_config:eir=-5 is out of range (it must be >= 0"),
            "{err}"
        );
        let err = e(&with_qos("linux-htb", &[("max-rate", "0")], None));
        assert!(
            err.contains("other_config:max-rate=0 is out of range"),
            "{err}"
        );
        let err = e(&with_qos("linux-htb", &[], Some(&[("min-rate", "-1")])));
        assert!(
            err.contains("Queue ") && err.contains("min-rate=-1"),
            "{err}"
        );
        // trtcm's queue 0 must match the port-level meter.
        let kv: &[(&str, &str)] = &[("cir", "100"), ("cbs", "2048")];
        assert!(check_rows(&with_qos("trtcm-policer", kv, Some(kv))).is_ok());
        let err = e(&with_qos(
            "trtcm-policer",
            kv,
            Some(&[("cir", "5"), ("cbs", "2048")]),
        ));
        assert!(
            err.contains("meters trtcm-policer at the port only"),
            "{err}"
        );
    }

    #[test]
    fn references_must_resolve() {
        let db = with_qos("linux-htb", &[], Some(&[]));
        assert!(check_references(None, &db).is_ok());
        let mut gone = db.clone();
        gone.qos.clear();
        let err = check_references(Some(&db), &gone).unwrap_err();
        assert_eq!(
            err,
            format!(
                "transaction error: {{\"details\":\"cannot delete QoS row {} because of 1 remaining reference(s)\",\"error\":\"referential integrity violation\"}}",
                u(10)
            )
        );
        let err = check_references(None, &gone).unwrap_err();
        assert!(
            err.contains(&format!(
                "Table Port column qos row {} references nonexistent row {} in table QoS.",
                u(3),
                u(10)
            )),
            "{err}"
        );
        let mut gone = db.clone();
        gone.queues.clear();
        let err = check_references(Some(&db), &gone).unwrap_err();
        assert!(err.contains("cannot delete Queue row"), "{err}");
    }
}
