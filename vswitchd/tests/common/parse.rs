//! Parsers for the text the tests read: OVS's `lacp/show`, `bond/show` and
//! `fdb/show` layouts (rvswitch prints the same fields), and testpmd's
//! port statistics. They never panic on odd input; missing fields come
//! out empty.

/// testpmd's `show port stats N` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// The value after `key` (e.g. `RX-packets:`) on the same line.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let i = text.find(key)?;
    text[i + key.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The block `NIC statistics for port N` of testpmd's output.
pub fn parse_port_stats(text: &str, port: u16) -> Option<PortStats> {
    let head = format!("NIC statistics for port {port} ");
    let start = text.find(&head)?;
    let block = &text[start..];
    // The block ends with the next one or the closing line of #s.
    let end = block[head.len()..]
        .find("NIC statistics for port")
        .map(|e| e + head.len())
        .unwrap_or(block.len());
    let block = &block[..end];
    Some(PortStats {
        rx_packets: number_after(block, "RX-packets:")?,
        rx_bytes: number_after(block, "RX-bytes:")?,
        tx_packets: number_after(block, "TX-packets:")?,
        tx_bytes: number_after(block, "TX-bytes:")?,
    })
}

/// One member in `lacp/show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LacpMember {
    pub name: String,
    /// The words after `member: NAME:`, e.g. `current attached`.
    pub status: String,
    pub may_enable: bool,
    pub actor_state: String,
    pub partner_sys_id: String,
    pub partner_state: String,
}

/// `lacp/show` of one bond (the first in the text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LacpShow {
    pub bond: String,
    /// `status:` line, e.g. `active negotiated`.
    pub status: String,
    pub sys_id: String,
    pub members: Vec<LacpMember>,
    pub text: String,
}

impl LacpShow {
    pub fn parse(text: &str) -> LacpShow {
        let mut s = LacpShow {
            text: text.to_string(),
            ..LacpShow::default()
        };
        let mut cur: Option<LacpMember> = None;
        for raw in text.lines() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("---- ") {
                if !s.bond.is_empty() {
                    break; // only the first bond
                }
                s.bond = rest.trim_end_matches('-').trim().to_string();
            } else if let Some(rest) = line.strip_prefix("member:") {
                if let Some(m) = cur.take() {
                    s.members.push(m);
                }
                let rest = rest.trim();
                let (name, status) = rest.split_once(':').unwrap_or((rest, ""));
                cur = Some(LacpMember {
                    name: name.trim().to_string(),
                    status: status.trim().to_string(),
                    ..LacpMember::default()
                });
            } else if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                match cur.as_mut() {
                    None => match k {
                        "status" => s.status = v.to_string(),
                        "sys_id" => s.sys_id = v.to_string(),
                        _ => {}
                    },
                    Some(m) => match k {
                        "may_enable" => m.may_enable = v == "true",
                        "actor state" => m.actor_state = v.to_string(),
                        "partner sys_id" => m.partner_sys_id = v.to_string(),
                        "partner state" => m.partner_state = v.to_string(),
                        _ => {}
                    },
                }
            }
        }
        if let Some(m) = cur.take() {
            s.members.push(m);
        }
        s
    }

    pub fn negotiated(&self) -> bool {
        self.status.split_whitespace().any(|w| w == "negotiated")
    }

    pub fn member(&self, name: &str) -> Option<&LacpMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member is in sync with its partner and may carry traffic:
    /// `current`, `may_enable: true`, actor collecting and distributing.
    pub fn member_up(&self, name: &str) -> bool {
        self.member(name).is_some_and(|m| {
            m.status.split_whitespace().any(|w| w == "current")
                && m.may_enable
                && m.actor_state.contains("collecting")
                && m.actor_state.contains("distributing")
        })
    }
}

/// `bond/show` of one bond.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BondShow {
    pub bond_mode: String,
    pub lacp_status: String,
    /// (member, `enabled`/`disabled`) in the order printed.
    pub members: Vec<(String, String)>,
    pub text: String,
}

impl BondShow {
    pub fn parse(text: &str) -> BondShow {
        let mut b = BondShow {
            text: text.to_string(),
            ..BondShow::default()
        };
        for raw in text.lines() {
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("member ") {
                if let Some((name, state)) = rest.split_once(':') {
                    b.members
                        .push((name.trim().to_string(), state.trim().to_string()));
                }
            } else if let Some(v) = line.strip_prefix("bond_mode:") {
                b.bond_mode = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("lacp_status:") {
                b.lacp_status = v.trim().to_string();
            }
        }
        b
    }

    pub fn enabled(&self, member: &str) -> bool {
        self.members
            .iter()
            .any(|(n, s)| n == member && s.starts_with("enabled"))
    }

    pub fn has_member(&self, member: &str) -> bool {
        self.members.iter().any(|(n, _)| n == member)
    }
}

/// One row of `fdb/show`: ` port  VLAN  MAC  Age`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    pub port: String,
    pub vlan: u16,
    pub mac: String,
}

/// The rows of `fdb/show` (the heading and any other line are skipped).
pub fn parse_fdb(text: &str) -> Vec<FdbEntry> {
    text.lines()
        .filter_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            let (port, vlan, mac) = (t.first()?, t.get(1)?, t.get(2)?);
            let vlan: u16 = vlan.parse().ok()?;
            let is_mac = mac.len() == 17 && mac.split(':').count() == 6;
            is_mac.then(|| FdbEntry {
                port: port.to_string(),
                vlan,
                mac: mac.to_ascii_lowercase(),
            })
        })
        .collect()
}
