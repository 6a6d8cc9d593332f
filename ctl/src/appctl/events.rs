//! `bond/events [BOND]` and `lacp/events [BOND]`: the last events the bond
//! and LACP machines recorded ([`datapath::history`]), oldest first, one
//! line each. rvswitch's own commands (OVS has none like them).
//!
//! Every event has the monotonic time the machine recorded it at (seconds
//! since the daemon started) and the wall-clock time the daemon derives
//! from it (`wall_epoch_ms`: the wall clock, in Unix milliseconds, at
//! monotonic time 0). Causes are worded by the machines' own types
//! ([`datapath::bond::Cause`], [`datapath::lacp::LacpCause`]): the same
//! words as the daemon's log lines.
//!
//! ```text
//! ---- bond0 (3 events) ----
//! 2026-05-01T12:00:03.123Z 12.345s #4 member a0: enabled -> disabled (carrier)
//! 2026-05-01T12:00:03.123Z 12.345s #5 active member: a0 -> a1
//! 2026-05-01T12:00:13.000Z 22.222s #6 rebalance: hash 17 from a0 to a1 (20480 bytes)
//!
//! ---- bond0 LACP (1 events) ----
//! 2026-05-01T12:00:03.120Z 12.342s #9 member a0: current/distributing/enabled -> current/attached/disabled (partner out of sync); partner 02:00:00:00:00:bb key 9 port 7 state activity,aggregation
//! ```
//!
//! When older events were dropped (a history keeps 1,000), the heading
//! says `(1000 of 1200 events, 200 oldest dropped)`.

use core::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use datapath::bond::{BondRecord, Carrying, MemberId};
use datapath::history::Stamped;
use datapath::lacp::{LacpMemberState, LacpRecord};
use datapath::wire::lacpdu::LacpInfo;
use serde::{Deserialize, Serialize};

use super::lacp::{state_words, LacpInfoJson, MemberName};
use super::output;
use crate::runtime::RuntimeOutput;

/// One bond's history, for `bond/events` (`T` = [`BondRecord`]) or
/// `lacp/events` (`T` = [`LacpRecord`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsInput<T> {
    /// The bond (port) name.
    pub name: String,
    /// Interface name of each member id; a member missing here (one that
    /// left the bond) is shown by its id number.
    pub members: Vec<MemberName>,
    /// Events ever recorded (those not in `events` were dropped).
    pub recorded: u64,
    /// The events kept, oldest first.
    pub events: Vec<Stamped<T>>,
}

impl<T> EventsInput<T> {
    fn name_of(&self, id: MemberId) -> String {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_string(), |m| m.name.clone())
    }

    fn dropped(&self) -> u64 {
        self.recorded.saturating_sub(self.events.len() as u64)
    }

    fn heading(&self, what: &str) -> String {
        let n = self.events.len();
        match self.dropped() {
            0 => format!("---- {}{what} ({n} events) ----\n", self.name),
            d => format!(
                "---- {}{what} ({n} of {} events, {d} oldest dropped) ----\n",
                self.name, self.recorded
            ),
        }
    }
}

/// JSON form of `bond/events` and `lacp/events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsJson<E> {
    /// One entry per bond.
    pub bonds: Vec<BondEventsJson<E>>,
}

/// One bond in [`EventsJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondEventsJson<E> {
    /// Bond name.
    pub name: String,
    /// Events ever recorded.
    pub recorded: u64,
    /// Events dropped to keep the bound (the oldest).
    pub dropped: u64,
    /// The events kept, oldest first.
    pub events: Vec<E>,
}

/// When an event happened, in every form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTimeJson {
    /// Its number (0 for a bond's first event).
    pub seq: u64,
    /// Monotonic milliseconds since the daemon started.
    pub monotonic_ms: u64,
    /// Wall-clock time in Unix milliseconds.
    pub wall_ms: u64,
    /// The same as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
    pub wall_time: String,
}

