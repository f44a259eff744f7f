//! Resumable server-to-client streams of a legacy session.
//!
//! Every message sent on a session's SSE streams gets an event id
//! `<stream>-<seq>`, unique within the session, and is kept in a bounded
//! log. A client whose stream broke reconnects with `Last-Event-ID` and
//! gets the rest of *that* stream (never another stream's events), then
//! whatever the stream still produces. Transport-agnostic: the HTTP
//! transport attaches and detaches its response bodies.
//!
//! A stream that answers a request knows its id: when the stream is
//! detached and not re-attached within the transport's grace, the request
//! is abandoned (see [`StreamLog::detach`] and [`StreamLog::abandon`]).

use super::jsonrpc::RequestId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Most events kept per session for replay.
pub const MAX_LOGGED_EVENTS: usize = 64;
/// Most bytes of events kept per session for replay.
pub const MAX_LOGGED_BYTES: usize = 256 * 1024;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// `<stream>-<seq>`.
    pub id: String,
    /// The JSON-RPC message.
    pub data: Arc<str>,
}

struct Logged {
    stream: u64,
    seq: u64,
    data: Arc<str>,
}

#[derive(Default)]
struct StreamState {
    next_seq: u64,
    finished: bool,
    /// Events of this stream still in the log.
    logged: usize,
    live: Option<mpsc::Sender<StreamEvent>>,
    /// The request this stream answers, if any.
    request: Option<RequestId>,
    /// Bumped on every attach and detach, so a late check can tell that
    /// the stream was resumed (or broke again) since.
    generation: u64,
    /// Its request was given up on: the stream was not resumed in time.
    abandoned: bool,
}

/// What became of a published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for the live receiver.
    Live,
    /// The live receiver's queue was full: it is detached (its stream ends
    /// once drained) and the event kept for replay only.
    Overflow,
    /// No live receiver (kept for replay), or no such stream.
    Detached,
}

/// A stream that answers a request, detached while the request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// The request it answers.
    pub request: RequestId,
    generation: u64,
}

#[derive(Default)]
struct Inner {
    next_stream: u64,
    streams: HashMap<u64, StreamState>,
    log: VecDeque<Logged>,
    bytes: usize,
}

/// The streams of one session.
#[derive(Default)]
pub struct StreamLog {
    inner: Mutex<Inner>,
}

/// What a resumption yields.
pub struct Resumed {
    /// The stream being resumed.
    pub stream: u64,
    /// Events after the client's last one, in order.
    pub replay: Vec<StreamEvent>,
    /// Whether the stream has ended (nothing more will come).
    pub finished: bool,
}

impl StreamLog {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a new stream delivering to `live`, answering `request` if
    /// given; returns its id.
    pub fn open(&self, live: mpsc::Sender<StreamEvent>, request: Option<RequestId>) -> u64 {
        let mut inner = self.lock();
        inner.next_stream += 1;
        let id = inner.next_stream;
        inner.streams.insert(
            id,
            StreamState {
                live: Some(live),
                request,
                ..StreamState::default()
            },
        );
        id
    }

    /// Sends `data` on `stream` (and keeps it for replay). `last` ends the
    /// stream after this event. A detached or slow receiver misses the live
    /// event but can get it by resuming; a receiver whose queue is full is
    /// detached ([`Delivery::Overflow`]).
    pub fn publish(&self, stream: u64, data: Arc<str>, last: bool) -> Delivery {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(state) = inner.streams.get_mut(&stream) else {
            return Delivery::Detached;
        };
        state.next_seq += 1;
        let seq = state.next_seq;
        let event = StreamEvent {
            id: format!("{stream}-{seq}"),
            data: data.clone(),
        };
        let delivery = match state.live.as_ref().map(|live| live.try_send(event)) {
            Some(Ok(())) => Delivery::Live,
            Some(Err(TrySendError::Full(_))) => {
                state.live = None;
                Delivery::Overflow
            }
            Some(Err(TrySendError::Closed(_))) => {
                state.live = None;
                Delivery::Detached
            }
            None => Delivery::Detached,
        };
        if last {
            state.finished = true;
            state.live = None;
        }
        state.logged += 1;
        inner.bytes += data.len();
        inner.log.push_back(Logged { stream, seq, data });
        while inner.log.len() > MAX_LOGGED_EVENTS || inner.bytes > MAX_LOGGED_BYTES {
            let Some(old) = inner.log.pop_front() else {
                break;
            };
            inner.bytes -= old.data.len();
            // Forget a finished stream once none of it can be replayed.
            if let Some(s) = inner.streams.get_mut(&old.stream) {
                s.logged -= 1;
                if s.finished && s.logged == 0 {
                    inner.streams.remove(&old.stream);
                }
            }
        }
        delivery
    }

