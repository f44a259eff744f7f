//! The protocol engine's state: plugins, sessions, handles, state and
//! metrics behind one [`Server`], and its settings. Dispatch is in
//! `dispatch.rs`, each method's handler in `handlers/`.

use super::connection::Connection;
use super::error::RpcError;
use super::jsonrpc::{self, RequestId};
use super::metrics::{CallMetrics, SubscriberMetrics};
use super::seal::{self, SealKey};
use crate::kv::SharedKv;
use crate::plugin::PluginHost;
use crate::session::{CloseReason, HandleStore, SessionLimits, SessionManager};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a modern client has to come back with its answers.
pub const DEFAULT_INPUT_TTL: Duration = Duration::from_secs(600);

/// Settings of the protocol engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Name reported to clients.
    pub name: String,
    /// Version reported to clients.
    pub version: String,
    /// Items per page of list results.
    pub page_size: usize,
    /// How long clients may cache list results (modern `ttlMs`).
    pub list_ttl_ms: u64,
    /// The key that signs `requestState` (share it between nodes).
    pub input_key: SealKey,
    /// How long a modern client has to retry with its answers.
    pub input_ttl: Duration,
    /// How long a legacy client has to answer a question.
    pub input_timeout: Duration,
}

impl ServerOptions {
    /// The defaults, signing `requestState` with `input_key` (from
    /// `[protocol] state_key` or [`SealKey::random`]).
    pub fn new(input_key: SealKey) -> Self {
        Self {
            name: "berth".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            page_size: 100,
            list_ttl_ms: 60_000,
            input_key,
            input_ttl: DEFAULT_INPUT_TTL,
            input_timeout: Duration::from_secs(300),
        }
    }
}

/// The MCP server: plugins, state and handles behind one dispatcher.
pub struct Server {
    pub(super) plugins: Arc<PluginHost>,
    pub(super) metrics: CallMetrics,
    pub(super) subscribers: SubscriberMetrics,
    pub(super) sessions: SessionManager<Connection>,
    pub(super) handles: HandleStore,
    pub(super) kv: SharedKv,
    pub(super) options: ServerOptions,
    /// Cancelled by [`Server::stop_calls`]: the parent of every request's
    /// cancellation token.
    pub(super) stop: CancellationToken,
    /// `requestState`s already used.
    pub(super) spent: seal::Spent,
}

/// A response to send, with its error when it is one (the HTTP transport
/// maps some errors to statuses).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The JSON-RPC response.
    pub body: String,
    /// The error, for an error response.
    pub error: Option<RpcError>,
}

impl Reply {
    pub(super) fn result(body: String) -> Self {
        Self { body, error: None }
    }

    pub(super) fn error(id: &RequestId, e: &RpcError) -> Self {
        Self {
            body: jsonrpc::error(Some(id), e),
            error: Some(e.clone()),
        }
    }
}

impl Server {
    /// A server over loaded plugins.
    pub fn new(
        plugins: Arc<PluginHost>,
        kv: SharedKv,
        handles: HandleStore,
        sessions: SessionLimits,
        options: ServerOptions,
    ) -> Self {
        Self {
            plugins,
            metrics: CallMetrics::default(),
            subscribers: SubscriberMetrics::default(),
            sessions: SessionManager::new(sessions),
            handles,
            kv,
            options,
            stop: CancellationToken::new(),
            spent: seal::Spent::default(),
        }
    }

    /// Stops every request in flight, on every connection, and refuses new
    /// ones: each gets an error response saying the server is shutting
    /// down (unlike a client's cancellation, which gets none). Transports
    /// call this when their drain time is up.
    pub fn stop_calls(&self) {
        self.stop.cancel();
    }

    /// The plugin host.
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.plugins
    }

    /// The key-value store.
    pub fn kv(&self) -> &SharedKv {
        &self.kv
    }

    /// The modern-era handles.
    pub fn handles(&self) -> &HandleStore {
        &self.handles
    }

    /// Plugin call metrics.
    pub fn metrics(&self) -> &CallMetrics {
        &self.metrics
    }

    /// What subscribers that fell behind lost.
    pub fn subscriber_metrics(&self) -> &SubscriberMetrics {
        &self.subscribers
    }

    /// The legacy sessions of every transport.
    pub fn sessions(&self) -> &SessionManager<Connection> {
        &self.sessions
    }

    /// Ends a connection: closes its session (freeing its state) or, if it
    /// has none, cancels what it has in flight.
    pub async fn disconnect(&self, conn: &Arc<Connection>, reason: CloseReason) {
        match conn.session_id() {
            Some(id) if self.sessions.close(&id, reason).await => {}
            _ => conn.release().await,
        }
    }

    /// The server's name and version (`serverInfo`).
    pub(super) fn server_info(&self) -> Value {
        json!({"name": self.options.name, "version": self.options.version})
    }

    /// What berth serves, as `capabilities`.
    pub(super) fn capabilities() -> Value {
        json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "completions": {},
            "logging": {},
        })
    }
}
