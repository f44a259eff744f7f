//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdout carries protocol messages only; logs go to stderr. Requests run
//! concurrently (so a cancellation can reach a running call); `initialize`
//! and notifications are handled in order as they arrive. A line that is
//! not UTF-8 gets a parse error (−32700), one over [`MAX_MESSAGE_BYTES`] an
//! invalid-request error (−32600), and the session goes on.

use super::lines::{Line, LineReader};
use crate::auth::Principal;
use crate::protocol::{
    Connection, MAX_IN_FLIGHT, Message, Outbound, RpcError, Server, jsonrpc, next_legacy_notices,
};
use crate::session::{CloseReason, TransportKind};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Messages queued for stdout before senders wait.
const OUT_QUEUE: usize = 1024;

/// Serves one client on `input`/`output` until input ends or `shutdown`
/// is cancelled. Either way, requests in flight finish and their responses
/// are written before this returns; at shutdown, those still running after
/// `drain` are stopped and answered with a "shutting down" error. Every
/// task it spawns runs on `tracker`.
///
/// # Errors
/// An I/O error reading `input` or writing `output`.
pub async fn serve<R, W>(
    server: Arc<Server>,
    input: R,
    mut output: W,
    shutdown: CancellationToken,
    drain: Duration,
    tracker: &TaskTracker,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<String>(OUT_QUEUE);
    let writer = tracker.spawn(async move {
        while let Some(line) = rx.recv().await {
            output.write_all(line.as_bytes()).await?;
            output.write_all(b"\n").await?;
            if rx.is_empty() {
                output.flush().await?;
            }
        }
        output.flush().await
    });
    let out = Outbound::new(tx);
    let conn = Arc::new(Connection::new(
        Principal::anonymous(),
        TransportKind::Stdio,
        server.kv().clone(),
    ));
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    // A legacy session hears about tool-list changes as they happen.
    let forwarder = {
        let mut changes = server.plugins().subscribe();
        let (conn, out) = (conn.clone(), out.clone());
        tracker.spawn(async move {
            while let Some(notices) = next_legacy_notices(&mut changes, &conn).await {
                if conn.session_id().is_some() {
                    for notice in notices {
                        out.notify(notice);
                    }
                }
            }
        })
    };
    let mut tasks = JoinSet::new();
    let mut lines = LineReader::new(BufReader::new(input), MAX_MESSAGE_BYTES);
    let mut failure = None;
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break,
            next = lines.next() => next,
        };
        // Reap finished tasks so the set does not grow with the session.
        while tasks.try_join_next().is_some() {}
        let line = match next {
            Ok(None) => break,
            Ok(Some(Line::Text(line))) => line,
            Ok(Some(bad)) => {
                let e = match bad {
                    Line::TooLong => RpcError::InvalidRequest(format!(
                        "message larger than {MAX_MESSAGE_BYTES} bytes"
                    )),
                    _ => RpcError::Parse("the line is not UTF-8".to_owned()),
                };
                out.send(jsonrpc::error(None, &e)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read stdin; closing");
                failure = Some(e);
                break;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        // Parsed and classified once, here.
        let message = match Message::parse(line) {
            Ok(message) => message,
            Err(rejected) => {
                out.send(jsonrpc::error(rejected.id.as_ref(), &rejected.error))
                    .await;
                continue;
            }
        };
        if message.runs_in_order() {
            if let Some(reply) = server.handle_message(&conn, message, &out).await {
                out.send(reply.body).await;
            }
            continue;
        }
        // Never wait here: a reader that waits for a place cannot read the
        // cancellations that would free one. Over the limit, say so.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let e = RpcError::InvalidRequest(format!(
                "too many requests in flight on this connection (at most {MAX_IN_FLIGHT}); cancel some or wait for their answers"
            ));
            out.send(jsonrpc::error(message.id(), &e)).await;
            continue;
        };
        let (server, conn, out) = (server.clone(), conn.clone(), out.clone());
        tasks.spawn(tracker.track_future(async move {
            if let Some(reply) = server.handle_message(&conn, message, &out).await {
                out.send(reply.body).await;
            }
            drop(permit);
        }));
    }
    // Nothing more can come from the client: calls waiting for its
    // answers fail now rather than at the answer timeout.
    conn.close_input();
    let reason = if shutdown.is_cancelled() {
        // Calls in flight get `drain` to finish; then they are stopped,
        // and each is answered.
        let finished =
            tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            tracing::warn!(
                calls = tasks.len(),
                "calls still running after the drain timeout; stopping them"
            );
            server.stop_calls();
        }
        CloseReason::Shutdown
    } else {
        CloseReason::TransportClosed
    };
    while tasks.join_next().await.is_some() {}
    forwarder.abort();
    server.disconnect(&conn, reason).await;
    drop(out);
    let written = writer
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}
