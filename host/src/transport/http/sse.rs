//! Server-Sent Events responses: a channel becomes an SSE body that runs
//! a guard when the client goes away. A listen stream also ends when
//! shutdown starts; a call's stream runs to its answer (the drain waits
//! for it).

use super::HttpState;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;

/// One event to send.
pub(super) struct Item {
    /// `event:` name (`None`: the default `message`).
    pub event: Option<&'static str>,
    /// `id:` for resumable streams.
    pub id: Option<String>,
    /// The data (one JSON-RPC message, or the endpoint URL).
    pub data: String,
}

impl Item {
    pub(super) fn message(data: String) -> Self {
        Self {
            event: None,
            id: None,
            data,
        }
    }
}

/// What ends a stream besides its source running dry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// A call's answer: only its source (the call's final message, or the
    /// stop at the end of the drain) ends it.
    WithCall,
    /// A listen stream: also the start of shutdown.
    AtShutdown,
}

/// Runs a closure when dropped: when the response body is dropped, the
/// client has gone (or the stream ended).
pub(super) struct OnDrop(Option<Box<dyn FnOnce() + Send>>);

impl OnDrop {
    pub(super) fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(f)))
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

fn to_event(item: Item) -> Event {
    let mut event = Event::default().data(item.data);
    if let Some(name) = item.event {
        event = event.event(name);
    }
    if let Some(id) = item.id {
        event = event.id(id);
    }
    event
}

/// A place for one more open stream, if the limit allows. Taken before
/// any work starts for the stream, and held by its body.
pub(super) fn permit(state: &HttpState) -> Option<OwnedSemaphorePermit> {
    state.streams.clone().try_acquire_owned().ok()
}

/// An SSE response answering a call: `replay`, then `live` until it ends
/// (the call's answer, which the drain at shutdown waits for). `guard`
/// runs when the body is dropped (finished or client gone); the stream's
/// `permit` is released then too.
pub(super) fn response<S>(
    state: &Arc<HttpState>,
    permit: OwnedSemaphorePermit,
    replay: Vec<Item>,
    live: S,
    guard: OnDrop,
) -> Response
where
    S: Stream<Item = Item> + Send + 'static,
{
    body(state, permit, replay, live, guard, Ends::WithCall)
}

/// A listen stream (GET streams, `/sse`, subscriptions): as [`response`],
/// but it also ends when shutdown starts.
pub(super) fn listen<S>(
    state: &Arc<HttpState>,
    permit: OwnedSemaphorePermit,
    replay: Vec<Item>,
    live: S,
    guard: OnDrop,
) -> Response
where
    S: Stream<Item = Item> + Send + 'static,
{
    body(state, permit, replay, live, guard, Ends::AtShutdown)
}

fn body<S>(
    state: &Arc<HttpState>,
    permit: OwnedSemaphorePermit,
    replay: Vec<Item>,
    live: S,
    guard: OnDrop,
    ends: Ends,
) -> Response
where
    S: Stream<Item = Item> + Send + 'static,
{
    let shutdown = state.shutdown.clone();
    let events = stream::iter(replay)
        .chain(live)
        .map(move |item| {
            // The guard and the permit live as long as the stream does.
            let _ = (&guard, &permit);
            Ok::<_, Infallible>(to_event(item))
        })
        .take_until(async move {
            match ends {
                Ends::AtShutdown => shutdown.cancelled().await,
                Ends::WithCall => std::future::pending().await,
            }
        });
    sse(events, state)
}

fn sse<S>(events: S, state: &HttpState) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.options.keep_alive))
        .into_response();
    // Ask reverse proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
