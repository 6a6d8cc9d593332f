//! An in-process daemon behind a real control socket: `proto::handle`
//! over a configuration saved in a state directory, with a runtime that
//! answers `bond/show` and refuses everything else.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ctl::db::Db;
use ctl::env::Env;
use ctl::proto::{self, Request, Response};
use ctl::server::{self, PeerCred, ServerConfig};
use ctl::{store, RuntimeCommand, RuntimeHandler, RuntimeOutput};

/// Serve `handler` on a socket at `path`.
pub fn start<H>(path: &Path, cfg: ServerConfig, handler: H)
where
    H: Fn(Request, PeerCred) -> Response + Send + Sync + 'static,
{
    let listener = server::bind(path).unwrap();
    let h = Arc::new(handler);
    std::thread::spawn(move || server::serve(listener, h, cfg));
}

/// A host where every PCI device exists and none is the host's NIC.
pub struct TestEnv;

impl Env for TestEnv {
    fn is_host_nic(&self, _pci: &str) -> bool {
        false
    }
    fn pci_device_exists(&self, _pci: &str) -> bool {
        true
    }
}

/// Start a [`TestDaemon`] with its state in `dir`; returns its socket.
pub fn start_daemon(dir: &Path) -> PathBuf {
    let sock = dir.join("vswitchd.sock");
    let conf = store::config_path(dir);
    let daemon = Arc::new(Mutex::new(TestDaemon {
        db: Db::new(ctl::env::random_uuid()),
        conf,
    }));
    start(&sock, ServerConfig::default(), move |req, _| {
        proto::handle(&req, &TestEnv, &mut *daemon.lock().unwrap())
    });
    sock
}

/// A daemon with no live state that persists its configuration.
pub struct TestDaemon {
    db: Db,
    conf: PathBuf,
}

impl ctl::Runtime for TestDaemon {}

impl RuntimeHandler for TestDaemon {
    fn run(&mut self, cmd: &RuntimeCommand, _json: bool) -> Result<RuntimeOutput, String> {
        match cmd {
            RuntimeCommand::BondShow { bond } => Ok(RuntimeOutput {
                text: format!("---- {} ----\n", bond.as_deref().unwrap_or("*")),
                json: Some(serde_json::json!({ "bonds": [bond] })),
            }),
            _ => Err("not implemented in this test".into()),
        }
    }
}

impl proto::Daemon for TestDaemon {
    fn db(&self) -> &Db {
        &self.db
    }
    fn commit(&mut self, new: Db) -> Result<(), proto::CommitError> {
        store::save(&self.conf, &new).map_err(|e| proto::CommitError::NotSaved(e.to_string()))?;
        self.db = new;
        Ok(())
    }
}

/// Run `program` with `args` and `env` (never the caller's
/// `$RVSWITCH_SOCKET`): exit code (-1 when killed), stdout, stderr.
pub fn run_program(program: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .env_remove(proto::SOCKET_ENV)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
