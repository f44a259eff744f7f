//! The HTTP transport: one axum router serving Streamable HTTP at `/mcp`
//! (both protocol eras), the deprecated HTTP+SSE transport (`/sse`,
//! `/messages`), and `/healthz`, `/readyz`, `/metrics`; and [`serve`],
//! which runs it on a listener with bounded connections and a drain at
//! shutdown (see `conn`).
//!
//! [`router`] returns a plain `axum::Router`, so berth can be nested into
//! an existing axum application (which then owns connection limits);
//! embedders reach it through `Host::router`. Every task a handler spawns
//! runs on the host's task tracker, so shutdown can wait for it.

mod conn;
mod error;
mod guard;
mod legacy_sse;
mod mcp;
mod ops;
mod sse;

use crate::auth::{Anonymous, Authenticate};
use crate::protocol::Server;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;

pub use axum::Router as HttpRouter;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Path of the Streamable HTTP endpoint.
    pub path: String,
    /// Origins allowed besides loopback ones (exact, e.g.
    /// `https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// Accept only loopback `Host` and `Origin` values (plus
    /// `allowed_origins`): DNS-rebinding protection for a local server.
    pub loopback_only: bool,
    /// Largest request body, bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Longest time to produce a response's head (larger: 408).
    pub request_timeout: Duration,
    /// Most requests handled at once; more wait.
    pub max_concurrent_requests: usize,
    /// Most SSE streams open at once (answers, GET streams, listens,
    /// `/sse`); more get 503.
    pub max_streams: usize,
    /// How often idle legacy streams get a server `ping`.
    pub ping_interval: Duration,
    /// How often SSE streams get a keep-alive comment.
    pub keep_alive: Duration,
    /// How long shutdown waits for calls in flight before stopping them.
    pub drain_timeout: Duration,
    /// How long a client has to send a request's head (request line and
    /// headers), from its connection or its first byte; slower: closed.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request;
    /// longer: closed.
    pub idle_timeout: Duration,
    /// Most connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// How callers are authenticated (every request).
    pub auth: Arc<dyn Authenticate>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            path: "/mcp".to_owned(),
            allowed_origins: Vec::new(),
            loopback_only: true,
            max_body_bytes: 4 << 20,
            request_timeout: Duration::from_secs(300),
            max_concurrent_requests: 1024,
            max_streams: 10_000,
            ping_interval: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
            drain_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(),
            auth: Arc::new(Anonymous),
        }
    }
}

/// What every handler shares.
pub(crate) struct HttpState {
    pub(crate) server: Arc<Server>,
    pub(crate) options: HttpOptions,
    /// Cancelled when shutdown starts: ends listen streams (not the
    /// streams answering calls, which the drain waits for).
    pub(crate) shutdown: CancellationToken,
    /// One permit per open SSE stream.
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
    /// Where handlers spawn what outlives them (calls answering on a
    /// stream, feeders, grace timers): the host's tracker, drained at
    /// shutdown.
    pub(crate) tasks: TaskTracker,
}

/// The router: `/mcp` (or the configured path), `/sse`, `/messages`,
/// `/healthz`, `/readyz`, `/metrics`. Handlers spawn on `tasks`; listen
/// streams end when `shutdown` is cancelled.
pub fn router(
    server: Arc<Server>,
    options: HttpOptions,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) -> Router {
    let state = Arc::new(HttpState {
        server,
        streams: Arc::new(tokio::sync::Semaphore::new(options.max_streams)),
        options: options.clone(),
        shutdown,
        tasks,
    });
    let limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|e: tower::BoxError| async move {
            if e.is::<tower::timeout::error::Elapsed>() {
                (StatusCode::REQUEST_TIMEOUT, "request timed out")
            } else {
                tracing::error!(error = %e, "request failed in a middleware layer");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }))
        .timeout(options.request_timeout)
        .concurrency_limit(options.max_concurrent_requests);
    let mcp = Router::new()
        .route(
            &options.path,
            post(mcp::post).get(mcp::get).delete(mcp::delete),
        )
        .route("/sse", get(legacy_sse::open))
        .route("/messages", post(legacy_sse::message))
        .route("/messages/", post(legacy_sse::message))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .layer(limits)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::admit,
        ));
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::admit_ops,
        ));
    ops.merge(mcp).with_state(state)
}

/// The default for [`HttpOptions::max_connections`]: 4096, or fewer when
/// the open-file limit leaves less room (see [`connection_room`]).
pub fn default_max_connections() -> usize {
    connection_room().map_or(conn::DEFAULT_MAX_CONNECTIONS, |room| {
        room.min(conn::DEFAULT_MAX_CONNECTIONS)
    })
}

/// How many connections the process's open-file limit (`RLIMIT_NOFILE`)
/// leaves room for, after keeping descriptors for plugins, their files
/// and the runtime; `None` when unlimited or unknown.
pub fn connection_room() -> Option<usize> {
    conn::fd_room()
}

/// Serves `server` on `listener` until `shutdown` is cancelled, then
/// drains: stops accepting at once, ends listen streams, lets calls in
/// flight finish (their streams carry progress and results) for up to
/// the drain timeout, then stops the rest (each is still answered, with a
/// "shutting down" error) and closes every session.
///
/// # Errors
/// None today: a failed accept is logged and retried (running out of
/// file descriptors must not end the server).
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    options: HttpOptions,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(server.clone(), options.clone(), tasks, shutdown.clone());
    conn::run(listener, app, &server, &options, &shutdown).await;
    server
        .sessions()
        .close_all(crate::session::CloseReason::Shutdown)
        .await;
    Ok(())
}