/// One `bond/events` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BondEventJson {
    /// When.
    #[serde(flatten)]
    pub time: EventTimeJson,
    /// `member`, `active`, `carrying` or `rebalance`.
    pub kind: String,
    /// The member enabled or disabled (`member` events).
    pub member: Option<String>,
    /// Before: `enabled`/`disabled` (member), a member name or `null`
    /// (active, rebalance), how the bond carried traffic (carrying).
    pub from: Option<String>,
    /// After, as `from`.
    pub to: Option<String>,
    /// [`Cause::key`](datapath::bond::Cause::key) (member, carrying),
    /// `rebalance`, or `null` (active).
    pub cause: Option<String>,
    /// The bucket a rebalance moved.
    pub bucket: Option<u8>,
    /// Its load in bytes.
    pub load_bytes: Option<u64>,
}

/// A member's LACP state in [`LacpEventJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpStateJson {
    /// Receive machine, as `lacp/show` words it.
    pub rx_state: String,
    /// Mux machine, as `lacp/show` words it.
    pub mux_state: String,
    /// May carry traffic.
    pub enabled: bool,
}

/// One `lacp/events` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LacpEventJson {
    /// When.
    #[serde(flatten)]
    pub time: EventTimeJson,
    /// The member.
    pub member: String,
    /// Its state before.
    pub from: LacpStateJson,
    /// Its state after.
    pub to: LacpStateJson,
    /// [`LacpCause::key`](datapath::lacp::LacpCause::key).
    pub cause: String,
    /// The partner then (as `lacp/show` gives it).
    pub partner: LacpInfoJson,
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of Unix milliseconds `ms`.
fn utc(ms: u64) -> String {
    let secs = crate::wait::vlog_time(UNIX_EPOCH + Duration::from_millis(ms));
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms % 1000)
}

fn time_json<T>(e: &Stamped<T>, wall_epoch_ms: u64) -> EventTimeJson {
    let wall_ms = wall_epoch_ms.saturating_add(e.at.as_millis());
    EventTimeJson {
        seq: e.seq,
        monotonic_ms: e.at.as_millis(),
        wall_ms,
        wall_time: utc(wall_ms),
    }
}

/// `<wall time> <monotonic>s #<seq> ` at the start of each line.
fn stamp<T>(e: &Stamped<T>, wall_epoch_ms: u64) -> String {
    let t = time_json(e, wall_epoch_ms);
    format!("{} {} #{} ", t.wall_time, e.at, e.seq)
}

const fn enabled_word(en: bool) -> &'static str {
    if en {
        "enabled"
    } else {
        "disabled"
    }
}

fn carrying_word(c: Carrying) -> &'static str {
    match c {
        Carrying::Normal(m) => m.as_str(),
        Carrying::FallbackActiveBackup => "lacp-fallback-active-backup",
        Carrying::Down(_) => "down",
    }
}

/// The text after the stamp, and the JSON, of one bond event.
fn bond_event(b: &EventsInput<BondRecord>, r: &BondRecord) -> (String, BondEventJson) {
    let name = |m: Option<MemberId>| m.map(|m| b.name_of(m));
    let shown = |m: &Option<String>| m.clone().unwrap_or_else(|| "none".into());
    let mut j = BondEventJson::default();
    let (kind, text) = match *r {
        BondRecord::Member {
            member,
            enabled,
            cause,
        } => {
            j.member = name(Some(member));
            j.from = Some(enabled_word(!enabled).into());
            j.to = Some(enabled_word(enabled).into());
            j.cause = Some(cause.key().into());
            let text = format!(
                "member {}: {} -> {} ({})",
                b.name_of(member),
                enabled_word(!enabled),
                enabled_word(enabled),
                cause.as_str()
            );
            ("member", text)
        }
        BondRecord::Active { from, to } => {
            j.from = name(from);
            j.to = name(to);
            let text = format!("active member: {} -> {}", shown(&j.from), shown(&j.to));
            ("active", text)
        }
        BondRecord::Carrying { from, to, cause } => {
            j.from = Some(carrying_word(from).into());
            j.to = Some(carrying_word(to).into());
            j.cause = Some(cause.key().into());
            let text = format!(
                "carrying: {} -> {} ({})",
                carrying_word(from),
                carrying_word(to),
                cause.as_str()
            );
            ("carrying", text)
        }
        BondRecord::Rebalance {
            bucket,
            from,
            to,
            load_bytes,
        } => {
            j.from = name(Some(from));
            j.to = name(Some(to));
            j.cause = Some("rebalance".into());
            j.bucket = Some(bucket);
            j.load_bytes = Some(load_bytes);
            let text = format!(
                "rebalance: hash {bucket} from {} to {} ({load_bytes} bytes)",
                b.name_of(from),
                b.name_of(to)
            );
            ("rebalance", text)
        }
    };
    j.kind = kind.into();
    (text, j)
}

