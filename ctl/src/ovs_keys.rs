//! Keys that OVS defines (`vswitchd/vswitch.xml`) in the `other_config`
//! maps and that rvswitch does not implement. Setting one is refused with
//! `other_config:KEY is not supported by rvswitch (REASON)`, so nobody
//! believes a setting is in force when it is not; a value that is what
//! rvswitch does anyway (`hw-offload=false`) is accepted. Keys OVS does
//! not define stay accepted, as in OVS. The keys rvswitch honours are
//! checked in `validate`; `options` are checked there too (only the
//! options of the interface's type are accepted).
//!
//! Only values a write changes are checked: a saved configuration always
//! loads.

use crate::db::{Db, StrMap};

/// Keys that share a reason, and the values that match what rvswitch does.
struct NotImplemented {
    keys: &'static [&'static str],
    same_as_rvswitch: &'static [&'static str],
    reason: &'static str,
}

const fn ni(
    keys: &'static [&'static str],
    same_as_rvswitch: &'static [&'static str],
    reason: &'static str,
) -> NotImplemented {
    NotImplemented {
        keys,
        same_as_rvswitch,
        reason,
    }
}

const NO_FLOWS: &str =
    "rvswitch has no OpenFlow tables or flow caches: it forwards by MAC learning";
const NO_HW_OFFLOAD: &str = "rvswitch offloads no flows to hardware";
const NO_STP: &str = "rvswitch implements neither STP nor RSTP";
const NO_MCAST_SNOOPING: &str =
    "rvswitch does not snoop IGMP/MLD: multicast is flooded in its VLAN";
const NO_OPENFLOW: &str = "rvswitch has no OpenFlow controller connection";

/// `Open_vSwitch` `other_config`.
const GLOBAL: &[NotImplemented] = &[
    ni(
        &[
            "stats-update-interval",
            "flow-limit",
            "max-idle",
            "max-revalidator",
            "min-revalidate-pps",
            "n-handler-threads",
            "n-revalidator-threads",
            "emc-insert-inv-prob",
            "bundle-idle-timeout",
            "explicit-sampled-drops",
        ],
        &[],
        NO_FLOWS,
    ),
    ni(&["flow-restore-wait", "smc-enable"], &["false"], NO_FLOWS),
    ni(
        &[
            "hw-offload",
            "offload-rebalance",
            "hw-offload-priority",
            "n-offload-threads",
            "tc-policy",
            "offloaded-stats-delay",
        ],
        &["false"],
        NO_HW_OFFLOAD,
    ),
    ni(
        &[
            "dpdk-alloc-mem",
            "dpdk-socket-limit",
            "dpdk-hugepage-dir",
            "shared-mempool-config",
        ],
        &[],
        "rvswitch sizes its shared packet pools itself; pass other EAL options in other_config:dpdk-extra",
    ),
    ni(
        &["per-port-memory"],
        &["false"],
        "rvswitch's packet pools are shared by all ports",
    ),
    ni(
        &["dpdk-probe-at-init"],
        &["false"],
        "devices are attached with rte_dev_probe when a port names them",
    ),
    ni(
        &["vhost-postcopy-support"],
        &["false"],
        "no postcopy live migration of vhost-user guests",
    ),
    ni(
        &[
            "pmd-auto-lb",
            "pmd-auto-lb-rebal-interval",
            "pmd-auto-lb-load-threshold",
            "pmd-auto-lb-improvement-threshold",
        ],
        &["false"],
        "no automatic PMD load balancing",
    ),
    ni(&["pmd-perf-metrics"], &["false"], "no detailed PMD performance metrics"),
    ni(
        &["tx-flush-interval"],
        &["0"],
        "output is flushed once per received burst",
    ),
    ni(
        &["userspace-tso-enable"],
        &["false"],
        "TCP segmentation offload for vhost-user guests is not implemented",
    ),
    ni(&["vlan-limit"], &["1"], "rvswitch switches on one 802.1Q tag"),
    ni(&["enable-statistics"], &["false"], "no per-flow statistics"),
    ni(
        &["private_key", "certificate", "ca_cert", "ipsec_skb_mark"],
        &[],
        "rvswitch has no SSL connections or IPsec tunnels",
    ),
];

/// `Bridge` `other_config`.
const BRIDGE: &[NotImplemented] = &[
    ni(
        &[
            "datapath-id",
            "dp-desc",
            "dp-sn",
            "disable-in-band",
            "in-band-queue",
            "controller-queue-size",
        ],
        &[],
        NO_OPENFLOW,
    ),
    ni(
        &[
            "stp-system-id",
            "stp-priority",
            "stp-hello-time",
            "stp-max-age",
            "stp-forward-delay",
            "rstp-address",
            "rstp-priority",
            "rstp-ageing-time",
            "rstp-force-protocol-version",
            "rstp-max-age",
            "rstp-forward-delay",
            "rstp-transmit-hold-count",
        ],
        &[],
        NO_STP,
    ),
    ni(
        &[
            "mcast-snooping-aging-time",
            "mcast-snooping-table-size",
            "mcast-snooping-disable-flood-unregistered",
        ],
        &[],
        NO_MCAST_SNOOPING,
    ),
    ni(
        &["forward-bpdu"],
        &["false"],
        "rvswitch drops frames to 802.1D reserved addresses (statistics:rx_dropped_reserved_multicast)",
    ),
];

