//! The metrics endpoint's pure half: where it listens (the `Open_vSwitch`
//! `other_config:metrics-listen` settings, rvswitch's own keys) and what it
//! serves (Prometheus/OpenMetrics text of a [`MetricsInput`], encoded by
//! the `prometheus-client` crate). The daemon gathers the input and serves
//! it over HTTP (`vswitchd/src/metrics/`).
//!
//! Metric families are generated from the counters' one definition
//! (`datapath::counters`): every traffic [`Counter`] becomes
//! `rvswitch_interface_<name>_total`, every drop counter
//! (`{rx,tx}_dropped_<reason>`) a sample of
//! `rvswitch_interface_dropped_total{direction, reason}`, and every
//! [`PmdCounter`] `rvswitch_pmd_<name>_total`; help texts are the
//! counters' doc comments.

use std::net::SocketAddr;

use datapath::counters::{Counter, PmdCounter, N_COUNTERS};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::counter::Counter as PromCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::appctl::{BondShowInput, LacpShowInput, PmdStatsInput};
use crate::db::StrMap;

/// `Open_vSwitch` `other_config` key: `IP:PORT` the metrics endpoint
/// listens on; absent = off.
pub const LISTEN_KEY: &str = "metrics-listen";
/// `Open_vSwitch` `other_config` key: `true` lets [`LISTEN_KEY`] be an
/// address that is not loopback.
pub const LISTEN_ANY_KEY: &str = "metrics-listen-any";

/// Where the metrics endpoint listens, from the `Open_vSwitch`
/// `other_config` map: `None` when it is off. An address that does not
/// parse, port 0, or an address that is not loopback (unless
/// `metrics-listen-any=true`) is refused with the reason.
pub fn listen_addr(other_config: &StrMap) -> Result<Option<SocketAddr>, String> {
    let any = match other_config.get(LISTEN_ANY_KEY).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(format!(
                "other_config:{LISTEN_ANY_KEY}=\"{v}\" is not valid (expected true or false)"
            ))
        }
    };
    let Some(v) = other_config.get(LISTEN_KEY) else {
        return Ok(None);
    };
    let addr: SocketAddr = v.parse().map_err(|_| {
        format!(
            "other_config:{LISTEN_KEY}=\"{v}\" is not an IP address and port \
             (such as 127.0.0.1:9475 or [::1]:9475)"
        )
    })?;
    if addr.port() == 0 {
        return Err(format!(
            "other_config:{LISTEN_KEY}={v}: port 0 is not a port to listen on"
        ));
    }
    if !any && !addr.ip().is_loopback() {
        return Err(format!(
            "other_config:{LISTEN_KEY}={v} is not a loopback address and the metrics \
             endpoint has no authentication; set other_config:{LISTEN_ANY_KEY}=true \
             as well to serve it there"
        ));
    }
    Ok(Some(addr))
}

/// One interface's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceMetrics {
    /// The interface.
    pub name: String,
    /// Its bridge (empty if none).
    pub bridge: String,
    /// Every [`Counter`], summed over the PMD threads (the values of its
    /// `statistics` column).
    pub counters: [u64; N_COUNTERS],
}

/// One bridge's gauges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeMetrics {
    /// The bridge.
    pub name: String,
    /// Entries in its MAC table.
    pub mac_entries: u64,
}

/// Everything one scrape shows, as plain values taken by the control
/// thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsInput {
    /// Every interface.
    pub interfaces: Vec<InterfaceMetrics>,
    /// Every bridge.
    pub bridges: Vec<BridgeMetrics>,
    /// Every bond (as `bond/show` sees it).
    pub bonds: Vec<BondShowInput>,
    /// Every bond running LACP (as `lacp/show` sees it).
    pub lacp: Vec<LacpShowInput>,
    /// Every PMD thread, with its counts since it started (never reset by
    /// `pmd-stats-clear`: Prometheus counters only grow).
    pub pmds: Vec<PmdStatsInput>,
}

/// The two text formats: the one a scraper asks for in `Accept`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0 text (what Prometheus asks for first).
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (the default, and what
    /// `promtool check metrics` reads).
    Prometheus,
}

impl Exposition {
    /// The format an HTTP `Accept` header value asks for.
    pub fn negotiate(accept: Option<&str>) -> Exposition {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Exposition::OpenMetrics,
            _ => Exposition::Prometheus,
        }
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::Prometheus => prometheus_text::CONTENT_TYPE,
        }
    }
}

