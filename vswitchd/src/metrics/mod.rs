//! The metrics endpoint: a loopback HTTP listener (`Open_vSwitch`
//! `other_config:metrics-listen=IP:PORT`, off by default) serving
//! `GET /metrics` in the Prometheus or OpenMetrics text format
//! (`ctl::metrics` renders it).
//!
//! Who does what, so that scraping never blocks the control thread and
//! never touches a PMD thread:
//! - The control thread owns the listening socket ([`Endpoint`]): it binds,
//!   moves and closes it when the configuration changes
//!   ([`Endpoint::reconcile`]), and on every tick accepts the connections
//!   waiting (non-blocking, only while the worker has room:
//!   [`Endpoint::accept`]). For each one it takes a snapshot of the values
//!   (`ctl::metrics::MetricsInput`: plain numbers it reads from the
//!   counter blocks the PMDs publish, the bond machines and the MAC
//!   tables) and hands both to the worker ([`Endpoint::answer`]).
//! - One worker thread (`http`) reads the request (bounded size and time),
//!   renders the snapshot and writes the answer; a slow client delays
//!   only the next scrape, which waits in the kernel's backlog.

mod http;

use std::net::{SocketAddr, TcpListener, TcpStream};

use crossbeam::channel::Sender;
use ctl::db::Db;
use ctl::metrics::MetricsInput;

/// Connections accepted but not yet answered, at most.
const QUEUE: usize = 2;
/// Connections the control thread accepts per tick, at most (a flood of
/// connects costs it at most this many snapshots per tick).
pub const MAX_PER_TICK: usize = QUEUE;

/// A connection and the snapshot to answer it with.
type Conn = (TcpStream, MetricsInput);

/// The listener, when on, and the worker that answers.
#[derive(Debug, Default)]
pub struct Endpoint {
    /// The configured address (also when binding it failed).
    want: Option<SocketAddr>,
    listener: Option<TcpListener>,
    worker: Option<Sender<Conn>>,
}

impl Endpoint {
    /// Start, move or stop the listener to match `db`. A failure to bind is
    /// logged and retried at the next configuration change.
    pub fn reconcile(&mut self, db: &Db) {
        // The configuration was validated: a bad value cannot be here, and
        // would mean "off".
        let want = ctl::metrics::listen_addr(&db.other_config).unwrap_or(None);
        if want == self.want && (want.is_none() || self.listener.is_some()) {
            return;
        }
        if self.listener.take().is_some() {
            crate::info!("metrics: stopped listening on {}", fmt(self.want));
        }
        self.want = want;
        let Some(addr) = want else {
            self.worker = None;
            return;
        };
        match bind(addr) {
            Ok(l) => {
                crate::info!("metrics: serving http://{addr}/metrics");
                self.listener = Some(l);
                if self.worker.is_none() {
                    self.worker = http::spawn(QUEUE);
                }
            }
            Err(e) => crate::error!("metrics: cannot listen on {addr}: {e}"),
        }
    }

    /// A connection waiting to be answered, if the worker has room for it.
    pub fn accept(&mut self) -> Option<TcpStream> {
        let (l, w) = (self.listener.as_ref()?, self.worker.as_ref()?);
        if w.is_full() {
            return None;
        }
        match l.accept() {
            Ok((s, _)) => Some(s),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(e) => {
                crate::warn!("metrics: accept: {e}");
                None
            }
        }
    }

    /// Have the worker answer `conn` with `input`.
    pub fn answer(&mut self, conn: TcpStream, input: MetricsInput) {
        if let Some(w) = &self.worker {
            if w.try_send((conn, input)).is_err() {
                // The worker died: start another at the next change.
                crate::error!("metrics: the HTTP worker is gone");
                self.worker = None;
                self.listener = None;
                self.want = None;
            }
        }
    }
}

fn fmt(a: Option<SocketAddr>) -> String {
    a.map_or_else(|| "-".into(), |a| a.to_string())
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port that was free a moment ago.
    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn db_listening(addr: Option<String>) -> Db {
        let mut db = Db::new(ctl::env::random_uuid());
        if let Some(a) = addr {
            db.other_config
                .insert(ctl::metrics::LISTEN_KEY.to_string(), a);
        }
        db
    }

    #[test]
    fn reconcile_starts_moves_and_stops_the_listener() {
        let mut ep = Endpoint::default();
        ep.reconcile(&db_listening(None));
        assert!(ep.listener.is_none() && ep.worker.is_none());
        let (p1, p2) = (free_port(), free_port());
        let a1 = format!("127.0.0.1:{p1}");
        ep.reconcile(&db_listening(Some(a1.clone())));
        assert!(TcpStream::connect(&a1).is_ok());
        ep.reconcile(&db_listening(Some(format!("127.0.0.1:{p2}"))));
        assert!(TcpStream::connect(&a1).is_err(), "old address still open");
        assert!(TcpStream::connect(("127.0.0.1", p2)).is_ok());
        ep.reconcile(&db_listening(None));
        assert!(TcpStream::connect(("127.0.0.1", p2)).is_err());
        assert!(ep.worker.is_none());
    }
}
