//! One client connection as the protocol engine sees it: who it is, its
//! legacy session (if it sent `initialize`), its requests in flight, and
//! where server messages for it go.

use super::jsonrpc::RequestId;
use super::streams::{Delivery, StreamLog};
use crate::auth::Principal;
use crate::kv::{ScopeId, ScopeKey, SharedKv};
use crate::plugin::ClientFeatures;
use crate::session::{LegacySession, SessionId, SessionValue, TransportKind};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::mpsc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Most requests one connection may have in flight.
pub const MAX_IN_FLIGHT: usize = 256;
/// Most requests the server may have sent one connection and await.
const MAX_ASKED: usize = 256;

/// The client's answer to a request the server sent: its result, or its
/// error object.
pub type Answer = Result<Value, Value>;

/// Where server-to-client messages for a request go: a channel (the stdio
/// writer, a response stream), a session's resumable stream, or nowhere
/// (a plain JSON response has no room for notifications).
#[derive(Clone)]
pub enum Outbound {
    /// A bounded channel.
    Channel(mpsc::Sender<String>),
    /// A resumable stream of a legacy session.
    Stream {
        /// The session's connection.
        conn: Arc<Connection>,
        /// The stream.
        stream: u64,
    },
    /// Dropped.
    Discard,
}

impl Outbound {
    /// Whether messages sent here reach the client.
    pub fn reaches_client(&self) -> bool {
        !matches!(self, Self::Discard)
    }

    /// Wraps a channel.
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self::Channel(tx)
    }

    /// Queues a notification without waiting. When the client does not
    /// keep up, notifications are dropped rather than stalling plugins.
    pub fn notify(&self, message: String) {
        match self {
            Self::Channel(tx) => {
                if tx.try_send(message).is_err() {
                    tracing::debug!("outbound queue full or closed; notification dropped");
                }
            }
            Self::Stream { conn, stream } => {
                conn.streams.publish(*stream, Arc::from(message), false);
            }
            Self::Discard => {}
        }
    }

    /// Queues a message without waiting, and says whether it was taken:
    /// for subscribers, which must notice that they fell behind.
    pub fn offer(&self, message: String) -> Offered {
        match self {
            Self::Channel(tx) => match tx.try_send(message) {
                Ok(()) => Offered::Taken,
                Err(mpsc::error::TrySendError::Full(_)) => Offered::Full,
                Err(mpsc::error::TrySendError::Closed(_)) => Offered::Closed,
            },
            Self::Stream { conn, stream } => {
                match conn.streams.publish(*stream, Arc::from(message), false) {
                    Delivery::Live => Offered::Taken,
                    Delivery::Overflow => Offered::Full,
                    Delivery::Detached => Offered::Closed,
                }
            }
            Self::Discard => Offered::Closed,
        }
    }

    /// Queues a message, waiting for room.
    pub async fn send(&self, message: String) {
        match self {
            Self::Channel(tx) => {
                let _ = tx.send(message).await;
            }
            other => other.notify(message),
        }
    }
}

/// What became of a message offered to an [`Outbound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Queued.
    Taken,
    /// The queue is full: the receiver is not keeping up.
    Full,
    /// Nobody receives any more.
    Closed,
}

/// A connection's protocol state: for stdio the process's one client, for
/// HTTP one legacy session (or one stateless request).
pub struct Connection {
    principal: Principal,
    transport: TransportKind,
    kv: SharedKv,
    legacy: Mutex<Option<LegacySession>>,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    streams: StreamLog,
    preset_id: Option<SessionId>,
    primary_stream: OnceLock<u64>,
    /// Requests sent to the client, awaiting its answer.
    asked: Mutex<HashMap<RequestId, oneshot::Sender<Answer>>>,
    next_ask: AtomicU64,
    /// Cancelled when the client's input has ended: it can answer nothing
    /// more.
    input_end: CancellationToken,
    /// Set when its session ended (closed or expired): what is still in
    /// flight was stopped by the server, not by the client.
    ended: AtomicBool,
}

/// A request in flight on a connection; dropping it (the request ended,
/// or its future was dropped) forgets it.
pub struct InFlight<'a> {
    conn: &'a Connection,
    id: &'a RequestId,
    token: CancellationToken,
}

