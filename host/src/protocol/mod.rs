//! The MCP protocol engine: JSON-RPC framing, era classification, method
//! dispatch and error mapping, in both protocol eras.
//!
//! A message is classified once ([`Message`]: era, method, typed params),
//! dispatched by [`Server`] to the one handler of its method, and answered
//! as its [`Plan`] says; transports render the plan and know no methods.
//! Knows no transport and no wasmtime: it calls plugins through
//! `plugin::PluginHost` and resolves state scopes through `session`. Must
//! not import `transport`.

mod connection;
mod dispatch;
pub mod era;
pub mod error;
mod events;
mod handlers;
pub mod headers;
mod input;
pub mod jsonrpc;
mod lists;
pub mod metrics;
pub mod params;
mod plan;
#[cfg(test)]
mod randomness_tests;
mod request;
pub(crate) mod seal;
mod server;
mod spans;
pub mod streams;
mod subscriptions;
mod tools;

pub use connection::{Connection, MAX_IN_FLIGHT, Outbound};
pub use error::RpcError;
pub use plan::Plan;
pub use request::{Message, Method, Request};
pub use server::{Reply, Server, ServerOptions};
pub use subscriptions::{
    LegacyFeed, keepalive_ping, lagged_notice, next_legacy_feed, next_legacy_notices,
};
