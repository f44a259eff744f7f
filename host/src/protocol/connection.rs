//! One client connection as the protocol engine sees it: who it is, its
//! legacy session (if it sent `initialize`), its requests in flight, and
//! where server messages for it go.

use super::jsonrpc::RequestId;
use crate::auth::Principal;
use crate::kv::{ScopeId, ScopeKey, SharedKv};
use crate::session::{LegacySession, SessionId, SessionValue, TransportKind};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Most requests one connection may have in flight.
pub const MAX_IN_FLIGHT: usize = 256;

/// Where server-to-client messages for a request go (the stdio writer, or
/// a request's response stream).
#[derive(Clone, Debug)]
pub struct Outbound {
    tx: mpsc::Sender<String>,
}

impl Outbound {
    /// Wraps a channel.
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx }
    }

    /// Queues a notification without waiting. When the client does not
    /// keep up, notifications are dropped rather than stalling plugins.
    pub fn notify(&self, message: String) {
        if self.tx.try_send(message).is_err() {
            tracing::debug!("outbound queue full or closed; notification dropped");
        }
    }

    /// Queues a message, waiting for room.
    pub async fn send(&self, message: String) {
        let _ = self.tx.send(message).await;
    }
}

/// A connection's protocol state: for stdio the process's one client, for
/// HTTP one legacy session (or one stateless request).
pub struct Connection {
    principal: Principal,
    transport: TransportKind,
    kv: SharedKv,
    legacy: Mutex<Option<LegacySession>>,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Connection {
    /// A new connection of `principal` on `transport`; its session state
    /// lives in `kv`.
    pub fn new(principal: Principal, transport: TransportKind, kv: SharedKv) -> Self {
        Self {
            principal,
            transport,
            kv,
            legacy: Mutex::new(None),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// The transport it arrived on.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The id of its legacy session, if it has one.
    pub fn session_id(&self) -> Option<SessionId> {
        lock(&self.legacy).as_ref().map(|s| s.id.clone())
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// A copy of the legacy session, if any.
    pub fn legacy(&self) -> Option<LegacySession> {
        lock(&self.legacy).clone()
    }

    /// Runs `f` on the legacy session slot.
    pub fn with_legacy<R>(&self, f: impl FnOnce(&mut Option<LegacySession>) -> R) -> R {
        f(&mut lock(&self.legacy))
    }

    /// The kv scope of the legacy session, if any.
    pub fn legacy_scope(&self) -> Option<ScopeKey> {
        lock(&self.legacy).as_ref().map(|s| ScopeKey {
            tenant: self.principal.tenant.clone(),
            scope: ScopeId::Session(s.id.as_arc()),
        })
    }

    /// Registers a request in flight; `None` if the id is already in use
    /// or too many are in flight.
    pub fn begin(&self, id: &RequestId) -> Option<CancellationToken> {
        let mut map = lock(&self.in_flight);
        if map.contains_key(id) || map.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let token = CancellationToken::new();
        map.insert(id.clone(), token.clone());
        Some(token)
    }

    /// Forgets a finished request.
    pub fn end(&self, id: &RequestId) {
        lock(&self.in_flight).remove(id);
    }

    /// Cancels a request in flight; false if there is none with that id.
    pub fn cancel(&self, id: &RequestId) -> bool {
        match lock(&self.in_flight).get(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels what is in flight and frees the legacy session's state.
    pub async fn release(&self) {
        for token in lock(&self.in_flight).values() {
            token.cancel();
        }
        if let Some(scope) = self.legacy_scope()
            && let Err(e) = self.kv.drop_scope(&scope).await
        {
            tracing::warn!(error = %e, "could not free a closed session's state");
        }
    }
}

impl SessionValue for Connection {
    async fn ended(self: std::sync::Arc<Self>) {
        self.release().await;
    }
}