type Labels = Vec<(&'static str, String)>;

/// A drop counter's direction and reason (`rx_dropped_malformed` ->
/// `("rx", "malformed")`); `None` for traffic counters.
fn drop_reason(c: Counter) -> Option<(&'static str, &'static str)> {
    c.name().split_once("_dropped_")
}

/// A counter's doc comment as a help text (the encoder adds the period).
fn help(doc: &str) -> &str {
    doc.trim().trim_end_matches('.')
}

/// A registry holding one scrape's values.
fn registry(input: &MetricsInput) -> Registry {
    let mut reg = Registry::with_prefix("rvswitch");
    add_interfaces(&mut reg, &input.interfaces);
    add_pmds(&mut reg, &input.pmds);
    let entries = Family::<Labels, Gauge>::default();
    for b in &input.bridges {
        entries
            .get_or_create(&vec![("bridge", b.name.clone())])
            .set(b.mac_entries as i64);
    }
    reg.register(
        "bridge_mac_entries",
        "Entries in the bridge's MAC table",
        entries,
    );
    add_bonds(&mut reg, &input.bonds, &input.lacp);
    reg
}

fn add_interfaces(reg: &mut Registry, ifaces: &[InterfaceMetrics]) {
    let dropped = Family::<Labels, PromCounter>::default();
    for &c in Counter::ALL {
        let traffic = Family::<Labels, PromCounter>::default();
        for i in ifaces {
            let mut labels = vec![("bridge", i.bridge.clone()), ("interface", i.name.clone())];
            let v = i.counters[c as usize];
            match drop_reason(c) {
                Some((dir, reason)) => {
                    labels.push(("direction", dir.to_string()));
                    labels.push(("reason", reason.to_string()));
                    dropped.get_or_create(&labels).inc_by(v);
                }
                None => {
                    traffic.get_or_create(&labels).inc_by(v);
                }
            }
        }
        if drop_reason(c).is_none() {
            let help = format!("{} (statistics:{})", help(c.help()), c.name());
            reg.register(format!("interface_{}", c.name()), help, traffic);
        }
    }
    reg.register(
        "interface_dropped",
        "Packets dropped, by direction (rx, tx) and reason: the interface's \
         statistics:DIRECTION_dropped_REASON",
        dropped,
    );
}

fn add_pmds(reg: &mut Registry, pmds: &[PmdStatsInput]) {
    for &c in PmdCounter::ALL {
        let f = Family::<Labels, PromCounter>::default();
        for p in pmds {
            let labels = vec![
                ("core", p.core_id.to_string()),
                ("numa", p.numa_id.to_string()),
            ];
            f.get_or_create(&labels).inc_by(p.counts[c]);
        }
        reg.register(format!("pmd_{}", c.name()), help(c.help()), f);
    }
}

fn add_bonds(reg: &mut Registry, bonds: &[BondShowInput], lacp: &[LacpShowInput]) {
    let enabled = Family::<Labels, Gauge>::default();
    let active = Family::<Labels, Gauge>::default();
    let carrier = Family::<Labels, Gauge>::default();
    let failures = Family::<Labels, PromCounter>::default();
    for b in bonds {
        for m in &b.status.members {
            let name = b
                .members
                .iter()
                .find(|i| i.id == m.id)
                .map_or_else(|| m.id.to_string(), |i| i.name.clone());
            let labels = vec![("bond", b.name.clone()), ("member", name)];
            enabled.get_or_create(&labels).set(i64::from(m.enabled));
            active.get_or_create(&labels).set(i64::from(m.active));
            carrier.get_or_create(&labels).set(i64::from(m.carrier));
            failures.get_or_create(&labels).inc_by(m.link_failures);
        }
    }
    reg.register(
        "bond_member_enabled",
        "1 if the bond member may carry traffic (bond/show: enabled)",
        enabled,
    );
    reg.register(
        "bond_member_active",
        "1 if the bond member is the bond's active member",
        active,
    );
    reg.register(
        "bond_member_carrier",
        "1 if the bond member's carrier is up as the bond sees it",
        carrier,
    );
    reg.register(
        "bond_member_link_failures",
        "Times the bond member's carrier went down",
        failures,
    );
    let state = Family::<Labels, Gauge>::default();
    let negotiated = Family::<Labels, Gauge>::default();
    for b in lacp {
        negotiated
            .get_or_create(&vec![("bond", b.name.clone())])
            .set(i64::from(b.status.negotiated));
        for m in &b.status.members {
            let name = b
                .members
                .iter()
                .find(|i| i.id == m.id)
                .map_or_else(|| m.id.to_string(), |i| i.name.clone());
            let labels = vec![
                ("bond", b.name.clone()),
                ("member", name),
                ("rx_state", m.rx_state.as_str().to_string()),
                ("mux_state", m.mux_state.as_str().to_string()),
            ];
            state.get_or_create(&labels).set(1);
        }
    }
    reg.register(
        "bond_lacp_negotiated",
        "1 if LACP is negotiated on the bond",
        negotiated,
    );
    reg.register(
        "bond_member_lacp_state",
        "1, labelled with the member's LACP receive-machine state (current, \
         expired, defaulted, disabled) and mux state",
        state,
    );
}

/// The exposition of `input` in `format`.
pub fn render(input: &MetricsInput, format: Exposition) -> String {
    let reg = registry(input);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = match format {
        Exposition::OpenMetrics => text::encode(&mut out, &reg),
        Exposition::Prometheus => prometheus_text::encode(&mut out, &reg),
    };
    out
}

#[cfg(test)]
mod tests;
