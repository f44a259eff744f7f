//! The Streamable HTTP endpoint, both eras.
//!
//! Modern (2026-07-28) requests stand alone: headers are checked against
//! the body, each gets a throwaway connection, and closing an SSE response
//! cancels the call. Legacy requests belong to the session named by
//! `Mcp-Session-Id`; their SSE streams are resumable with `Last-Event-ID`:
//! a call whose stream broke goes on for the session's resume grace, and
//! is cancelled (abandoned) if the client has not resumed it by then.

use super::HttpState;
use super::error::{HttpError, reply_response};
use super::sse::{self, Item, OnDrop};
use crate::auth::Principal;
use crate::protocol::era;
use crate::protocol::headers::Header;
use crate::protocol::jsonrpc::{self, RequestId};
use crate::protocol::streams::{Delivery, StreamEvent};
use crate::protocol::{
    Connection, LegacyFeed, Message, Outbound, Plan, RpcError, keepalive_ping, lagged_notice,
    next_legacy_feed,
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
/// The W3C trace context header.
const TRACEPARENT: &str = "traceparent";
/// Events buffered per SSE response before the sender waits or drops.
const SSE_QUEUE: usize = 64;

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

/// The one JSON-RPC message a POST body holds, classified; 400 for a body
/// that is not UTF-8 or not a message.
pub(super) fn read_message(body: &[u8]) -> Result<Message, HttpError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        HttpError::bad_request(None, RpcError::Parse("the body is not UTF-8".to_owned()))
    })?;
    Message::parse(text).map_err(|r| HttpError::bad_request(r.id.as_ref(), r.error))
}

/// POST: one JSON-RPC message, classified once and answered as its plan
/// says.
pub(super) async fn post(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let mut message = read_message(&body)?;
    // The W3C trace context of the HTTP request, when the body has none.
    if let Message::Request(request) = &mut message
        && request.meta.traceparent.is_none()
    {
        request.meta.traceparent = header_str(&headers, TRACEPARENT).map(str::to_owned);
    }
    if message.is_modern() {
        modern_post(&state, &headers, principal, message).await
    } else {
        legacy_post(&state, &headers, principal, message).await
    }
}

