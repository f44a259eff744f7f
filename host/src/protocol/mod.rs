//! The MCP protocol engine: JSON-RPC framing, era classification, method
//! dispatch and error mapping, in both protocol eras.
//!
//! Owns [`Server`] (the dispatcher) and [`Connection`] (per-client state).
//! Knows no transport and no wasmtime: it calls plugins through
//! `plugin::PluginHost` and resolves state scopes through `session`. Must
//! not import `transport`.

mod connection;
pub mod era;
pub mod error;
mod events;
pub mod headers;
mod input;
pub mod jsonrpc;
mod lists;
pub mod metrics;
mod prompts;
mod resources;
mod seal;
mod server;
mod spans;
pub mod streams;
mod subscriptions;
mod tools;

pub use connection::{Connection, InFlight, MAX_IN_FLIGHT, Offered, Outbound};
pub use error::RpcError;
pub use seal::SealKey;
pub use server::{Reply, Server, ServerOptions};
pub use subscriptions::{LegacyFeed, lagged_notice, next_legacy_feed, next_legacy_notices};
pub use tools::{SESSION_ARG, SESSION_CLOSE, SESSION_OPEN};
