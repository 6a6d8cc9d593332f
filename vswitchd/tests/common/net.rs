//! Network namespaces and veth pairs.
//!
//! Every daemon of a test (rvswitch, OVS) runs in a namespace of its own,
//! so the TAP devices of its internal ports never meet the host's or
//! another test's, and the interfaces a test names (`a0`, `b1`, ...) are
//! private. A veth pair joins two namespaces: one end in each. The daemons
//! open their end with DPDK's `net_af_packet`.

use std::process::{Command, Output};
use std::time::Duration;

use super::{run_ok, run_timeout};

/// A network namespace `rvit-<pid>-<what>`, deleted on drop (with every
/// device still in it). Drop the processes running in it first.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(what: &str) -> Netns {
        let name = super::name(what);
        // A namespace left by an earlier process with our pid would be stale.
        let _ = run_timeout(
            Command::new("ip").args(["netns", "del", &name]),
            Duration::from_secs(30),
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS <args>`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// Run a program inside the namespace (`ip netns exec NS ...`).
    pub fn exec(&self, args: &[&str]) -> Output {
        run_timeout(
            Command::new("ip")
                .args(["netns", "exec", &self.name])
                .args(args),
            Duration::from_secs(60),
        )
    }

    /// A command that runs `program` inside the namespace (for spawning).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Whether `dev` exists in the namespace.
    pub fn has_link(&self, dev: &str) -> bool {
        run_timeout(
            Command::new("ip").args(["-n", &self.name, "link", "show", "dev", dev]),
            Duration::from_secs(30),
        )
        .status
        .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair with end `a` in namespace `ns_a` and end `b` in `ns_b`,
/// both up, IPv6 off (no router solicitations or MLD reports on the wire).
/// Deleted on drop (deleting one end deletes both).
#[derive(Debug)]
pub struct VethPair {
    ns_a: String,
    pub a: String,
    pub b: String,
}

impl VethPair {
    pub fn new(ns_a: &Netns, a: &str, ns_b: &Netns, b: &str) -> VethPair {
        ns_a.ip(&[
            "link", "add", a, "type", "veth", "peer", "name", b, "netns", &ns_b.name,
        ]);
        let pair = VethPair {
            ns_a: ns_a.name.clone(),
            a: a.to_string(),
            b: b.to_string(),
        };
        for (ns, dev) in [(ns_a, a), (ns_b, b)] {
            let _ = ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
            ]);
            ns.ip(&["link", "set", dev, "up"]);
        }
        pair
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["-n", &self.ns_a, "link", "del", &self.a])
            .output();
    }
}
