//! The control-socket protocol: one request per connection.
//!
//! The client writes one JSON object and a newline:
//! `{"version": 1, "argv": ["add-br", "br0"], "format": "text"}`;
//! the server answers with one JSON object and a newline, then closes:
//! `{"version": 1, "ok": true, "exit_code": 0, "output": "...", "error": "", "json": null}`.
//!
//! [`handle`] is the whole daemon side of a request: execute the chain,
//! commit (save and apply) a changed database, run the runtime commands,
//! build the reply. The daemon's state is behind the [`Daemon`] trait.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::Db;
use crate::env::{Env, Runtime};
use crate::exec::{execute, json_text, oneline, Outcome};
use crate::options::{parse_globals, Global};
use crate::runtime::RuntimeHandler;

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u64 = 1;
/// Largest request a server reads.
pub const MAX_REQUEST: usize = 1 << 20;
/// Largest reply a client reads.
pub const MAX_REPLY: usize = 64 << 20;
macro_rules! default_run_dir {
    () => {
        "/run/rvswitch"
    };
}
/// Default run directory: the control socket's, and the base of
/// `other_config:vhost-sock-dir`.
pub const DEFAULT_RUN_DIR: &str = default_run_dir!();
/// Default control socket.
pub const DEFAULT_SOCKET: &str = concat!(default_run_dir!(), "/vswitchd.sock");
/// Environment variable overriding the socket path.
pub const SOCKET_ENV: &str = "RVSWITCH_SOCKET";

/// The socket path: `flag` (`--socket=PATH` of vsctl or the daemon), else
/// `$RVSWITCH_SOCKET`, else `/run/rvswitch/vswitchd.sock`.
pub fn resolve_socket(flag: Option<&Path>) -> PathBuf {
    resolve_socket_from(flag, std::env::var_os(SOCKET_ENV).as_deref().map(Path::new))
}

/// [`resolve_socket`] with the environment value given explicitly.
pub fn resolve_socket_from(flag: Option<&Path>, env: Option<&Path>) -> PathBuf {
    flag.filter(|p| !p.as_os_str().is_empty())
        .or(env.filter(|p| !p.as_os_str().is_empty()))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// Output format asked for by the client.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// ovs-vsctl's text output.
    #[default]
    Text,
    /// JSON output (as `--format=json`).
    Json,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version ([`PROTOCOL_VERSION`]).
    pub version: u64,
    /// The command line after `vsctl`.
    pub argv: Vec<String>,
    /// Output format.
    #[serde(default)]
    pub format: Format,
}

impl Request {
    /// A version-1 request.
    pub fn new(argv: Vec<String>, format: Format) -> Request {
        Request {
            version: PROTOCOL_VERSION,
            argv,
            format,
        }
    }

    /// Decode a request line. The error is the reply to send.
    pub fn parse(bytes: &[u8]) -> Result<Request, Response> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| Response::error(format!("malformed request: {e}")))?;
        match v.get("version").and_then(Value::as_u64) {
            Some(PROTOCOL_VERSION) => {}
            Some(other) => {
                return Err(Response::error(format!(
                    "unsupported protocol version {other} (this vswitchd speaks version {PROTOCOL_VERSION}; use the vsctl that came with it)"
                )))
            }
            None => return Err(Response::error("malformed request: no \"version\" number")),
        }
        serde_json::from_value(v).map_err(|e| Response::error(format!("malformed request: {e}")))
    }

    /// The argv to execute: a JSON request without its own `--format`
    /// gets `--format=json`.
    pub fn effective_argv(&self) -> Vec<String> {
        let mut argv = self.argv.clone();
        if self.format == Format::Json {
            // A command line that does not parse keeps its own error.
            let global_format = parse_globals(&argv)
                .map_or(true, |g| g.found().iter().any(|f| f.kind == Global::Format));
            if !global_format {
                argv.insert(0, "--format=json".to_string());
            }
        }
        argv
    }
}

