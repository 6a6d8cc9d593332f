//! rvswitch control: the configuration database, the ovs-vsctl command
//! language, persistence, the control-socket protocol and the `vsctl`
//! client (see docs/architecture.md).

pub mod appctl;
pub mod cmd;
mod cond;
pub mod db;
pub mod env;
pub mod exec;
pub mod getopt;
pub mod invoke;
pub mod metrics;
pub mod options;
pub mod output;
mod ovs_keys;
pub mod qos;
pub mod runtime;
pub mod schema;
pub mod uuid;
pub mod validate;
pub mod value;
pub mod vhost_sock;
pub mod wait;

pub use env::{Env, NoRuntime, Runtime, SystemEnv};
pub use exec::{execute, CtlError, Outcome};
pub use runtime::{RuntimeCommand, RuntimeHandler, RuntimeOutput};
pub mod client;
pub mod proto;
pub mod server;
pub mod store;
