//! Connections: the accept loop, each connection's timeouts, the cap on
//! open connections, and the drain at shutdown.
//!
//! berth serves its HTTP/1.1 connections itself rather than with
//! `axum::serve`, which has no way to bound them:
//!
//! - A request's head (request line and headers) must arrive within
//!   `header_read_timeout`, counted from the connection's start or from
//!   the first byte of a later request; a kept-alive connection may wait
//!   `idle_timeout` for its next request. Either way, a connection that
//!   runs out of time with no request in flight is closed. A request in
//!   flight (its handler, then its response body, such as an SSE stream)
//!   is never timed here; `request_timeout` bounds producing its head.
//! - At most `max_connections` are open; more wait in the listen backlog
//!   until one closes. Waiting, rather than accepting and closing at once,
//!   costs no file descriptor, and a legitimate client is served as soon
//!   as the timeouts above free a place, instead of being refused while
//!   slow ones hold every place.
//! - At shutdown the listener closes at once; connections finish the
//!   request in flight (hyper's graceful shutdown) and close. After the
//!   drain timeout the calls still running are stopped
//!   ([`Server::stop_calls`]), which answers each; connections still open
//!   [`STOP_GRACE`] later are closed.
//!
//! Imports only the HTTP stack (hyper, axum's router) and the protocol
//! server it drains.

use super::HttpOptions;
use crate::protocol::Server;
use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::routing::future::RouteFuture;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The default cap on open connections (lowered to what the open-file
/// limit allows).
pub(super) const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// How long connections may still take to close after the calls in flight
/// were stopped (their answers are being written); then they are closed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after an accept failed for
/// want of resources (e.g. file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Connections the open-file limit leaves room for: the soft limit less
/// what is kept for everything else (half of it, at most 128: plugin
/// files and granted directories, the compiled-code cache, the runtime).
pub(super) fn fd_room() -> Option<usize> {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Some(limit - (limit / 2).min(128))
    }
    #[cfg(not(unix))]
    None
}

/// Accepts connections on `listener` and serves `app` on them until
/// `shutdown`; then drains them (see the module docs).
pub(super) async fn run(
    listener: TcpListener,
    app: Router,
    server: &Server,
    options: &HttpOptions,
    shutdown: &CancellationToken,
) {
    let timeouts = Timeouts {
        header_read: options.header_read_timeout,
        idle: options.idle_timeout,
    };
    let max_connections = options.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let places = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    let mut full = false;
    loop {
        let place = match places.clone().try_acquire_owned() {
            Ok(place) => {
                full = false;
                place
            }
            Err(_) => {
                if !full {
                    full = true;
                    tracing::warn!(
                        max_connections,
                        "connection limit reached; new connections wait to be accepted"
                    );
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    place = places.clone().acquire_owned() => match place {
                        Ok(place) => place,
                        Err(_) => break,
                    },
                }
            }
        };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                if !is_connection_error(&e) {
                    tracing::error!(error = %e, "cannot accept connections; retrying in a second");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_RETRY) => {}
                    }
                }
                continue;
            }
        };
        // Small SSE frames must not wait for delayed ACKs.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(
            tcp,
            app.clone(),
            timeouts,
            shutdown.clone(),
            place,
        ));
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        "shutting down: no longer accepting connections; draining"
    );
    drain(connections, server, options.drain_timeout).await;
}

/// A failed accept that concerns one connection only (the peer gave up).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

async fn drain(mut connections: JoinSet<()>, server: &Server, timeout: Duration) {
    if join_all(&mut connections, timeout).await {
        return;
    }
    tracing::warn!(
        connections = connections.len(),
        "calls still running after the drain timeout; stopping them"
    );
    server.stop_calls();
    if join_all(&mut connections, STOP_GRACE).await {
        return;
    }
    tracing::warn!(
        connections = connections.len(),
        "closing connections still open after their calls were stopped"
    );
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Waits up to `timeout` for every connection to end; true if they did.
async fn join_all(connections: &mut JoinSet<()>, timeout: Duration) -> bool {
    tokio::time::timeout(timeout, async {
        while let Some(ended) = connections.join_next().await {
            if let Err(e) = ended
                && e.is_panic()
            {
                tracing::error!(error = %e, "a connection task panicked");
            }
        }
    })
    .await
    .is_ok()
}

/// Serves one connection until it ends, times out, or shutdown finishes
/// its request in flight. Holds its `place` among the open connections.
async fn connection(
    tcp: TcpStream,
    app: Router,
    timeouts: Timeouts,
    shutdown: CancellationToken,
    _place: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new(timeouts));
    let io = TokioIo::new(Watched {
        tcp,
        activity: activity.clone(),
    });
    let service = Tracked {
        app,
        activity: activity.clone(),
    };
    let mut builder = http1::Builder::new();
    // The timeouts are enforced here (hyper's header timer would also run
    // while a kept-alive connection idles).
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                // Idle: closes now. Busy: after the response in flight.
                conn.as_mut().graceful_shutdown();
            }
            () = activity.expired(draining) => {
                tracing::debug!("closing a connection idle or slow to send its request");
                return;
            }
        }
    }
}

/// A connection's two timeouts.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_read: Duration,
    idle: Duration,
}