/// `bond/events`: every bond in `bonds`, in order; see the module docs.
/// `wall_epoch_ms` is the wall clock (Unix ms) at monotonic time 0.
pub fn bond_events(wall_epoch_ms: u64, bonds: &[EventsInput<BondRecord>]) -> RuntimeOutput {
    let mut s = String::new();
    let mut json = EventsJson { bonds: Vec::new() };
    for (i, b) in bonds.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&b.heading(""));
        let mut events = Vec::new();
        for e in &b.events {
            let (text, mut j) = bond_event(b, &e.event);
            let _ = writeln!(s, "{}{text}", stamp(e, wall_epoch_ms));
            j.time = time_json(e, wall_epoch_ms);
            events.push(j);
        }
        json.bonds.push(BondEventsJson {
            name: b.name.clone(),
            recorded: b.recorded,
            dropped: b.dropped(),
            events,
        });
    }
    output(s, &json)
}

fn lacp_state(s: &LacpMemberState) -> String {
    format!("{}/{}/{}", s.rx, s.mux, enabled_word(s.enabled))
}

fn lacp_state_json(s: &LacpMemberState) -> LacpStateJson {
    LacpStateJson {
        rx_state: s.rx.as_str().into(),
        mux_state: s.mux.as_str().into(),
        enabled: s.enabled,
    }
}

fn partner_text(p: &LacpInfo) -> String {
    let words: Vec<&str> = state_words(p.state).collect();
    let state = if words.is_empty() {
        "(none)".to_string()
    } else {
        words.join(",")
    };
    format!(
        "partner {} key {} port {} state {state}",
        p.sys_id, p.key, p.port_id
    )
}

/// `lacp/events`: every bond in `bonds`, in order; see the module docs.
pub fn lacp_events(wall_epoch_ms: u64, bonds: &[EventsInput<LacpRecord>]) -> RuntimeOutput {
    let mut s = String::new();
    let mut json = EventsJson { bonds: Vec::new() };
    for (i, b) in bonds.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&b.heading(" LACP"));
        let mut events = Vec::new();
        for e in &b.events {
            let r = &e.event;
            let member = b.name_of(r.member);
            let _ = writeln!(
                s,
                "{}member {member}: {} -> {} ({}); {}",
                stamp(e, wall_epoch_ms),
                lacp_state(&r.from),
                lacp_state(&r.to),
                r.cause.as_str(),
                partner_text(&r.partner)
            );
            events.push(LacpEventJson {
                time: time_json(e, wall_epoch_ms),
                member,
                from: lacp_state_json(&r.from),
                to: lacp_state_json(&r.to),
                cause: r.cause.key().into(),
                partner: (&r.partner).into(),
            });
        }
        json.bonds.push(BondEventsJson {
            name: b.name.clone(),
            recorded: b.recorded,
            dropped: b.dropped(),
            events,
        });
    }
    output(s, &json)
}
