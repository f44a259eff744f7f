//! The deprecated HTTP+SSE transport (2024-11-05), for old clients:
//! `GET /sse` opens the session's one stream and announces the `endpoint`
//! to POST to; `POST /messages?session_id=…` (with or without a trailing
//! slash) answers 202 and the response travels on the stream. The stream's
//! end closes the session.

use super::HttpState;
use super::mcp::{rpc_error, spawn_feeder, unknown_session};
use super::sse::{self, Item, OnDrop};
use crate::auth::Principal;
use crate::protocol::jsonrpc::{self, Incoming};
use crate::protocol::streams::StreamEvent;
use crate::protocol::{Connection, Outbound};
use crate::session::{CloseReason, SessionId, TransportKind};
use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// `?session_id=…`
#[derive(Deserialize)]
pub(super) struct SessionQuery {
    session_id: Option<String>,
}

/// GET /sse
pub(super) async fn open(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
) -> Response {
    let Some(permit) = sse::permit(&state) else {
        return sse::too_many_streams();
    };
    let server = state.server.clone();
    let Ok(id) = SessionId::generate()
        .inspect_err(|e| tracing::error!(error = %e, "cannot make a session id"))
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    let conn = Arc::new(Connection::with_session_id(
        principal.clone(),
        TransportKind::LegacySse,
        server.kv().clone(),
        id.clone(),
    ));
    if let Err(e) = server.sessions().create(
        id.clone(),
        &principal,
        TransportKind::LegacySse,
        conn.clone(),
    ) {
        return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response();
    }
    let (tx, rx) = mpsc::channel::<StreamEvent>(64);
    let stream = conn.streams().open(tx, None);
    conn.set_primary_stream(stream);
    spawn_feeder(&state, conn, stream);
    let endpoint = Item {
        event: Some("endpoint"),
        id: None,
        data: format!("messages?session_id={}", id.as_str()),
    };
    // The stream's end (client gone, shutdown) ends the session.
    let guard = OnDrop::new(move || {
        tokio::spawn(async move {
            server
                .sessions()
                .close(&id, CloseReason::TransportClosed)
                .await;
        });
    });
    let live = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| {
            let item = Item {
                event: Some("message"),
                id: None,
                data: e.data.to_string(),
            };
            (item, rx)
        })
    });
    sse::listen(&state, permit, vec![endpoint], live, guard)
}

/// POST /messages?session_id=…
pub(super) async fn message(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<SessionQuery>,
    body: Bytes,
) -> Response {
    let conn = query
        .session_id
        .as_deref()
        .and_then(SessionId::parse)
        .and_then(|id| state.server.sessions().get(&id, &principal))
        .filter(|c| c.transport() == TransportKind::LegacySse);
    let Some(conn) = conn else {
        return unknown_session(None);
    };
    let Some(stream) = conn.primary_stream() else {
        return unknown_session(None);
    };
    let incoming = match std::str::from_utf8(&body)
        .map_err(|_| jsonrpc::Rejected {
            id: None,
            error: crate::protocol::RpcError::Parse("the body is not UTF-8".to_owned()),
        })
        .and_then(jsonrpc::parse)
    {
        Ok(i) => i,
        Err(r) => return rpc_error(StatusCode::BAD_REQUEST, r.id.as_ref(), &r.error),
    };
    let server = state.server.clone();
    tokio::spawn(async move {
        let out = Outbound::Stream {
            conn: conn.clone(),
            stream,
        };
        let is_request = matches!(incoming, Incoming::Request { .. });
        if let Some(reply) = server.handle_incoming(&conn, incoming, &out).await
            && is_request
        {
            conn.streams().publish(stream, Arc::from(reply.body), false);
        }
    });
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
