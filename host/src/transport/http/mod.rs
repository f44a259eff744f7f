//! The HTTP transport: one axum router serving Streamable HTTP at `/mcp`
//! (both protocol eras), the deprecated HTTP+SSE transport (`/sse`,
//! `/messages`), and `/healthz`, `/readyz`, `/metrics`.
//!
//! [`router`] returns a plain `axum::Router`, so berth can be nested into
//! an existing axum application:
//!
//! ```no_run
//! # async fn example(server: std::sync::Arc<berth::protocol::Server>) {
//! let mcp = berth::transport::http::router(server, berth::transport::http::HttpOptions::default());
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my application" }))
//!     .nest("/tools", mcp); // MCP now at /tools/mcp
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

mod guard;
mod legacy_sse;
mod mcp;
mod ops;
mod sse;

use crate::auth::Authenticator;
use crate::protocol::Server;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
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
    /// How long shutdown waits for calls in flight.
    pub drain_timeout: Duration,
    /// How callers are authenticated (every request).
    pub auth: Arc<Authenticator>,
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
            auth: Arc::new(Authenticator::None),
        }
    }
}

/// What every handler shares.
pub(crate) struct HttpState {
    pub(crate) server: Arc<Server>,
    pub(crate) options: HttpOptions,
    /// Cancelled at shutdown: ends long-lived streams.
    pub(crate) shutdown: CancellationToken,
    /// One permit per open SSE stream.
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
}

/// The router: `/mcp` (or the configured path), `/sse`, `/messages`,
/// `/healthz`, `/readyz`, `/metrics`.
pub fn router(server: Arc<Server>, options: HttpOptions) -> Router {
    router_with_shutdown(server, options, CancellationToken::new())
}

fn router_with_shutdown(
    server: Arc<Server>,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> Router {
    let state = Arc::new(HttpState {
        server,
        streams: Arc::new(tokio::sync::Semaphore::new(options.max_streams)),
        options: options.clone(),
        shutdown,
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
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(mcp)
        .with_state(state)
}

/// Serves `server` on `listener` until `shutdown` is cancelled, then stops
/// accepting, ends streams, waits for calls in flight (up to the drain
/// timeout) and closes every session.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let drain = options.drain_timeout;
    let app = router_with_shutdown(server.clone(), options, shutdown.clone());
    // Small SSE frames must not wait for delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let stopping = shutdown.clone();
    let serving = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stopping.cancelled().await });
    let mut serving = std::pin::pin!(serving.into_future());
    tokio::select! {
        r = &mut serving => r?,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(drain).await;
        } => tracing::warn!("calls still in flight after the drain timeout; closing anyway"),
    }
    server
        .sessions()
        .close_all(crate::session::CloseReason::Shutdown)
        .await;
    Ok(())
}