/// A reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Protocol version.
    pub version: u64,
    /// Whether the chain succeeded.
    pub ok: bool,
    /// Exit status for vsctl.
    pub exit_code: i32,
    /// Standard output.
    #[serde(default)]
    pub output: String,
    /// The error, without the `vsctl: ` prefix (empty when `ok`).
    #[serde(default)]
    pub error: String,
    /// Structured output for JSON requests.
    #[serde(default)]
    pub json: Option<Value>,
    /// A `wait-until` of the chain does not hold yet; nothing was done.
    /// The client asks again (`ok` is false, so a client that does not
    /// know this field fails instead of reporting success).
    #[serde(default, skip_serializing_if = "is_false")]
    pub waiting: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Response {
    /// A failure.
    pub fn error(msg: impl Into<String>) -> Response {
        Response {
            version: PROTOCOL_VERSION,
            ok: false,
            exit_code: 1,
            output: String::new(),
            error: msg.into(),
            json: None,
            waiting: false,
        }
    }

    /// The reply to a chain whose `wait-until` does not hold yet.
    pub fn waiting() -> Response {
        Response {
            waiting: true,
            ..Response::error(
                "wait-until: the record does not exist or a condition does not hold yet; ask again",
            )
        }
    }

    /// Finish a successful chain: run its runtime commands through
    /// `handler` and put their output after the chain's own.
    pub fn from_outcome(outcome: Outcome, handler: &mut dyn RuntimeHandler) -> Response {
        let mut resp = Response {
            version: PROTOCOL_VERSION,
            ok: true,
            exit_code: outcome.exit_code,
            output: outcome.output,
            error: String::new(),
            json: outcome.json,
            waiting: false,
        };
        for (n, cmd) in outcome.runtime.iter().enumerate() {
            match handler.run(cmd, outcome.json_format) {
                Ok(out) => {
                    if outcome.json_format {
                        let v = out.json.unwrap_or(Value::Null);
                        if !v.is_null() {
                            resp.output.push_str(&json_text(&v, outcome.pretty));
                        }
                        let slot = outcome.runtime_positions.get(n).copied().unwrap_or(0);
                        match &mut resp.json {
                            Some(Value::Array(a)) if outcome.commands > 1 => {
                                if let Some(s) = a.get_mut(slot) {
                                    *s = v;
                                }
                            }
                            j => *j = Some(v),
                        }
                    } else if outcome.oneline {
                        resp.output.push_str(&oneline(&out.text));
                    } else {
                        resp.output.push_str(&out.text);
                    }
                }
                Err(e) => {
                    resp.ok = false;
                    resp.exit_code = 1;
                    resp.error = e;
                    return resp;
                }
            }
        }
        resp
    }

    /// Encode as one line.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"version":1,"ok":false,"exit_code":1,"output":"","error":"internal error encoding the reply","json":null}"#.to_vec()
        });
        v.push(b'\n');
        v
    }
}

/// What the daemon offers the request handler: its configuration, its live
/// state for the read-only columns ([`Runtime`]), the runtime commands
/// ([`RuntimeHandler`]), and a way to commit a new configuration.
pub trait Daemon: Runtime + RuntimeHandler {
    /// The configuration in force.
    fn db(&self) -> &Db;
    /// Persist `new` and make the running state match it.
    fn commit(&mut self, new: Db) -> Result<(), CommitError>;
}

/// Why a commit did not fully succeed, worded for `vsctl: <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitError {
    /// The configuration could not be saved; nothing changed.
    NotSaved(String),
    /// The configuration was saved and applied, but syncing the state
    /// directory failed: after a power loss the old one may come back.
    NotDurable(String),
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::NotSaved(e) => {
                write!(f, "configuration not changed: could not save it: {e}")
            }
            CommitError::NotDurable(e) => write!(
                f,
                "configuration changed and applied, but it may not survive a power failure: {e}"
            ),
        }
    }
}

/// The daemon's side of one request, the only one: execute the chain
/// against the daemon's configuration, commit a changed configuration
/// through [`Daemon::commit`], run the runtime commands, build the reply.
pub fn handle<D: Daemon>(req: &Request, env: &dyn Env, daemon: &mut D) -> Response {
    let mut outcome = match execute(daemon.db(), &req.effective_argv(), env, &*daemon) {
        Ok(o) if o.waiting => return Response::waiting(),
        Ok(o) => o,
        Err(e) => return Response::error(e.message),
    };
    if let Some(new) = outcome.new_db.take() {
        if let Err(e) = daemon.commit(new) {
            return Response::error(e.to_string());
        }
    }
    Response::from_outcome(outcome, daemon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_versions() {
        let r = Request::parse(br#"{"version":1,"argv":["show"]}"#).unwrap();
        assert_eq!(r.format, Format::Text);
        let e = Request::parse(br#"{"version":2,"argv":["show"]}"#).unwrap_err();
        assert!(
            e.error.contains("unsupported protocol version 2"),
            "{}",
            e.error
        );
        assert!(Request::parse(b"{")
            .unwrap_err()
            .error
            .contains("malformed"));
        assert!(Request::parse(br#"{"argv":[]}"#)
            .unwrap_err()
            .error
            .contains("version"));
        assert!(Request::parse(br#"{"version":1,"argv":"x"}"#).is_err());
    }

    #[test]
    fn json_requests_get_format_json() {
        let r = Request::new(vec!["list-br".into()], Format::Json);
        assert_eq!(r.effective_argv(), vec!["--format=json", "list-br"]);
        let r = Request::new(
            vec!["--format=table".into(), "list".into(), "port".into()],
            Format::Json,
        );
        assert_eq!(r.effective_argv()[0], "--format=table");
    }

    #[test]
    fn socket_resolution_order() {
        let f = Path::new("/f.sock");
        let e = Path::new("/e.sock");
        assert_eq!(
            resolve_socket_from(Some(f), Some(e)),
            PathBuf::from("/f.sock")
        );
        assert_eq!(resolve_socket_from(None, Some(e)), PathBuf::from("/e.sock"));
        assert_eq!(
            resolve_socket_from(None, None),
            PathBuf::from(DEFAULT_SOCKET)
        );
    }
}