async fn modern_post(
    state: &Arc<HttpState>,
    headers: &HeaderMap,
    principal: Principal,
    message: Message,
) -> Result<Response, HttpError> {
    let Message::Request(request) = message else {
        // The modern revision defines no client notifications over HTTP.
        return Ok(StatusCode::ACCEPTED.into_response());
    };
    let id = request.id.clone();
    let server = state.server.clone();
    let conn = Arc::new(Connection::new(
        principal,
        TransportKind::StreamableHttp,
        server.kv().clone(),
    ));
    let plan = server
        .plan(&request, &conn, accepts_sse(headers), |name| {
            lookup(headers, name)
        })
        .map_err(|e| HttpError::bad_request(Some(&id), e))?;
    if plan == Plan::Json {
        // Dropping this future (the client hung up) drops the call.
        let message = Message::Request(request);
        return Ok(
            match server
                .handle_message(&conn, message, &Outbound::Discard)
                .await
            {
                Some(reply) => reply_response(reply, true),
                None => StatusCode::ACCEPTED.into_response(),
            },
        );
    }
    let permit = sse::permit(state).ok_or(HttpError::TooManyStreams)?;
    let (tx, rx) = mpsc::channel::<String>(SSE_QUEUE);
    let task_conn = conn.clone();
    state.tasks.spawn(async move {
        let out = Outbound::Channel(tx.clone());
        let message = Message::Request(request);
        if let Some(reply) = server.handle_message(&task_conn, message, &out).await {
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
    Ok(if plan == Plan::Listen {
        sse::listen(state, permit, Vec::new(), items, guard)
    } else {
        sse::response(state, permit, Vec::new(), items, guard)
    })
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

/// 404 for a session id that is not (or no longer) the caller's.
pub(super) fn unknown_session(id: Option<&RequestId>) -> HttpError {
    HttpError::rpc(
        StatusCode::NOT_FOUND,
        id,
        RpcError::InvalidRequest(
            "Session not found: it expired or was closed; initialize a new session".to_owned(),
        ),
    )
}

async fn legacy_post(
    state: &Arc<HttpState>,
    headers: &HeaderMap,
    principal: Principal,
    message: Message,
) -> Result<Response, HttpError> {
    let request_id = message.id().cloned();
    era::check_legacy_header(header_str(headers, VERSION_HEADER))
        .map_err(|e| HttpError::bad_request(request_id.as_ref(), e))?;
    let server = state.server.clone();
    let opens_session = matches!(&message, Message::Request(r) if r.opens_session());
    let conn = match (headers.contains_key(SESSION_HEADER), opens_session) {
        (false, true) => Arc::new(Connection::new(
            principal,
            TransportKind::StreamableHttp,
            server.kv().clone(),
        )),
        (false, false) => {
            return Err(HttpError::bad_request(
                request_id.as_ref(),
                RpcError::InvalidRequest(
                    "Mcp-Session-Id header is required: send initialize first (or describe the request in _meta for 2026-07-28)"
                        .to_owned(),
                ),
            ));
        }
        (true, _) => session(state, headers, &principal)
            .ok_or_else(|| unknown_session(request_id.as_ref()))?,
    };
    let plan = match &message {
        Message::Request(r) => server
            .plan(r, &conn, accepts_sse(headers), |name| lookup(headers, name))
            .map_err(|e| HttpError::bad_request(request_id.as_ref(), e))?,
        _ => {
            server
                .handle_message(&conn, message, &Outbound::Discard)
                .await;
            return Ok(StatusCode::ACCEPTED.into_response());
        }
    };
    if plan != Plan::Json {
        return legacy_stream(state, conn, message);
    }
    Ok(
        match server
            .handle_message(&conn, message, &Outbound::Discard)
            .await
        {
            Some(reply) => {
                let opened = opens_session && reply.error.is_none();
                let mut response = reply_response(reply, false);
                if opened
                    && let Some(sid) = conn.session_id()
                    && let Ok(value) = HeaderValue::from_str(sid.as_str())
                {
                    response.headers_mut().insert(SESSION_HEADER, value);
                }
                response
            }
            None => StatusCode::ACCEPTED.into_response(),
        },
    )
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
fn legacy_stream(
    state: &Arc<HttpState>,
    conn: Arc<Connection>,
    message: Message,
) -> Result<Response, HttpError> {
    let permit = sse::permit(state).ok_or(HttpError::TooManyStreams)?;
    let request = message.id().cloned();
    let (tx, rx) = mpsc::channel::<StreamEvent>(SSE_QUEUE);
    let stream = conn.streams().open(tx, request.clone());
    let server = state.server.clone();
    let task_conn = conn.clone();
    state.tasks.spawn(async move {
        let out = Outbound::Stream {
            conn: task_conn.clone(),
            stream,
        };
        let reply = match server.handle_message(&task_conn, message, &out).await {
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
    Ok(sse::response(
        state,
        permit,
        Vec::new(),
        live_items(rx),
        guard,
    ))
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
                    vec![keepalive_ping(n)]
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
) -> Result<Response, HttpError> {
    let conn = named_session(&state, &headers, &principal)?;
    if !accepts_sse(&headers) {
        return Err(HttpError::NotAcceptable);
    }
    let permit = sse::permit(&state).ok_or(HttpError::TooManyStreams)?;
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
        return Ok(sse::listen(&state, permit, replay, live_items(rx), guard));
    }
    let stream = conn.streams().open(tx, None);
    spawn_feeder(&state, conn.clone(), stream);
    let guard = OnDrop::new(move || {
        conn.streams().detach(stream);
    });
    Ok(sse::listen(
        &state,
        permit,
        Vec::new(),
        live_items(rx),
        guard,
    ))
}

/// DELETE: ends a legacy session. Modern clients get 405.
pub(super) async fn delete(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    let conn = named_session(&state, &headers, &principal)?;
    if let Some(id) = conn.session_id() {
        state
            .server
            .sessions()
            .close(&id, CloseReason::ClientRequest)
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The session a GET or DELETE names: 405 when none is named (2026-07-28
/// has no sessions), 404 when it is not the caller's open session.
fn named_session(
    state: &HttpState,
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<Arc<Connection>, HttpError> {
    if !headers.contains_key(SESSION_HEADER) {
        return Err(HttpError::NoSessions);
    }
    session(state, headers, principal).ok_or_else(|| unknown_session(None))
}
