//! berth: an MCP host that serves tools from sandboxed WebAssembly plugins.
//!
//! The front door is [`Host`], built by [`HostBuilder`] from a
//! [`config::Config`], optionally with a [`kv::KvStore`] and an
//! [`auth::Authenticate`] of the embedder's own; see [`Host`] for an
//! example of mounting berth in an axum application.
//!
//! Layers, top to bottom: `transport` → `protocol` → {`session`, `auth`,
//! `plugin`} → `kv`, with `level`, `logging` and `telemetry` (the log and
//! the spans) leaves shared by all. See DESIGN.md.
//! `host` assembles them. `project` (`berth new`, `berth build`) is for
//! plugin authors and sits beside them: it may use `plugin`, and nothing
//! that serves uses it.

pub mod auth;
pub mod config;
mod host;
pub mod kv;
pub(crate) mod level;
pub mod logging;
pub(crate) mod plugin;
pub mod project;
pub(crate) mod protocol;
pub(crate) mod session;
pub mod telemetry;
pub(crate) mod transport;

pub use host::{Host, HostBuilder, HostError, LoadedPlugin};
pub use plugin::{LoadError, RuntimeError};
pub use rmcp::model::CallToolResult;

/// What the `berth` binary, the benchmarks and the tests reach below the
/// [`Host`]: the protocol server and its connections, sessions, and the
/// plugin inspection `berth inspect` prints. Not a stable API: it changes
/// with berth's internals.
#[doc(hidden)]
pub mod internals {
    pub use crate::plugin::{DirGrant, HostPattern, Plugin, PluginHost, SandboxPolicy};
    pub use crate::protocol::{Connection, Outbound, Server};
    pub use crate::session::{
        CloseReason, SessionId, SessionLimits, SessionManager, SessionValue, TransportKind,
    };
}