impl InFlight<'_> {
    /// Cancelled when the client cancels the request, its session ends or
    /// the server stops.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(&self.conn.in_flight).remove(self.id);
    }
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
            streams: StreamLog::default(),
            preset_id: None,
            primary_stream: OnceLock::new(),
            asked: Mutex::new(HashMap::new()),
            input_end: CancellationToken::new(),
            next_ask: AtomicU64::new(1),
            ended: AtomicBool::new(false),
        }
    }

    /// A connection whose session id is fixed before `initialize` (the
    /// HTTP+SSE transport announces it in its endpoint URL).
    pub fn with_session_id(
        principal: Principal,
        transport: TransportKind,
        kv: SharedKv,
        id: SessionId,
    ) -> Self {
        Self {
            preset_id: Some(id),
            ..Self::new(principal, transport, kv)
        }
    }

    /// The session id fixed at creation, if any.
    pub fn preset_session_id(&self) -> Option<&SessionId> {
        self.preset_id.as_ref()
    }

    /// Sets the stream that carries everything for this session (the
    /// HTTP+SSE transport's one stream); only the first call counts.
    pub fn set_primary_stream(&self, stream: u64) {
        let _ = self.primary_stream.set(stream);
    }

    /// The stream set by [`Self::set_primary_stream`].
    pub fn primary_stream(&self) -> Option<u64> {
        self.primary_stream.get().copied()
    }

    /// The session's resumable streams.
    pub fn streams(&self) -> &StreamLog {
        &self.streams
    }

    /// The transport it arrived on.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The id of its legacy session, if it has one.
    pub fn session_id(&self) -> Option<SessionId> {
        lock(&self.legacy)
            .as_ref()
            .map(|s| s.id.clone())
            .or_else(|| self.preset_id.clone())
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The negotiated version, log level and client features of the legacy
    /// session, if any (what every legacy request needs, in one lock and
    /// without copying the session).
    pub fn legacy_cx(&self) -> Option<(&'static str, crate::level::LogLevel, ClientFeatures)> {
        lock(&self.legacy).as_ref().map(|s| {
            (
                s.protocol_version,
                s.log_level,
                ClientFeatures::from_capabilities(&s.client_capabilities),
            )
        })
    }

    /// Whether the legacy session's client can be asked anything at all.
    pub fn can_be_asked(&self) -> bool {
        self.legacy_cx()
            .is_some_and(|(_, _, features)| features != ClientFeatures::default())
    }

    /// Whether the legacy session subscribed to `uri`.
    pub fn is_subscribed(&self, uri: &str) -> bool {
        lock(&self.legacy)
            .as_ref()
            .is_some_and(|s| s.subscriptions.contains(uri))
    }

    /// Registers a request to send to the client; returns its id and the
    /// receiver of the answer. `None` when too many are outstanding.
    pub fn ask(&self) -> Option<(RequestId, oneshot::Receiver<Answer>)> {
        let mut asked = lock(&self.asked);
        if asked.len() >= MAX_ASKED || self.input_closed() {
            return None;
        }
        let n = self.next_ask.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("berth-{n}"));
        let (tx, rx) = oneshot::channel();
        asked.insert(id.clone(), tx);
        Some((id, rx))
    }

    /// The client's input has ended (stdin closed): questions waiting for
    /// an answer fail now, no more are asked, and subscriptions end, so
    /// nothing waits for what can no longer come.
    pub fn close_input(&self) {
        self.input_end.cancel();
        lock(&self.asked).clear();
    }

    /// Whether [`Connection::close_input`] was called.
    pub fn input_closed(&self) -> bool {
        self.input_end.is_cancelled()
    }

    /// Resolves when [`Connection::close_input`] is called.
    pub fn input_ended(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.input_end.cancelled()
    }

    /// Forgets a request sent to the client (answered elsewhere, or given
    /// up on).
    pub fn forget(&self, id: &RequestId) {
        lock(&self.asked).remove(id);
    }

    /// Delivers the client's answer; false if nothing awaits that id.
    pub fn answer(&self, id: &RequestId, answer: Answer) -> bool {
        match lock(&self.asked).remove(id) {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }

    /// Whether the legacy session asked for log messages
    /// (`logging/setLevel`).
    pub fn wants_logs(&self) -> bool {
        lock(&self.legacy).as_ref().is_some_and(|s| s.log_level_set)
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

    /// Registers a request in flight until the returned guard is dropped;
    /// `None` if the id is already in use or too many are in flight. Its
    /// token is a child of `parent` (the server's, cancelled at shutdown).
    pub fn begin<'a>(
        &'a self,
        id: &'a RequestId,
        parent: &CancellationToken,
    ) -> Option<InFlight<'a>> {
        let mut map = lock(&self.in_flight);
        if map.contains_key(id) || map.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let token = parent.child_token();
        map.insert(id.clone(), token.clone());
        Some(InFlight {
            conn: self,
            id,
            token,
        })
    }

    /// Whether its session has ended (see [`Self::release`]).
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
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

    /// Cancels what is in flight, ends the session's streams and frees its
    /// state.
    pub async fn release(&self) {
        self.ended.store(true, Ordering::Release);
        for token in lock(&self.in_flight).values() {
            token.cancel();
        }
        lock(&self.asked).clear();
        self.streams.close_all();
        if let Some(scope) = self.legacy_scope()
            && let Err(e) = self.kv.drop_scope(&scope).await
        {
            tracing::warn!(error = %e, "could not free a closed session's state");
        }
    }
}

impl SessionValue for Connection {
    async fn ended(self: Arc<Self>) {
        self.release().await;
    }

    fn busy(&self) -> bool {
        !lock(&self.in_flight).is_empty()
    }
}