    /// Ends `stream` without a further event (e.g. its request was
    /// cancelled and gets no response).
    pub fn finish(&self, stream: u64) {
        if let Some(s) = self.lock().streams.get_mut(&stream) {
            s.finished = true;
            s.live = None;
        }
    }

    /// Ends every stream (the session is over): their receivers see the
    /// end of the stream.
    pub fn close_all(&self) {
        for s in self.lock().streams.values_mut() {
            s.finished = true;
            s.live = None;
        }
    }

    /// Whether `stream` still has a live receiver.
    pub fn is_live(&self, stream: u64) -> bool {
        self.lock()
            .streams
            .get(&stream)
            .is_some_and(|s| s.live.as_ref().is_some_and(|l| !l.is_closed()))
    }

    /// Free places in `stream`'s live queue (0 when it has no live
    /// receiver).
    pub fn room(&self, stream: u64) -> usize {
        self.lock()
            .streams
            .get(&stream)
            .and_then(|s| s.live.as_ref())
            .map_or(0, |l| if l.is_closed() { 0 } else { l.capacity() })
    }

    /// The receiver of `stream` went away (the HTTP response closed). If
    /// the stream answers a request that has not finished, returns what
    /// [`Self::abandoned`] needs to tell later whether it was resumed.
    pub fn detach(&self, stream: u64) -> Option<Detached> {
        let mut inner = self.lock();
        let s = inner.streams.get_mut(&stream)?;
        s.live = None;
        s.generation += 1;
        if s.finished {
            return None;
        }
        Some(Detached {
            request: s.request.clone()?,
            generation: s.generation,
        })
    }

    /// Marks `stream`'s request abandoned if the stream is still detached
    /// as `detached` left it (not resumed since, request not finished);
    /// returns whether it did.
    pub fn abandon(&self, stream: u64, detached: &Detached) -> bool {
        let mut inner = self.lock();
        let Some(s) = inner.streams.get_mut(&stream) else {
            return false;
        };
        let still = !s.finished && s.live.is_none() && s.generation == detached.generation;
        s.abandoned |= still;
        still
    }

    /// Whether `stream`'s request was abandoned ([`Self::abandon`]).
    pub fn is_abandoned(&self, stream: u64) -> bool {
        self.lock()
            .streams
            .get(&stream)
            .is_some_and(|s| s.abandoned)
    }

