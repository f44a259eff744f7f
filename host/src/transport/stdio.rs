//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.
//!
//! stdout carries protocol messages only; logs go to stderr. Requests run
//! concurrently (so a cancellation can reach a running call); `initialize`
//! and notifications are handled in order as they arrive. A line that is
//! not UTF-8 gets a parse error (−32700), one over [`MAX_MESSAGE_BYTES`] an
//! invalid-request error (−32600), and the session goes on.

use super::lines::{Line, LineReader};
use crate::auth::Principal;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::{
    Connection, MAX_IN_FLIGHT, Outbound, RpcError, Server, jsonrpc, next_legacy_notices,
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
        if runs_inline(line) {
            if let Some(resp) = server.handle(&conn, line, &out).await {
                out.send(resp).await;
            }
            continue;
        }
        // Never wait here: a reader that waits for a place cannot read the
        // cancellations that would free one. Over the limit, say so.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let e = RpcError::InvalidRequest(format!(
                "too many requests in flight on this connection (at most {MAX_IN_FLIGHT}); cancel some or wait for their answers"
            ));
            out.send(jsonrpc::error(request_id(line).as_ref(), &e))
                .await;
            continue;
        };
        let (server, conn, out, line) =
            (server.clone(), conn.clone(), out.clone(), line.to_owned());
        tasks.spawn(tracker.track_future(async move {
            if let Some(resp) = server.handle(&conn, &line, &out).await {
                out.send(resp).await;
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

/// The id of a request line, if it has a usable one.
fn request_id(line: &str) -> Option<RequestId> {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    serde_json::from_str::<Peek>(line)
        .ok()?
        .id
        .as_ref()
        .and_then(RequestId::from_value)
}

/// Notifications, responses and `initialize` are handled in arrival order:
/// they are quick, and later requests depend on them. Everything else runs
/// concurrently, so a cancellation can reach a call that is running.
fn runs_inline(line: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow, default)]
        method: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        id: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_str::<Peek<'_>>(line) {
        Ok(peek) => peek.id.is_none() || peek.method.as_deref() == Some("initialize"),
        // Not a message object: the protocol answers with an error at once.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::runs_inline;

    #[test]
    fn only_notifications_responses_and_initialize_run_inline() {
        assert!(runs_inline(
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#
        ));
        assert!(runs_inline(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
        ));
        assert!(runs_inline("not json"));
        // A call that merely mentions initialize must not block the reader.
        assert!(!runs_inline(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"text":"initialize"}}}"#
        ));
        assert!(!runs_inline(r#"{"id":3,"jsonrpc":"2.0","method":"ping"}"#));
    }
}
