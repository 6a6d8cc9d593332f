//! The control thread: it answers vsctl requests and runs the timers, on
//! top of modules that each hold one concern.
//!
//! ```text
//!           request loop (this module: Control)
//!            |  answers through ctl::proto::handle (Control is the Daemon)
//!            v
//!   decide:  bridges    bonds     snapshot    live -> commands
//!            (numbers,  (machines, (datapath   (read-only view,
//!             tables)    Effects)   snapshot)   runtime commands)
//!            |            |           |
//!            v            v           v
//!   do:      devices (EAL, pools, PMD threads, queues, open/close,
//!                     control frames, carrier polling, slow ring)
//! ```
//!
//! Deciding modules never touch a device: they return what should happen
//! (bonds return [`bonds::Effects`]) and this module has `devices` carry
//! it out. It wakes at least every [`TICK_MS`] to run timers: LACP and bond
//! deadlines, link polling, rebalancing, and MAC aging once a second; on
//! each tick it also hands waiting metrics scrapes a snapshot
//! (`crate::metrics`).

mod bond_rt;
mod bond_state;
mod bonds;
mod bridges;
mod commands;
mod devices;
mod eal;
mod ethdev_columns;
mod live;
mod metrics_input;
mod snapshot;

use std::path::PathBuf;
use std::time::Duration;

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender};
use ctl::db::Db;
use ctl::env::{GlobalRuntime, InterfaceRuntime, PortRuntime};
use ctl::proto::{CommitError, Request, Response};
use ctl::runtime::{RuntimeCommand, RuntimeHandler, RuntimeOutput};
use datapath::time::Millis;

use crate::clock::Clock;
use crate::metrics::Endpoint;
use bond_state::BondStateFile;
use bonds::{Bonds, Effects, MemberLink};
use bridges::Bridges;
use devices::Devices;
use live::{Live, PmdBaselines};
use snapshot::PortCounters;

/// Timer resolution of the control thread.
pub const TICK_MS: u64 = 10;
/// How often links are polled (and at once after a PMD's link event).
const LINK_POLL_MS: u64 = 20;
/// How often MAC tables are aged.
const AGE_MS: u64 = 1000;

/// A request from a socket thread and where to send the reply.
pub type Job = (Request, Sender<Response>);

/// The control thread's state.
pub struct Control {
    db: Db,
    /// The host, as vsctl's validation sees it.
    env: ctl::SystemEnv,
    conf_path: PathBuf,
    clock: Clock,
    devices: Devices,
    bridges: Bridges,
    bonds: Bonds,
    /// The bonds' state for the next daemon (`bond_state`).
    bond_state: BondStateFile,
    port_counters: PortCounters,
    baselines: PmdBaselines,
    generation: u64,
    /// A new snapshot must be published.
    dirty: bool,
    next_link_poll: Millis,
    next_age: Millis,
    /// The metrics endpoint (`other_config:metrics-listen`).
    metrics: Endpoint,
}

impl Control {
    /// A control thread for `db`, persisted at `conf_path`; the bonds
    /// resume from the state saved next to it.
    pub fn new(db: Db, conf_path: PathBuf, run_dir: PathBuf) -> Control {
        let state_dir = conf_path
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let (bond_state, saved) = BondStateFile::open(&state_dir);
        let mut bonds = Bonds::default();
        bonds.resume_from(saved);
        Control {
            db,
            conf_path,
            clock: Clock::new(),
            env: ctl::SystemEnv::with_run_dir(run_dir.clone()),
            devices: Devices::new(run_dir),
            bridges: Bridges::default(),
            bonds,
            bond_state,
            port_counters: PortCounters::new(),
            baselines: PmdBaselines::new(),
            generation: 0,
            dirty: true,
            next_link_poll: Millis::ZERO,
            next_age: Millis::ZERO,
            metrics: Endpoint::default(),
        }
    }