    /// Resumes after event `last_event_id`, delivering future events of
    /// that stream to `live`. `None` if the id is unknown or malformed.
    pub fn resume(&self, last_event_id: &str, live: mpsc::Sender<StreamEvent>) -> Option<Resumed> {
        let (stream, seq) = last_event_id.split_once('-')?;
        let (stream, seq): (u64, u64) = (stream.parse().ok()?, seq.parse().ok()?);
        let mut inner = self.lock();
        let replay = inner
            .log
            .iter()
            .filter(|l| l.stream == stream && l.seq > seq)
            .map(|l| StreamEvent {
                id: format!("{}-{}", l.stream, l.seq),
                data: l.data.clone(),
            })
            .collect();
        let state = inner.streams.get_mut(&stream)?;
        if !state.finished {
            state.live = Some(live);
            state.generation += 1;
        }
        Some(Resumed {
            stream,
            replay,
            finished: state.finished,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_replays_only_the_rest_of_that_stream_then_continues_live() {
        let log = StreamLog::default();
        let (tx1, mut rx1) = mpsc::channel(8);
        let (tx2, _rx2) = mpsc::channel(8);
        let a = log.open(tx1, None);
        let b = log.open(tx2, None);
        log.publish(a, Arc::from("a1"), false);
        log.publish(b, Arc::from("b1"), false);
        log.publish(a, Arc::from("a2"), false);
        assert_eq!(rx1.try_recv().unwrap().id, format!("{a}-1"));
        // The client saw a-1, then its connection broke.
        log.detach(a);
        log.publish(a, Arc::from("a3"), false);
        let (tx3, mut rx3) = mpsc::channel(8);
        let resumed = log.resume(&format!("{a}-1"), tx3).unwrap();
        let replayed: Vec<&str> = resumed.replay.iter().map(|e| &*e.data).collect();
        assert_eq!(replayed, ["a2", "a3"]);
        assert!(!resumed.finished);
        log.publish(a, Arc::from("a4"), true);
        assert_eq!(&*rx3.try_recv().unwrap().data, "a4");
        let (tx4, _) = mpsc::channel(8);
        let again = log.resume(&format!("{a}-3"), tx4).unwrap();
        assert!(again.finished);
        assert_eq!(again.replay.len(), 1);
        assert!(log.resume("nonsense", mpsc::channel(1).0).is_none());
        assert!(log.resume("99-0", mpsc::channel(1).0).is_none());
    }

    #[test]
    fn a_detached_request_stream_is_abandoned_unless_resumed_or_finished() {
        let log = StreamLog::default();
        let request = RequestId::Number(7);
        let s = log.open(mpsc::channel(8).0, Some(request.clone()));
        log.publish(s, Arc::from("p1"), false);
        let first = log.detach(s).unwrap();
        assert_eq!(first.request, request);
        // Resumed: not abandoned, even if it breaks again later.
        let (tx, _rx) = mpsc::channel(8);
        log.resume(&format!("{s}-1"), tx).unwrap();
        assert!(!log.abandon(s, &first));
        let second = log.detach(s).unwrap();
        assert!(!log.abandon(s, &first));
        assert!(!log.is_abandoned(s));
        assert!(log.abandon(s, &second));
        assert!(log.is_abandoned(s));
        // Finished: nothing left to abandon.
        log.publish(s, Arc::from("done"), true);
        assert!(!log.abandon(s, &second));
        assert_eq!(log.detach(s), None);
        // A stream that answers no request is never abandoned.
        let feed = log.open(mpsc::channel(8).0, None);
        assert_eq!(log.detach(feed), None);
    }

    #[test]
    fn a_receiver_that_does_not_keep_up_is_detached() {
        let log = StreamLog::default();
        let (tx, mut rx) = mpsc::channel(1);
        let s = log.open(tx, None);
        assert_eq!(log.room(s), 1);
        assert_eq!(log.publish(s, Arc::from("a"), false), Delivery::Live);
        assert_eq!(log.room(s), 0);
        assert_eq!(log.publish(s, Arc::from("b"), false), Delivery::Overflow);
        assert_eq!(log.publish(s, Arc::from("c"), false), Delivery::Detached);
        assert_eq!(&*rx.try_recv().unwrap().data, "a");
        assert!(rx.try_recv().is_err(), "the receiver is cut off");
        assert!(!log.is_live(s));
    }

    #[test]
    fn the_log_is_bounded() {
        let log = StreamLog::default();
        let (tx, _rx) = mpsc::channel(1);
        let s = log.open(tx, None);
        for i in 0..(MAX_LOGGED_EVENTS * 2) {
            log.publish(s, Arc::from(i.to_string()), false);
        }
        let r = log.resume(&format!("{s}-0"), mpsc::channel(1).0).unwrap();
        assert_eq!(r.replay.len(), MAX_LOGGED_EVENTS);
    }
}