/// `Port` `other_config`.
const PORT: &[NotImplemented] = &[
    ni(
        &["qinq-ethtype"],
        &[],
        "rvswitch has no 802.1ad (QinQ) ports",
    ),
    ni(
        &["priority-tags"],
        &["false"],
        "untagged frames leave without a priority tag",
    ),
    ni(&["lb-output-action"], &["false"], NO_FLOWS),
    ni(
        &["all-members-active"],
        &["false"],
        "balance-slb sends each learned MAC's traffic on one member",
    ),
    ni(
        &[
            "stp-enable",
            "stp-port-num",
            "stp-port-priority",
            "stp-path-cost",
            "rstp-enable",
            "rstp-port-priority",
            "rstp-port-num",
            "rstp-path-cost",
            "rstp-port-admin-edge",
            "rstp-port-auto-edge",
            "rstp-port-mcheck",
        ],
        &[],
        NO_STP,
    ),
    ni(
        &["mcast-snooping-flood", "mcast-snooping-flood-reports"],
        &[],
        NO_MCAST_SNOOPING,
    ),
    ni(
        &["transient"],
        &["false"],
        "rvswitch keeps every port across restarts",
    ),
];

/// `Interface` `other_config`.
const INTERFACE: &[NotImplemented] = &[
    ni(
        &["tx-steering"],
        &["thread"],
        "each PMD thread has its own transmit queue",
    ),
    ni(&["emc-enable"], &["false"], NO_FLOWS),
    ni(
        &[
            "cfm_interval",
            "cfm_extended",
            "cfm_demand",
            "cfm_opstate",
            "cfm_ccm_vlan",
            "cfm_ccm_pcp",
        ],
        &[],
        "rvswitch implements no 802.1ag CFM",
    ),
    ni(&["hw-offload-priority"], &[], NO_HW_OFFLOAD),
];

fn check_map(
    what: &str,
    list: &[NotImplemented],
    old: Option<&StrMap>,
    new: &StrMap,
) -> Result<(), String> {
    for (key, value) in new {
        if old.and_then(|o| o.get(key)) == Some(value) {
            continue;
        }
        let Some(n) = list.iter().find(|n| n.keys.contains(&key.as_str())) else {
            continue;
        };
        if n.same_as_rvswitch.contains(&value.as_str()) {
            continue;
        }
        return Err(format!(
            "{what}other_config:{key} is not supported by rvswitch ({})",
            n.reason
        ));
    }
    Ok(())
}

/// Refuse OVS-defined keys that rvswitch does not implement, where `new`
/// sets or changes them relative to `old`.
pub fn check(old: &Db, new: &Db) -> Result<(), String> {
    check_map("", GLOBAL, Some(&old.other_config), &new.other_config)?;
    for br in &new.bridges {
        let ob = old.bridges.iter().find(|b| b.uuid == br.uuid);
        let what = format!("bridge {}: ", br.name);
        check_map(&what, BRIDGE, ob.map(|b| &b.other_config), &br.other_config)?;
        for p in &br.ports {
            let op = old
                .bridges
                .iter()
                .flat_map(|b| &b.ports)
                .find(|x| x.uuid == p.uuid);
            let what = format!("port {}: ", p.name);
            check_map(&what, PORT, op.map(|x| &x.other_config), &p.other_config)?;
        }
    }
    for (_, _, i) in new.interfaces() {
        let oi = old
            .interfaces()
            .find(|(_, _, x)| x.uuid == i.uuid)
            .map(|(_, _, x)| x);
        let what = format!("interface {}: ", i.name);
        check_map(
            &what,
            INTERFACE,
            oi.map(|x| &x.other_config),
            &i.other_config,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> StrMap {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unimplemented_keys_are_refused_with_the_reason() {
        let e = check_map("", GLOBAL, None, &map(&[("pmd-auto-lb", "true")])).unwrap_err();
        assert_eq!(
            e,
            "other_config:pmd-auto-lb is not supported by rvswitch (no automatic PMD load balancing)"
        );
        let e = check_map(
            "interface d0: ",
            INTERFACE,
            None,
            &map(&[("tx-steering", "hash")]),
        )
        .unwrap_err();
        assert!(
            e.starts_with("interface d0: other_config:tx-steering is not supported by rvswitch (")
        );
    }

    #[test]
    fn what_rvswitch_does_anyway_and_unknown_keys_are_accepted() {
        for kv in [
            ("hw-offload", "false"),
            ("pmd-rxq-assign", "group"),
            ("pmd-rxq-isolate", "false"),
            ("my-own-key", "x"),
            ("dpdk-init", "true"),
        ] {
            check_map("", GLOBAL, None, &map(&[kv])).unwrap();
        }
        check_map("", BRIDGE, None, &map(&[("forward-bpdu", "false")])).unwrap();
        assert!(check_map("", BRIDGE, None, &map(&[("forward-bpdu", "true")])).is_err());
    }

    #[test]
    fn values_already_in_force_are_not_checked_again() {
        let old = map(&[("stp-priority", "4096")]);
        check_map("", BRIDGE, Some(&old), &old).unwrap();
        let new = map(&[("stp-priority", "8192")]);
        assert!(check_map("", BRIDGE, Some(&old), &new).is_err());
    }

    #[test]
    fn no_key_is_listed_twice() {
        let mut seen = std::collections::BTreeSet::new();
        for list in [GLOBAL, BRIDGE, PORT, INTERFACE] {
            let mut here = std::collections::BTreeSet::new();
            for n in list {
                for k in n.keys {
                    assert!(here.insert(*k), "{k} twice");
                }
            }
            seen.extend(here);
        }
        assert!(seen.len() > 80);
    }
}
