//! The output of the runtime commands (OVS's `ovs-appctl` ones): text laid
//! out as OVS 3.1 lays it out, plus a structured JSON form for
//! `--format=json`.
//!
//! Pure formatting: the daemon gathers the live state, builds the inputs
//! below and gets back a [`RuntimeOutput`] with both `text` and `json`
//! filled. No I/O, no daemon state, no clock.
//!
//! | command | function | OVS 3.1 source of the layout |
//! | --- | --- | --- |
//! | `lacp/show` | [`lacp_show`] | `lib/lacp.c`, `lacp_print_details` |
//! | `lacp/show-stats` | [`lacp_show_stats`] | `lib/lacp.c`, `lacp_print_stats` |
//! | `bond/show` | [`bond_show`] | `ofproto/bond.c`, `bond_print_details` (text from [`datapath::bond::BondStatus::format`]) |
//! | `bond/set-active-member`, `bond/enable-member`, `bond/disable-member` | [`bond_reply`] | `ofproto/bond.c`, `bond_unixctl_set_active_member`, `enable_member` |
//! | `bond/hash` | [`bond_hash`] | `ofproto/bond.c`, `bond_unixctl_hash` |
//! | `bond/events`, `lacp/events` | [`bond_events`], [`lacp_events`] | none: rvswitch's own (see [`events`]) |
//! | `fdb/show` | [`fdb_show`] | `ofproto/ofproto-dpif.c`, `ofproto_unixctl_fdb_show` |
//! | `dpif-netdev/pmd-stats-show` | [`pmd_stats_show`] | `lib/dpif-netdev.c`, `pmd_info_show_stats` |
//! | `dpif-netdev/pmd-rxq-show` | [`pmd_rxq_show`] | `lib/dpif-netdev.c`, `pmd_info_show_rxq` |
//! | `dpif-netdev/pmd-rxq-rebalance` | [`pmd_rxq_rebalance`] | `lib/dpif-netdev.c`, `dpif_netdev_pmd_rebalance` |
//!
//! # Where the text differs from OVS
//!
//! - `lacp/show`: a member whose carrier is down is in rvswitch's
//!   PORT_DISABLED receive state and prints `disabled` where OVS (which has
//!   no such state) would print `expired` or `defaulted`.
//! - `fdb/show`: the first column holds the port **name**, where OVS prints
//!   the OpenFlow port number (rvswitch has no OpenFlow). The column is
//!   right-aligned like OVS's `%5s`, and widened to the longest name, so
//!   with names of at most 5 characters the layout is byte for byte OVS's.
//!   Rows come in the order given: `MacTable::entries` lists static
//!   entries first, then dynamic ones longest idle first; OVS lists its
//!   LRU list, where a static entry sits where it was added.
//! - `dpif-netdev/pmd-rxq-show`: with no PMD at all nothing is printed;
//!   OVS always has its main thread, so it prints the `Displaying last ...`
//!   header even then.
//! - `dpif-netdev/pmd-stats-show`: rvswitch has no flow caches and no
//!   upcalls, so OVS's `phwol hits`, `mfex opt hits`, `simple match hits`,
//!   `emc hits`, `smc hits`, `megaflow hits`, `avg. subtable lookups per
//!   megaflow hit`, `miss with success upcall` and `miss with failed
//!   upcall` lines are not printed. In their place come rvswitch's two
//!   MAC-learning lines, `mac entries learned: N` and `mac learn batches
//!   skipped: N`. `packet recirculations` is always 0 (rvswitch never
//!   recirculates). Every other line, and when it is left out (no cycles
//!   → no cycle lines; no packets → no per-packet lines), is OVS's. No
//!   `main thread:` section: rvswitch forwards only on PMD threads.
//! - `bond/show`: see [`datapath::bond::BondStatus::format`] (no
//!   recirculation, `lb_output` or `all members active` lines; an extra
//!   `bond is down:` / `lacp fallback:` line when it applies; per member
//!   `link failure count: N`, with LACP `lacp failure count: N`,
//!   `last link change: N ms ago` and, while
//!   held, `disabled by bond/disable-member`).
//! - `bond/hash`: rvswitch's balance-slb hash, not OVS's `hash_mac()`:
//!   the same MAC gives a different bucket than OVS prints (the one
//!   rvswitch uses). VLAN must be 0–4095 (OVS takes any number).
//!
//! Numbers are printed as OVS prints them (`%.02f` → `{:.2}`, which rounds
//! the same way); counters are 64-bit where OVS's LACP ones are 32-bit.
//!
//! # JSON forms
//!
//! Every command returns one JSON object; the typed forms are the `*Json`
//! structs of the submodules (they implement `Serialize` and
//! `Deserialize`, so clients can parse them back). Keys are snake_case,
//! MAC addresses are `"xx:xx:xx:xx:xx:xx"` strings, lists are in the order
//! the text prints them. A value the text prints as "none"/"NOT AVAIL" is
//! `null` (so is the `overhead_pct` of a PMD without queues, which the
//! text leaves out). Ratios the text leaves out or prints as 0.00 for want
//! of a denominator are `0.0`.
//!
//! `lacp/show` ([`lacp::LacpShowJson`]):
//! ```text
//! {"bonds": [{"name", "status": "active"|"passive", "negotiated": bool,
//!             "sys_id", "sys_priority", "aggregation_key": u16|null,
//!             "lacp_time": "fast"|"slow",
//!             "members": [{"name", "rx_state": "current"|"expired"|"defaulted"|"disabled",
//!                          "mux_state": "detached"|"waiting"|"attached"|"collecting"|"distributing",
//!                          "attached": bool, "carrier": bool, "port_id", "port_priority",
//!                          "may_enable": bool,
//!                          "actor":   {"sys_id", "sys_priority", "port_id", "port_priority",
//!                                      "key", "state": ["activity", "timeout", ...]},
//!                          "partner": {same as actor}}]}]}
//! ```
//!
//! `lacp/show-stats` ([`lacp::LacpStatsJson`]):
//! ```text
//! {"bonds": [{"name", "members": [{"name", "tx_pdus", "rx_pdus", "rx_bad_pdus",
//!             "rx_marker_request_pdus", "tx_marker_response_pdus", "link_expired",
//!             "link_defaulted", "carrier_status_changed"}]}]}
//! ```
//!
//! `bond/show` ([`bond::BondShowJson`]):
//! ```text
//! {"bonds": [{"name", "bond_mode", "carrying": "active-backup"|"balance-slb"|"balance-tcp"|null,
//!             "lacp_fallback_active": bool, "down_reason": string|null,
//!             "bond_hash_basis", "updelay_ms", "downdelay_ms",
//!             "detect_mode": "carrier"|"miimon", "miimon_interval_ms": u64|null,
//!             "rebalance_interval_ms", "next_rebalance_ms": u64|null,
//!             "lacp_status": "off"|"configured"|"negotiated", "lacp_fallback_ab": bool,
//!             "active_backup_primary": string|null, "primary_is_member": bool,
//!             "active_member": string|null, "active_member_mac",
//!             "members": [{"name", "mac", "enabled", "active", "may_enable", "carrier",
//!                          "admin_up", "lacp_enabled", "held_down", "link_failures",
//!                          "lacp_failures",
//!                          "last_link_change_ms": u64|null,
//!                          "pending": {"delay": "updelay"|"downdelay", "expires_in_ms"}|null,
//!                          "load_bytes", "hashes": [{"hash", "load_bytes", "load_kb"}]}]}]}
//! ```
//!
//! `bond/events` ([`events::EventsJson`] of [`events::BondEventJson`]) and
//! `lacp/events` (of [`events::LacpEventJson`]): see `docs/architecture.md`.
//!
//! `bond/set-active-member`, `bond/enable-member`, `bond/disable-member`:
//! `{"result": "done"|"no change"|"enabled"|"disabled"}`; `bond/hash`:
//! `{"hash": u8}`.
//!
//! `fdb/show` ([`fdb::FdbShowJson`]):
//! ```text
//! {"entries": [{"port", "vlan", "mac", "static": bool, "age": u32|null}]}
//! ```
//!
//! `dpif-netdev/pmd-stats-show` ([`dpif_netdev::PmdStatsJson`]):
//! ```text
//! {"pmds": [{"numa_id", "core_id", "packets_received", "packet_recirculations",
//!            "avg_datapath_passes_per_packet", "mac_entries_learned",
//!            "mac_learn_batches_skipped", "tx_batches", "tx_batched_packets",
//!            "avg_packets_per_output_batch", "idle_cycles", "idle_cycles_pct",
//!            "processing_cycles", "processing_cycles_pct", "avg_cycles_per_packet",
//!            "avg_processing_cycles_per_packet"}]}
//! ```
//!
//! `dpif-netdev/pmd-rxq-show` ([`dpif_netdev::PmdRxqJson`]):
//! ```text
//! {"window_secs", "pmds": [{"numa_id", "core_id", "isolated",
//!            "rxqs": [{"port", "queue_id", "enabled", "cycles", "pmd_usage_pct": u64|null}],
//!            "overhead_pct": u64|null}]}
//! ```
//!
//! `dpif-netdev/pmd-rxq-rebalance` ([`dpif_netdev::PmdRxqRebalanceJson`]):
//! `{"moved"}` (queues that changed PMD).

pub mod bond;
pub mod dpif_netdev;
pub mod events;
pub mod fdb;
pub mod lacp;

pub use bond::{bond_hash, bond_reply, bond_show, BondMemberInfo, BondShowInput};
pub use dpif_netdev::{
    pmd_rxq_rebalance, pmd_rxq_show, pmd_stats_show, PmdRxqInput, PmdStatsInput, RxqInput,
};
pub use events::{bond_events, lacp_events, EventsInput};
pub use fdb::{fdb_show, FdbRow};
pub use lacp::{lacp_show, lacp_show_stats, LacpShowInput, MemberName};

use serde::Serialize;

use crate::runtime::RuntimeOutput;

/// Both forms in one [`RuntimeOutput`].
fn output<T: Serialize>(text: String, json: &T) -> RuntimeOutput {
    RuntimeOutput {
        text,
        // Serializing these plain structs (string keys only) cannot fail.
        json: serde_json::to_value(json).ok(),
    }
}

/// `true`/`false` as OVS prints booleans.
const fn yes_no(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `num / den`, or 0.0 when `den` is zero (OVS prints 0.00 then).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}