/// What a connection is doing, as far as its timeouts care.
struct Activity {
    phase: Mutex<Phase>,
    /// Woken when the deadline moves.
    changed: Notify,
    timeouts: Timeouts,
}

struct Phase {
    /// Requests received whose response has not been sent in full.
    busy: usize,
    /// When the connection closes unless a request arrives first; `None`
    /// while busy.
    deadline: Option<Instant>,
    /// The head of the next request is being read (its clock runs).
    reading_head: bool,
}

impl Activity {
    fn new(timeouts: Timeouts) -> Self {
        Self {
            // A new connection owes its first request's head at once.
            phase: Mutex::new(Phase {
                busy: 0,
                deadline: Some(Instant::now() + timeouts.header_read),
                reading_head: true,
            }),
            changed: Notify::new(),
            timeouts,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: on an idle connection, the next request's head has
    /// begun, and has `header_read` to complete.
    fn bytes_read(&self) {
        let mut phase = self.lock();
        if phase.busy == 0 && !phase.reading_head {
            phase.reading_head = true;
            phase.deadline = Some(Instant::now() + self.timeouts.header_read);
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// A request's head has been read: no timeout runs until its response
    /// has been sent (the returned guard is dropped).
    fn request_started(self: &Arc<Self>) -> InFlight {
        let mut phase = self.lock();
        phase.busy += 1;
        phase.deadline = None;
        phase.reading_head = false;
        InFlight(self.clone())
    }

    fn request_ended(&self) {
        let mut phase = self.lock();
        phase.busy = phase.busy.saturating_sub(1);
        if phase.busy == 0 {
            phase.deadline = Some(Instant::now() + self.timeouts.idle);
            phase.reading_head = false;
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Resolves when the connection has run out of time with no request in
    /// flight, or, once `draining`, at once if it is still waiting for a
    /// request's head (hyper closes idle connections itself, after
    /// flushing what they were sent, but waits for a head it has begun).
    async fn expired(&self, draining: bool) {
        loop {
            // Taken before reading the deadline, so no change is missed.
            let changed = self.changed.notified();
            let (deadline, reading_head) = {
                let phase = self.lock();
                (phase.deadline, phase.reading_head)
            };
            match deadline {
                None => changed.await,
                Some(_) if draining && reading_head => return,
                Some(at) if at <= Instant::now() => return,
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = changed => {}
                },
            }
        }
    }
}

/// Marks a request in flight until dropped (with its response body).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// The TCP stream, telling its connection's [`Activity`] when bytes
/// arrive.
struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The router as hyper's service, marking each request in flight from
/// its head until its response body is done.
struct Tracked {
    app: Router,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = TrackedFuture;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        // The router is always ready (its `poll_ready` does nothing), and
        // a clone is a reference count.
        let response = tower::Service::call(&mut self.app.clone(), request);
        TrackedFuture {
            response,
            in_flight: Some(in_flight),
        }
    }
}

/// The router's response future, handing the in-flight mark to the body.
struct TrackedFuture {
    response: RouteFuture<Infallible>,
    in_flight: Option<InFlight>,
}

impl Future for TrackedFuture {
    type Output = Result<hyper::Response<TrackedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(Pin::new(&mut self.response).poll(cx))?;
        let in_flight = self.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            body,
            _in_flight: in_flight,
        })))
    }
}

/// A response body that ends its request's in-flight mark when dropped:
/// hyper drops it once the last frame is taken, or when the connection
/// goes.
struct TrackedBody {
    body: AxumBody,
    _in_flight: Option<InFlight>,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity() -> Arc<Activity> {
        Arc::new(Activity::new(Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }))
    }

    async fn expires_within(activity: &Activity, secs: u64) -> bool {
        tokio::time::timeout(Duration::from_secs(secs), activity.expired(false))
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_owes_its_head_within_the_header_timeout() {
        let a = activity();
        // Bytes trickling in do not extend it.
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(1)).await;
            a.bytes_read();
        }
        assert!(!expires_within(&a, 4).await);
        assert!(expires_within(&a, 2).await);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_are_never_timed_and_idleness_is() {
        let a = activity();
        let request = a.request_started();
        a.bytes_read();
        assert!(!expires_within(&a, 3600).await);
        drop(request);
        // Idle: the idle timeout, not the header one.
        assert!(!expires_within(&a, 59).await);
        assert!(expires_within(&a, 2).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_next_request_has_the_header_timeout_from_its_first_byte() {
        let a = activity();
        drop(a.request_started());
        tokio::time::advance(Duration::from_secs(30)).await;
        a.bytes_read();
        assert!(!expires_within(&a, 9).await);
        assert!(expires_within(&a, 2).await);
    }

    #[tokio::test(start_paused = true)]
    async fn when_draining_only_a_request_in_flight_or_a_finished_one_waits() {
        let a = activity();
        let request = a.request_started();
        let draining = |a: &Arc<Activity>| {
            let a = a.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(1), a.expired(true))
                    .await
                    .is_ok()
            }
        };
        assert!(!draining(&a).await);
        drop(request);
        // Finished: hyper closes it once flushed.
        assert!(!draining(&a).await);
        // A head begun: closed now.
        a.bytes_read();
        assert!(draining(&a).await);
        assert!(draining(&activity()).await);
    }
}