    fn live(&self) -> Live<'_> {
        Live {
            db: &self.db,
            devices: &self.devices,
            bridges: &self.bridges,
            bonds: &self.bonds,
            baselines: &self.baselines,
            wall_epoch_ms: self.clock.wall_epoch_ms(),
        }
    }

    /// Serve requests and run timers until `stop` says so.
    pub fn run(&mut self, jobs: Receiver<Job>, stop: &dyn Fn() -> bool) {
        self.apply();
        while !stop() {
            match jobs.recv_timeout(Duration::from_millis(TICK_MS)) {
                Ok((req, reply)) => {
                    let resp = self.serve(&req);
                    let _ = reply.send(resp);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.tick();
        }
        self.devices.shutdown();
        crate::info!("vswitchd stopped");
    }

    /// Answer one vsctl request.
    fn serve(&mut self, req: &Request) -> Response {
        let env = self.env.clone();
        let resp = ctl::proto::handle(req, &env, self);
        if !resp.ok {
            crate::info!("rejected request {:?}: {}", req.argv, resp.error);
        }
        resp
    }

    /// Whether interface `name` is administratively up (or unknown).
    fn admin_up(&self, name: &str) -> bool {
        self.db.interface(name).is_none_or(|(_, _, i)| i.admin_up())
    }

    /// Everything periodic.
    fn tick(&mut self) {
        let now = self.clock.now();
        let mut fx = Effects::default();
        let bonds = &mut self.bonds;
        self.devices
            .drain_slow(|iface, frame| fx.merge(bonds.rx_slow(iface, frame, now)));
        for name in self.devices.take_removals() {
            self.dirty = true;
            fx.merge(self.bonds.set_link(&name, false, self.admin_up(&name), now));
        }
        if now >= self.next_link_poll || dpdk::events::take_link_changed() {
            self.next_link_poll = now + LINK_POLL_MS;
            for (name, up) in self.devices.poll_links() {
                crate::info!("{name}: link {}", if up { "up" } else { "down" });
                self.dirty = true;
                fx.merge(self.bonds.set_link(&name, up, self.admin_up(&name), now));
            }
        }
        fx.merge(self.bonds.tick(now));
        self.carry_out(fx);
        self.devices.sample_rxq_cycles(now);
        if now >= self.next_age {
            self.next_age = now + AGE_MS;
            self.bridges.age(now);
            if self.devices.reattach_returned(&self.db) {
                self.dirty = true;
            }
        }
        if self.dirty {
            self.publish();
        }
        self.serve_metrics();
    }

    /// Answer the scrapes waiting: each gets a snapshot taken now, and the
    /// endpoint's thread does the rest.
    fn serve_metrics(&mut self) {
        for _ in 0..crate::metrics::MAX_PER_TICK {
            let Some(conn) = self.metrics.accept() else {
                break;
            };
            let input = self.live().metrics();
            self.metrics.answer(conn, input);
        }
    }

    /// Make the running state match the configuration.
    fn apply(&mut self) {
        crate::debug!("applying configuration ({} bridges)", self.db.bridges.len());
        self.devices.ensure_dpdk(&self.db, &mut self.clock);
        self.devices.ensure_pmds(&self.db, self.clock);
        let now = self.clock.now();
        self.bridges.reconcile(&self.db);
        if self.devices.reconcile(&self.db) {
            // PMDs must stop using closed devices before anything else.
            self.publish();
        }
        let devices = &self.devices;
        let link = |iface: &str| MemberLink {
            mac: devices.mac(iface),
            carrier: devices.link_up(iface),
        };
        let fx = self
            .bonds
            .reconcile(&self.db, &self.bridges, &link, self.devices.slots(), now);
        self.carry_out(fx);
        self.publish();
        self.metrics.reconcile(&self.db);
    }

    /// Have the devices do what the machines decided, and keep what the
    /// next daemon resumes from up to date.
    fn carry_out(&mut self, fx: Effects) {
        for (iface, frame) in &fx.frames {
            self.devices.send_frame(iface, frame);
        }
        for bond in &fx.learning {
            self.send_learning_packets(bond);
        }
        self.dirty |= fx.changed;
        self.bond_state.update(self.bonds.saved());
    }

    /// After an active-backup or balance-slb bond moved traffic to other
    /// members, tell the physical switch where every station behind the
    /// other ports now is ([`datapath::bond::learning_packets`]: one RARP
    /// per MAC entry, on the member that now carries that station's
    /// traffic, as OVS does).
    fn send_learning_packets(&mut self, bond: &str) {
        let Some(bridge) = self.db.port(bond).map(|(b, _)| b.name.clone()) else {
            return;
        };
        let (Some((bond_no, vlan)), Some(table), Some(b)) = (
            self.bridges.port(&bridge, bond),
            self.bridges.mac_table(&bridge),
            self.bonds.get(bond),
        ) else {
            return;
        };
        let entries = table.entries(self.clock.now());
        let frames: Vec<(String, Vec<u8>)> =
            datapath::bond::learning_packets(&b.bond().view(), bond_no, vlan, entries)
                .into_iter()
                .filter_map(|(m, f)| Some((b.member_name(m)?.to_string(), f)))
                .collect();
        for (iface, f) in &frames {
            self.devices.send_frame(iface, f);
        }
        if !frames.is_empty() {
            crate::info!("bond {bond}: sent {} learning packets", frames.len());
        }
    }

    /// Build and publish a snapshot of the current state.
    fn publish(&mut self) {
        self.dirty = false;
        self.generation += 1;
        let snap = snapshot::build(
            self.generation,
            &self.db,
            &self.bridges,
            &self.bonds,
            &self.devices,
            &mut self.port_counters,
        );
        self.devices.publish(snap);
    }
}

impl ctl::Runtime for Control {
    fn interface(&self, name: &str) -> InterfaceRuntime {
        self.live().interface(name)
    }
    fn port(&self, name: &str) -> PortRuntime {
        self.live().port(name)
    }
    fn global(&self) -> GlobalRuntime {
        self.live().global()
    }
}

impl RuntimeHandler for Control {
    fn run(&mut self, cmd: &RuntimeCommand, _json: bool) -> Result<RuntimeOutput, String> {
        if let RuntimeCommand::BondMember {
            bond,
            member,
            action,
        } = cmd
        {
            // Changes the bond: carried out here, where the effects are.
            let now = self.clock.now();
            let (word, fx) = self.bonds.member_command(bond, member, *action, now)?;
            self.carry_out(fx);
            if self.dirty {
                self.publish();
            }
            return Ok(ctl::appctl::bond_reply(word));
        }
        if let RuntimeCommand::PmdRxqRebalance = cmd {
            // Moves queues between PMDs: carried out here, on the devices.
            return Ok(ctl::appctl::pmd_rxq_rebalance(
                self.devices.rebalance_rxqs(),
            ));
        }
        if let RuntimeCommand::PmdStatsClear { pmd } = cmd {
            let base = commands::pmd_stats_clear(&self.live(), *pmd);
            self.baselines.extend(base);
        }
        commands::run(&self.live(), cmd, self.clock.now())
    }
}

impl ctl::proto::Daemon for Control {
    fn db(&self) -> &Db {
        &self.db
    }

    fn commit(&mut self, new: Db) -> Result<(), CommitError> {
        let durable = match ctl::store::save(&self.conf_path, &new) {
            Ok(()) => Ok(()),
            // Renamed into place: the new configuration is the one in
            // force, on disk and here; only its durability is in doubt.
            Err(e) if e.changed() => {
                crate::error!("{e}");
                Err(CommitError::NotDurable(e.reason()))
            }
            Err(e) => {
                crate::error!("{e}");
                return Err(CommitError::NotSaved(e.reason()));
            }
        };
        self.db = new;
        self.apply();
        durable
    }
}
