//! The deprecated HTTP+SSE transport (2024-11-05), for old clients:
//! `GET /sse` opens the session's one stream and announces the `endpoint`
//! to POST to; `POST /messages?session_id=…` (with or without a trailing
//! slash) answers 202 and the response travels on the stream. The stream's
//! end closes the session.

use super::HttpState;
use super::error::HttpError;
use super::mcp::{read_message, spawn_feeder, unknown_session};
use super::sse::{self, Item, OnDrop};
use crate::auth::Principal;
use crate::protocol::streams::StreamEvent;
use crate::protocol::{Connection, Message, Outbound};
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
) -> Result<Response, HttpError> {
    let permit = sse::permit(&state).ok_or(HttpError::TooManyStreams)?;
    let server = state.server.clone();
    let id = SessionId::generate()?;
    let conn = Arc::new(Connection::with_session_id(
        principal.clone(),
        TransportKind::LegacySse,
        server.kv().clone(),
        id.clone(),
    ));
    server
        .sessions()
        .create(
            id.clone(),
            &principal,
            TransportKind::LegacySse,
            conn.clone(),
        )
        .map_err(|e| HttpError::SessionLimit(e.to_string()))?;
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
    let tasks = state.tasks.clone();
    let guard = OnDrop::new(move || {
        tasks.spawn(async move {
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
    Ok(sse::listen(&state, permit, vec![endpoint], live, guard))
}

/// POST /messages?session_id=…
pub(super) async fn message(
    State(state): State<Arc<HttpState>>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<SessionQuery>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let conn = query
        .session_id
        .as_deref()
        .and_then(SessionId::parse)
        .and_then(|id| state.server.sessions().get(&id, &principal))
        .filter(|c| c.transport() == TransportKind::LegacySse);
    let conn = conn.ok_or_else(|| unknown_session(None))?;
    let stream = conn.primary_stream().ok_or_else(|| unknown_session(None))?;
    let message = read_message(&body)?;
    let server = state.server.clone();
    state.tasks.spawn(async move {
        let out = Outbound::Stream {
            conn: conn.clone(),
            stream,
        };
        let is_request = matches!(message, Message::Request(_));
        if let Some(reply) = server.handle_message(&conn, message, &out).await
            && is_request
        {
            conn.streams().publish(stream, Arc::from(reply.body), false);
        }
    });
    Ok((StatusCode::ACCEPTED, "Accepted").into_response())
}
