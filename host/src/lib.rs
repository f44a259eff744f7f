//! berth: an MCP host that serves tools from sandboxed WebAssembly plugins.
//!
//! Layers, top to bottom: `transport` → `protocol` → {`session`, `auth`,
//! `plugin`} → `kv`, with `level`, `logging` and `telemetry` (the log and
//! the spans) leaves shared by all. See DESIGN.md.
//! `project` (`berth new`, `berth build`) is for plugin authors and sits
//! beside them: it may use `plugin`, and nothing that serves uses it.

pub mod app;
pub mod auth;
pub mod config;
pub mod kv;
pub mod level;
pub mod logging;
pub mod plugin;
pub mod project;
pub mod protocol;
pub mod session;
pub mod telemetry;
pub mod transport;
