//! Sessions in both protocol eras.
//!
//! Owns session ids, what a legacy session negotiated (one `initialize`),
//! the [`SessionManager`] of all legacy sessions, and the modern era's state
//! handles ([`HandleStore`]). Ending a session or a
//! handle frees its kv scope. Must not import `protocol`, `plugin`,
//! `transport` (siblings and layers above).

mod handles;
mod id;
mod lifecycle;
mod manager;
mod owner;

pub use handles::{HandleError, HandleLimits, HandleStore};
#[cfg(test)]
pub(crate) use id::failing as failing_randomness;
pub use id::{RandomnessError, SessionId, fill_random};
pub use lifecycle::{CloseReason, TransportKind};
pub use manager::{SessionLimits, SessionManager, SessionValue};

use crate::level::LogLevel;
use serde_json::Value;

/// What a legacy client negotiated with `initialize`.
#[derive(Debug, Clone)]
pub struct LegacySession {
    /// The session's id (also its kv scope).
    pub id: SessionId,
    /// Negotiated protocol version.
    pub protocol_version: &'static str,
    /// Capabilities the client declared.
    pub client_capabilities: Value,
    /// The client's self-reported name and version.
    pub client_info: Value,
    /// Minimum level of log messages to send (`logging/setLevel`).
    pub log_level: LogLevel,
    /// Whether the client chose the level (`logging/setLevel`), i.e. asked
    /// for log messages rather than getting the default.
    pub log_level_set: bool,
    /// Resource URIs the client subscribed to (`resources/subscribe`).
    pub subscriptions: std::collections::BTreeSet<String>,
}

impl LegacySession {
    /// A session that has just answered `initialize`.
    pub fn new(
        id: SessionId,
        protocol_version: &'static str,
        client_capabilities: Value,
        client_info: Value,
    ) -> Self {
        Self {
            id,
            protocol_version,
            client_capabilities,
            client_info,
            log_level: LogLevel::Info,
            log_level_set: false,
            subscriptions: std::collections::BTreeSet::new(),
        }
    }
}
