//! Sessions in both protocol eras.
//!
//! Owns session ids, the state of a legacy session (one `initialize`), and
//! the modern era's state handles ([`HandleStore`]). Ending a session or a
//! handle frees its kv scope. Must not import `protocol`, `plugin`,
//! `transport` (siblings and layers above).

mod handles;
mod id;

pub use handles::{HandleError, HandleInfo, HandleLimits, HandleStore};
pub use id::{SessionId, random_token};

use crate::level::LogLevel;
use serde_json::Value;

/// Lifecycle of a legacy session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// `initialize` answered, `notifications/initialized` not yet received.
    Initializing,
    /// Fully initialized.
    Ready,
    /// Ended by the client or the transport.
    Closed,
}

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
    /// Where in its lifecycle the session is.
    pub state: SessionState,
}

impl LegacySession {
    /// A session that has just answered `initialize`.
    pub fn new(
        protocol_version: &'static str,
        client_capabilities: Value,
        client_info: Value,
    ) -> Self {
        Self {
            id: SessionId::generate(),
            protocol_version,
            client_capabilities,
            client_info,
            log_level: LogLevel::Info,
            state: SessionState::Initializing,
        }
    }
}
