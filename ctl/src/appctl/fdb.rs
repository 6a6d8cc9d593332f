//! `fdb/show`, laid out as OVS 3.1's `ofproto_unixctl_fdb_show`
//! (`ofproto/ofproto-dpif.c`):
//!
//! ```text
//!  port  VLAN  MAC                Age
//! dpdk0     0  52:54:00:00:00:01  static
//!  vhu1   300  52:54:00:00:00:0a    5
//! ```
//!
//! OVS prints the OpenFlow port number right-aligned in 5 columns (`%5s`);
//! rvswitch prints the port name there, right-aligned in a column as wide
//! as the longest name (at least 5), so names of up to 5 characters give
//! OVS's exact layout. VLAN is `%4d`, the age `%3d` seconds or `static`.

use core::fmt::Write as _;

use datapath::wire::MacAddr;
use serde::{Deserialize, Serialize};

use super::output;
use crate::runtime::RuntimeOutput;

/// One MAC table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbRow {
    /// The bridge port's name.
    pub port_name: String,
    /// The VLAN.
    pub vlan: u16,
    /// The station's address.
    pub mac: MacAddr,
    /// Seconds since last heard from; `None` for a static entry.
    pub age: Option<u32>,
}

/// JSON form of `fdb/show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbShowJson {
    /// Entries in the order printed.
    pub entries: Vec<FdbEntryJson>,
}

/// One entry in [`FdbShowJson`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbEntryJson {
    /// The bridge port's name.
    pub port: String,
    /// The VLAN.
    pub vlan: u16,
    /// The station's address.
    pub mac: String,
    /// Configured with `fdb/add`: never ages.
    #[serde(rename = "static")]
    pub is_static: bool,
    /// Seconds since last heard from; `null` for a static entry.
    pub age: Option<u32>,
}

/// Width of the port column: the longest name, at least OVS's 5.
fn port_width(entries: &[FdbRow]) -> usize {
    entries
        .iter()
        .map(|e| e.port_name.chars().count())
        .fold(5, usize::max)
}

/// `fdb/show`: the header and one line per entry, in the order given (the
/// daemon passes `datapath::mac_table::MacTable::entries`: static entries,
/// then dynamic ones longest idle first).
pub fn fdb_show(entries: &[FdbRow]) -> RuntimeOutput {
    let w = port_width(entries);
    let mut s = String::new();
    let _ = writeln!(s, "{:>w$}  VLAN  MAC                Age", "port");
    for e in entries {
        let _ = write!(s, "{:>w$}  {:>4}  {}  ", e.port_name, e.vlan, e.mac);
        match e.age {
            Some(age) => {
                let _ = writeln!(s, "{age:>3}");
            }
            None => s.push_str("static\n"),
        }
    }
    let json = FdbShowJson {
        entries: entries
            .iter()
            .map(|e| FdbEntryJson {
                port: e.port_name.clone(),
                vlan: e.vlan,
                mac: e.mac.to_string(),
                is_static: e.age.is_none(),
                age: e.age,
            })
            .collect(),
    };
    output(s, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> FdbRow {
        FdbRow {
            port_name: name.into(),
            vlan: 1,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            age: Some(1),
        }
    }

    #[test]
    fn port_column_is_at_least_five_and_counts_characters() {
        assert_eq!(port_width(&[]), 5);
        assert_eq!(port_width(&[row("p1")]), 5);
        assert_eq!(port_width(&[row("p1"), row("vhost-user-1")]), 12);
        // Characters, not bytes: "ü" is one column.
        assert_eq!(port_width(&[row("pörtü")]), 5);
        let out = fdb_show(&[row("pörtü")]);
        assert_eq!(
            out.text.lines().nth(1),
            Some("pörtü     1  02:00:00:00:00:01    1")
        );
    }
}
