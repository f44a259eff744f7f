//! The Streamable HTTP endpoint, both eras.
//!
//! Modern (2026-07-28) requests stand alone: headers are checked against
//! the body, each gets a throwaway connection, and closing an SSE response
//! cancels the call. Legacy requests belong to the session named by
//! `Mcp-Session-Id`; their SSE streams are resumable with `Last-Event-ID`:
//! a call whose stream broke goes on for the session's resume grace, and
//! is cancelled (abandoned) if the client has not resumed it by then.

use super::HttpState;
use super::sse::{self, Item, OnDrop};
use crate::auth::Principal;
use crate::protocol::era::{self, LEGACY_VERSIONS, MODERN_VERSIONS};
use crate::protocol::headers::Header;
use crate::protocol::jsonrpc::{self, Incoming, RequestId};
use crate::protocol::streams::{Delivery, StreamEvent};
use crate::protocol::{
    Connection, LegacyFeed, Outbound, Reply, RpcError, lagged_notice, next_legacy_feed,
};
use crate::session::{CloseReason, SessionId, TransportKind};
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const LAST_EVENT_ID: &str = "last-event-id";
/// Events buffered per SSE response before the sender waits or drops.
const SSE_QUEUE: usize = 64;

/// A JSON-RPC error response with an HTTP status.
pub(super) fn rpc_error(status: StatusCode, id: Option<&RequestId>, e: &RpcError) -> Response {
    json_response(status, jsonrpc::error(id, e))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn accepts_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream") || v.contains("*/*"))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A header for the 2026-07-28 checks (`protocol::headers`); `HeaderMap`
/// matches `name` regardless of case.
fn lookup<'h>(headers: &'h HeaderMap, name: &str) -> Header<'h> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Header::Absent,
        (Some(v), None) => Header::One(v.as_bytes()),
        (Some(_), Some(_)) => Header::Repeated,
    }
}

fn status_of(reply: &Reply, modern: bool) -> StatusCode {
    match &reply.error {
        Some(RpcError::MethodNotFound(_)) if modern => StatusCode::NOT_FOUND,
        Some(RpcError::TooManySessions(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Some(
            RpcError::MalformedMeta(_)
            | RpcError::HeaderMismatch { .. }
            | RpcError::MissingClientCapability { .. }
            | RpcError::UnsupportedVersion { .. },
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// POST: one JSON-RPC message.
pub(super) async fn post(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            &RpcError::Parse("the body is not UTF-8".to_owned()),
        );
    };
    let incoming = match jsonrpc::parse(text) {
        Ok(i) => i,
        Err(rejected) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                rejected.id.as_ref(),
                &rejected.error,
            );
        }
    };
    let modern = match &incoming {
        Incoming::Request { params, .. } | Incoming::Notification { params, .. } => {
            era::is_modern(params)
        }
        Incoming::Response { .. } => false,
    };
    if modern {
        modern_post(&state, &headers, principal, incoming).await
    } else {
        legacy_post(&state, &headers, principal, incoming).await
    }
}

async fn modern_post(
    state: &Arc<HttpState>,
    headers: &HeaderMap,
    principal: Principal,
    incoming: Incoming,
) -> Response {
    let Incoming::Request { id, method, params } = incoming else {
        // The modern revision defines no client notifications over HTTP.
        return StatusCode::ACCEPTED.into_response();
    };
    if let Err(e) = state
        .server
        .check_modern_headers(&method, &params, |name| lookup(headers, name))
    {
        return rpc_error(StatusCode::BAD_REQUEST, Some(&id), &e);
    }
    let listen = method == "subscriptions/listen";
    if listen && !accepts_sse(headers) {
        let e = RpcError::InvalidRequest(
            "subscriptions/listen answers with a stream: send Accept: text/event-stream".to_owned(),
        );
        return rpc_error(StatusCode::BAD_REQUEST, Some(&id), &e);
    }
    // Asked for progress or logs (in `_meta`) before looking at Accept.
    let streams_events = listen
        || (method == "tools/call"
            && {
                let meta = era::MetaView::of(&params);
                meta.log_level.is_some() || meta.progress_token().is_some()
            }
            && accepts_sse(headers));
    let server = state.server.clone();
    let conn = Arc::new(Connection::new(
        principal,
        TransportKind::StreamableHttp,
        server.kv().clone(),
    ));
    let incoming = Incoming::Request {
        id: id.clone(),
        method,
        params,
    };
    if !streams_events {
        // Dropping this future (the client hung up) drops the call.
        return match server
            .handle_incoming(&conn, incoming, &Outbound::Discard)
            .await
        {
            Some(reply) => json_response(status_of(&reply, true), reply.body),
            None => StatusCode::ACCEPTED.into_response(),
        };
    }
    let Some(permit) = sse::permit(state) else {
        return sse::too_many_streams();
    };
    let (tx, rx) = mpsc::channel::<String>(SSE_QUEUE);
    let task_conn = conn.clone();
    state.tasks.spawn(async move {
        let out = Outbound::Channel(tx.clone());
        if let Some(reply) = server.handle_incoming(&task_conn, incoming, &out).await {
            let _ = tx.send(reply.body).await;
        }
    });
    // Closing the response stream cancels the request.
    let guard = OnDrop::new(move || {
        conn.cancel(&id);
    });
    let items = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|m| (Item::message(m), rx))
    });
    if listen {
        return sse::listen(state, permit, Vec::new(), items, guard);
    }
    sse::response(state, permit, Vec::new(), items, guard)
}

fn missing_session(id: Option<&RequestId>) -> Response {
    rpc_error(
        StatusCode::BAD_REQUEST,
        id,
        &RpcError::InvalidRequest(
            "Mcp-Session-Id header is required: send initialize first (or describe the request in _meta for 2026-07-28)"
                .to_owned(),
        ),
    )
}

pub(super) fn unknown_session(id: Option<&RequestId>) -> Response {
    rpc_error(
        StatusCode::NOT_FOUND,
        id,
        &RpcError::InvalidRequest(
            "Session not found: it expired or was closed; initialize a new session".to_owned(),
        ),
    )
}

/// The session named by the request, if it is this caller's.
fn session(
    state: &HttpState,
    headers: &HeaderMap,
    principal: &Principal,
) -> Option<Arc<Connection>> {
    let id = SessionId::parse(header_str(headers, SESSION_HEADER)?)?;
    state
        .server
        .sessions()
        .get(&id, principal)
        .filter(|c| c.transport() == TransportKind::StreamableHttp)
}

async fn legacy_post(
    state: &Arc<HttpState>,
    headers: &HeaderMap,
    principal: Principal,
    incoming: Incoming,
) -> Response {
    let request_id = match &incoming {
        Incoming::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    if let Some(version) = header_str(headers, VERSION_HEADER) {
        if MODERN_VERSIONS.contains(&version) {
            let e = RpcError::MalformedMeta(format!(
                "a {version} request must describe itself in _meta ({} and {})",
                era::META_PROTOCOL_VERSION,
                era::META_CLIENT_CAPABILITIES
            ));
            return rpc_error(StatusCode::BAD_REQUEST, request_id.as_ref(), &e);
        }
        if !LEGACY_VERSIONS.contains(&version) {
            let e =
                RpcError::InvalidRequest(format!("unsupported MCP-Protocol-Version {version:?}"));
            return rpc_error(StatusCode::BAD_REQUEST, request_id.as_ref(), &e);
        }
    }
    let server = state.server.clone();
    let is_initialize =
        matches!(&incoming, Incoming::Request { method, .. } if method == "initialize");
    let conn = match (headers.contains_key(SESSION_HEADER), is_initialize) {
        (false, true) => Arc::new(Connection::new(
            principal,
            TransportKind::StreamableHttp,
            server.kv().clone(),
        )),
        (false, false) => return missing_session(request_id.as_ref()),
        (true, _) => match session(state, headers, &principal) {
            Some(conn) => conn,
            None => return unknown_session(request_id.as_ref()),
        },
    };
    let Incoming::Request { id, method, params } = incoming else {
        server
            .handle_incoming(&conn, incoming, &Outbound::Discard)
            .await;
        return StatusCode::ACCEPTED.into_response();
    };
    // Stream the answer when the call will have something to say on the
    // way: progress it asked for, log messages the session asked for, or
    // questions for a client that declared it can answer them.
    let may_ask = matches!(method.as_str(), "tools/call" | "prompts/get") && conn.can_be_asked();
    let streams_events = accepts_sse(headers)
        && (may_ask
            || (method == "tools/call"
                && (era::progress_token(&params).is_some() || conn.wants_logs())));
    let incoming = Incoming::Request { id, method, params };
    if streams_events {
        return legacy_stream(state, conn, incoming);
    }
    match server
        .handle_incoming(&conn, incoming, &Outbound::Discard)
        .await
    {
        Some(reply) => {
            let mut response = json_response(status_of(&reply, false), reply.body);
            if is_initialize
                && reply.error.is_none()
                && let Some(sid) = conn.session_id()
                && let Ok(value) = HeaderValue::from_str(sid.as_str())
            {
                response.headers_mut().insert(SESSION_HEADER, value);
            }
            response
        }
        None => StatusCode::ACCEPTED.into_response(),
    }
}

fn event_item(e: StreamEvent) -> Item {
    Item {
        event: None,
        id: Some(e.id),
        data: e.data.to_string(),
    }
}

fn live_items(rx: mpsc::Receiver<StreamEvent>) -> impl futures_util::Stream<Item = Item> + Send {
    stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (event_item(e), rx))
    })
}

/// A legacy request answered on a resumable SSE stream. The call goes on
/// if the stream breaks; the client may resume it with `Last-Event-ID`
/// within the resume grace (see [`detached`]).
fn legacy_stream(state: &Arc<HttpState>, conn: Arc<Connection>, incoming: Incoming) -> Response {
    let Some(permit) = sse::permit(state) else {
        return sse::too_many_streams();
    };
    let request = match &incoming {
        Incoming::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    let (tx, rx) = mpsc::channel::<StreamEvent>(SSE_QUEUE);
    let stream = conn.streams().open(tx, request.clone());
    let server = state.server.clone();
    let task_conn = conn.clone();
    state.tasks.spawn(async move {
        let out = Outbound::Stream {
            conn: task_conn.clone(),
            stream,
        };
        let reply = match server.handle_incoming(&task_conn, incoming, &out).await {
            Some(reply) => Some(reply.body),
            // A client that resumes too late learns what became of its call.
            None if task_conn.streams().is_abandoned(stream) => {
                let grace = server.sessions().limits().resume_grace;
                let e = RpcError::Abandoned {
                    grace_secs: grace.as_secs(),
                };
                Some(jsonrpc::error(request.as_ref(), &e))
            }
            None => None,
        };
        match reply {
            Some(body) => {
                task_conn.streams().publish(stream, Arc::from(body), true);
            }
            None => task_conn.streams().finish(stream),
        }
    });
    let guard = detach_guard(state, conn, stream);
    sse::response(state, permit, Vec::new(), live_items(rx), guard)
}

/// Detaches `stream` when its response body goes away.
fn detach_guard(state: &Arc<HttpState>, conn: Arc<Connection>, stream: u64) -> OnDrop {
    let state = state.clone();
    OnDrop::new(move || detached(&state, conn, stream))
}

/// The response carrying `stream` went away. If the stream answers a call
/// still running, the call is abandoned unless the client resumes the
/// stream within the session's resume grace, or at once when other calls
/// are waiting for a place: a client that is gone must not keep a place
/// that healthy callers wait for. (The HTTP+SSE
/// transport has no resumption: its stream's end closes the session,
/// which stops its calls at once.)
fn detached(state: &Arc<HttpState>, conn: Arc<Connection>, stream: u64) {
    let Some(detached) = conn.streams().detach(stream) else {
        return;
    };
    let grace = state.server.sessions().limits().resume_grace;
    if grace.is_zero() {
        if conn.streams().abandon(stream, &detached) {
            conn.cancel(&detached.request);
        }
        return;
    }
    let shutdown = state.shutdown.clone();
    let server = state.server.clone();
    state.tasks.spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            () = server.plugins().contended() => {}
            // Shutdown drains and stops calls on its own terms.
            () = shutdown.cancelled() => return,
        }
        if conn.streams().abandon(stream, &detached) && conn.cancel(&detached.request) {
            tracing::debug!(request = ?detached.request, "call abandoned: its stream was not resumed");
        }
    });
}

/// Feeds a legacy session's own stream while it is live: a server `ping`
/// every interval (which also keeps the session from idling out), and
/// `notifications/tools/list_changed` when the tool list changes. A stream
/// that falls behind (its queue is full, or the feed lagged) is closed with
/// a warning saying why, and counted.
pub(super) fn spawn_feeder(state: &Arc<HttpState>, conn: Arc<Connection>, stream: u64) {
    let interval = state.options.ping_interval;
    let shutdown = state.shutdown.clone();
    let server = state.server.clone();
    let mut changes = server.plugins().subscribe();
    state.tasks.spawn(async move {
        let mut n: u64 = 0;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            let messages = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if let Some(id) = conn.session_id() {
                        server.sessions().touch(&id);
                    }
                    n += 1;
                    vec![format!(r#"{{"jsonrpc":"2.0","id":"berth-ping-{n}","method":"ping"}}"#)]
                }
                feed = next_legacy_feed(&mut changes, &conn) => match feed {
                    LegacyFeed::Notices(notices) => notices,
                    LegacyFeed::Lagged(missed) => {
                        close_lagged(&server, &conn, stream, missed);
                        break;
                    }
                    LegacyFeed::Over => break,
                },
            };
            if !conn.streams().is_live(stream) {
                break;
            }
            let count = messages.len() as u64;
            // Keep one place for the notice that closes a stream that fell
            // behind, so a slow reader still learns why it ends.
            if conn.streams().room(stream) <= messages.len() {
                close_lagged(&server, &conn, stream, count);
                break;
            }
            let overflowed = (0u64..).zip(messages).find_map(|(sent, message)| {
                let delivery = conn.streams().publish(stream, Arc::from(message), false);
                (delivery == Delivery::Overflow).then_some(count - sent)
            });
            if let Some(missed) = overflowed {
                close_lagged(&server, &conn, stream, missed);
                break;
            }
        }
    });
}

/// Ends a legacy session's stream that fell behind, saying why (live if it
/// still can, else to whoever resumes it), and counts it.
fn close_lagged(server: &crate::protocol::Server, conn: &Connection, stream: u64, missed: u64) {
    server.subscriber_metrics().lagged(missed);
    tracing::debug!(missed, "a legacy stream fell behind; it is closed");
    conn.streams()
        .publish(stream, Arc::from(lagged_notice(missed)), true);
}

/// GET: the legacy session's server-to-client stream, or the resumption
/// of a broken stream (`Last-Event-ID`). Modern clients get 405.
pub(super) async fn get(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let conn = match named_session(&state, &headers, &principal) {
        Ok(conn) => conn,
        Err(no) => return no.into_response(),
    };
    if !accepts_sse(&headers) {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "GET needs Accept: text/event-stream",
        )
            .into_response();
    }
    let Some(permit) = sse::permit(&state) else {
        return sse::too_many_streams();
    };
    let (tx, rx) = mpsc::channel::<StreamEvent>(SSE_QUEUE);
    if let Some(last) = header_str(&headers, LAST_EVENT_ID)
        && let Some(resumed) = conn.streams().resume(last, tx.clone())
    {
        drop(tx);
        let stream = resumed.stream;
        let replay = resumed.replay.into_iter().map(event_item).collect();
        let guard = detach_guard(&state, conn, stream);
        // A resumed stream may be a call's, but it is not told apart from
        // the session's own here: like every GET stream, it ends at shutdown.
        return sse::listen(&state, permit, replay, live_items(rx), guard);
    }
    let stream = conn.streams().open(tx, None);
    spawn_feeder(&state, conn.clone(), stream);
    let guard = OnDrop::new(move || {
        conn.streams().detach(stream);
    });
    sse::listen(&state, permit, Vec::new(), live_items(rx), guard)
}

/// DELETE: ends a legacy session. Modern clients get 405.
pub(super) async fn delete(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let conn = match named_session(&state, &headers, &principal) {
        Ok(conn) => conn,
        Err(no) => return no.into_response(),
    };
    if let Some(id) = conn.session_id() {
        state
            .server
            .sessions()
            .close(&id, CloseReason::ClientRequest)
            .await;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Why a GET or DELETE has no session to act on.
enum NoSession {
    /// No `Mcp-Session-Id` (2026-07-28 has no sessions): 405.
    NotNamed,
    /// Not the caller's open session: 404.
    Unknown,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            Self::NotNamed => method_not_allowed(),
            Self::Unknown => unknown_session(None),
        }
    }
}

/// The session a GET or DELETE names.
fn named_session(
    state: &HttpState,
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<Arc<Connection>, NoSession> {
    if !headers.contains_key(SESSION_HEADER) {
        return Err(NoSession::NotNamed);
    }
    session(state, headers, principal).ok_or(NoSession::Unknown)
}

fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, HeaderValue::from_static("POST"))],
        "GET and DELETE need an Mcp-Session-Id (legacy sessions); 2026-07-28 has no sessions",
    )
        .into_response()
}
