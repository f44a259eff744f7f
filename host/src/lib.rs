//! berth: an MCP host that serves tools from sandboxed WebAssembly plugins.
//!
//! Layers, top to bottom: `transport` → `protocol` → {`session`, `auth`,
//! `plugin`} → `kv`, with `level` a leaf shared by all. See DESIGN.md.

pub mod app;
pub mod auth;
pub mod config;
pub mod kv;
pub mod level;
pub mod logging;
pub mod plugin;
pub mod protocol;
pub mod session;
pub mod transport;
