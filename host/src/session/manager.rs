//! The session manager: every legacy session of every transport, bounded,
//! expiring, bound to its owner, observable.
//!
//! Generic over the per-session value `T` (the protocol layer's connection
//! state), so this module needs nothing from the layers above. A session id
//! is never a credential: looked up by anyone but its owner it does not
//! exist.

use super::id::SessionId;
use super::lifecycle::{CloseReason, SessionEvent, SessionState, TransportKind};
use super::owner::{LimitScope, Owner, OwnerCounts};
use crate::auth::Principal;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Bounds on sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    /// Most sessions in total.
    pub max_sessions: usize,
    /// Most sessions per principal.
    pub max_per_principal: usize,
    /// Idle time after which an HTTP session expires (stdio sessions live
    /// as long as their process). A session with requests in flight is
    /// never idle.
    pub idle_timeout: Duration,
    /// How often idle sessions are looked for.
    pub cleanup_interval: Duration,
    /// How long a request answered on a resumable stream keeps running
    /// after the stream broke, for the client to resume it (zero: it
    /// stops at once).
    pub resume_grace: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 100_000,
            max_per_principal: 10_000,
            idle_timeout: Duration::from_secs(30 * 60),
            cleanup_interval: Duration::from_secs(30),
            resume_grace: Duration::from_secs(5),
        }
    }
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A limit was reached.
    #[error("too many sessions ({limit} allowed {per}); close unused sessions and retry")]
    Full {
        /// The limit.
        limit: usize,
        /// Which limit: in total or per user.
        per: LimitScope,
    },
}

/// Counters since start.
#[derive(Debug, Default)]
pub struct SessionTotals {
    /// Sessions created.
    pub created: AtomicU64,
    /// Sessions closed.
    pub closed: AtomicU64,
    /// Sessions expired.
    pub expired: AtomicU64,
}

/// A point-in-time view for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// Open sessions by (state, transport).
    pub by_state: Vec<((SessionState, TransportKind), usize)>,
    /// Totals since start: created, closed, expired.
    pub totals: (u64, u64, u64),
}

/// The value side of a session: told when its session ends.
pub trait SessionValue: Send + Sync + 'static {
    /// Releases what the session holds (cancels its calls, frees its
    /// state). Called once, after the session is removed.
    fn ended(self: Arc<Self>) -> impl std::future::Future<Output = ()> + Send;

    /// Whether the session is in use (has requests in flight): a busy
    /// session does not idle out, however long its requests take.
    fn busy(&self) -> bool {
        false
    }
}

struct Entry<T> {
    id: SessionId,
    owner: Owner,
    transport: TransportKind,
    state: SessionState,
    last_active: Instant,
    value: Arc<T>,
}

struct Inner<T> {
    sessions: HashMap<SessionId, Entry<T>>,
    owners: OwnerCounts,
}

impl<T> Inner<T> {
    fn remove(&mut self, id: &SessionId) -> Option<Entry<T>> {
        let entry = self.sessions.remove(id)?;
        self.owners.release(&entry.owner);
        Some(entry)
    }
}

/// The sessions of this process.
pub struct SessionManager<T> {
    limits: SessionLimits,
    inner: Mutex<Inner<T>>,
    events: broadcast::Sender<SessionEvent>,
    totals: SessionTotals,
}

impl<T: SessionValue> SessionManager<T> {
    /// An empty manager.
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner {
                sessions: HashMap::new(),
                owners: OwnerCounts::default(),
            }),
            events: broadcast::channel(1024).0,
            totals: SessionTotals::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured limits.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// Subscribes to session events. A slow subscriber misses events
    /// (it sees `Lagged`); it never slows sessions down.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: SessionEvent) {
        // Per-session events are debug: at scale they would be the bulk of
        // the log. Metrics count them at every level.
        match &event {
            SessionEvent::Created { id, transport } => {
                tracing::debug!(session = %id, transport = transport.as_str(), "session created");
            }
            SessionEvent::Initialized { id } => {
                tracing::debug!(session = %id, "session initialized");
            }
            SessionEvent::Closed { id, reason } => {
                tracing::debug!(session = %id, ?reason, "session closed");
            }
            SessionEvent::Expired { id } => tracing::debug!(session = %id, "session expired"),
        }
        let _ = self.events.send(event);
    }

    /// Registers a session owned by `principal`, in state `Initializing`.
    ///
    /// # Errors
    /// [`SessionError::Full`] when a limit is reached.
    pub fn create(
        &self,
        id: SessionId,
        principal: &Principal,
        transport: TransportKind,
        value: Arc<T>,
    ) -> Result<(), SessionError> {
        let owner = Owner::of(principal);
        {
            let mut guard = self.lock();
            let inner = &mut *guard;
            inner
                .owners
                .admit(
                    &owner,
                    inner.sessions.len(),
                    self.limits.max_sessions,
                    self.limits.max_per_principal,
                )
                .map_err(|(limit, per)| SessionError::Full { limit, per })?;
            inner.sessions.insert(
                id.clone(),
                Entry {
                    id: id.clone(),
                    owner,
                    transport,
                    state: SessionState::Initializing,
                    last_active: Instant::now(),
                    value,
                },
            );
        }
        self.totals.created.fetch_add(1, Ordering::Relaxed);
        self.emit(SessionEvent::Created { id, transport });
        Ok(())
    }

    /// The session `id` if it exists, is unexpired and belongs to
    /// `principal`; marks it active.
    pub fn get(&self, id: &SessionId, principal: &Principal) -> Option<Arc<T>> {
        let now = Instant::now();
        let mut inner = self.lock();
        let entry = inner.sessions.get_mut(id)?;
        if entry.owner.tenant != principal.tenant || entry.owner.subject != principal.subject {
            return None;
        }
        if entry.transport != TransportKind::Stdio
            && now.duration_since(entry.last_active) >= self.limits.idle_timeout
            && !entry.value.busy()
        {
            // Expired but not yet swept: treat as gone; the sweep reports it.
            return None;
        }
        entry.last_active = now;
        Some(entry.value.clone())
    }

    /// Marks a session active without looking it up for an owner (the
    /// transport already holds it, e.g. an open stream).
    pub fn touch(&self, id: &SessionId) {
        if let Some(e) = self.lock().sessions.get_mut(id) {
            e.last_active = Instant::now();
        }
    }

    /// Records that the client finished initialization.
    pub fn initialized(&self, id: &SessionId) {
        let changed = {
            let mut inner = self.lock();
            match inner.sessions.get_mut(id) {
                Some(e) if e.state == SessionState::Initializing => {
                    e.state = SessionState::Ready;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.emit(SessionEvent::Initialized { id: id.clone() });
        }
    }

    /// The state of a session, if it is open.
    pub fn state(&self, id: &SessionId) -> Option<SessionState> {
        self.lock().sessions.get(id).map(|e| e.state)
    }

    /// Ends a session. Returns false if it was not open.
    pub async fn close(&self, id: &SessionId, reason: CloseReason) -> bool {
        let removed = self.lock().remove(id);
        let Some(entry) = removed else {
            return false;
        };
        entry.value.ended().await;
        self.totals.closed.fetch_add(1, Ordering::Relaxed);
        self.emit(SessionEvent::Closed {
            id: entry.id,
            reason,
        });
        true
    }

    /// Expires HTTP sessions idle for longer than the timeout and not
    /// busy (a request in flight keeps its session). Returns how many.
    pub async fn expire_idle(&self) -> usize {
        let now = Instant::now();
        let expired: Vec<Entry<T>> = {
            let mut inner = self.lock();
            let ids: Vec<SessionId> = inner
                .sessions
                .values()
                .filter(|e| {
                    e.transport != TransportKind::Stdio
                        && now.duration_since(e.last_active) >= self.limits.idle_timeout
                        && !e.value.busy()
                })
                .map(|e| e.id.clone())
                .collect();
            ids.iter().filter_map(|id| inner.remove(id)).collect()
        };
        let n = expired.len();
        for entry in expired {
            entry.value.ended().await;
            self.totals.expired.fetch_add(1, Ordering::Relaxed);
            self.emit(SessionEvent::Expired { id: entry.id });
        }
        n
    }

    /// Closes every session (shutdown).
    pub async fn close_all(&self, reason: CloseReason) {
        let ids: Vec<SessionId> = self.lock().sessions.keys().cloned().collect();
        for id in ids {
            self.close(&id, reason).await;
        }
    }

    /// Number of open sessions.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts for metrics.
    pub fn snapshot(&self) -> SessionSnapshot {
        let mut by_state: HashMap<(SessionState, TransportKind), usize> = HashMap::new();
        for e in self.lock().sessions.values() {
            *by_state.entry((e.state, e.transport)).or_default() += 1;
        }
        let mut by_state: Vec<_> = by_state.into_iter().collect();
        by_state.sort_by_key(|((s, t), _)| (s.as_str(), t.as_str()));
        SessionSnapshot {
            by_state,
            totals: (
                self.totals.created.load(Ordering::Relaxed),
                self.totals.closed.load(Ordering::Relaxed),
                self.totals.expired.load(Ordering::Relaxed),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[derive(Default)]
    struct Value {
        ended: AtomicBool,
        busy: AtomicBool,
    }

    impl SessionValue for Value {
        async fn ended(self: Arc<Self>) {
            self.ended.store(true, Ordering::SeqCst);
        }

        fn busy(&self) -> bool {
            self.busy.load(Ordering::SeqCst)
        }
    }

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: Arc::from(subject),
            ..Principal::anonymous()
        }
    }

    fn manager(limits: SessionLimits) -> SessionManager<Value> {
        SessionManager::new(limits)
    }

    #[tokio::test]
    async fn a_session_is_found_only_by_its_owner_and_closing_ends_it() {
        let m = manager(SessionLimits::default());
        let mut events = m.subscribe();
        let id = SessionId::generate().unwrap();
        let value = Arc::new(Value::default());
        m.create(
            id.clone(),
            &principal("a"),
            TransportKind::StreamableHttp,
            value.clone(),
        )
        .unwrap();
        assert!(m.get(&id, &principal("a")).is_some());
        assert!(m.get(&id, &principal("b")).is_none());
        assert_eq!(m.state(&id), Some(SessionState::Initializing));
        m.initialized(&id);
        assert_eq!(m.state(&id), Some(SessionState::Ready));
        assert!(m.close(&id, CloseReason::ClientRequest).await);
        assert!(!m.close(&id, CloseReason::ClientRequest).await);
        assert!(value.ended.load(Ordering::SeqCst));
        assert!(m.get(&id, &principal("a")).is_none());
        assert!(matches!(
            events.recv().await.unwrap(),
            SessionEvent::Created { .. }
        ));
        assert!(matches!(
            events.recv().await.unwrap(),
            SessionEvent::Initialized { .. }
        ));
        assert_eq!(
            events.recv().await.unwrap(),
            SessionEvent::Closed {
                id,
                reason: CloseReason::ClientRequest
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_http_sessions_expire_and_stdio_sessions_do_not() {
        let m = manager(SessionLimits {
            idle_timeout: Duration::from_secs(60),
            ..SessionLimits::default()
        });
        let (http, stdio, busy) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        let value = Arc::new(Value::default());
        let p = principal("a");
        m.create(
            http.clone(),
            &p,
            TransportKind::StreamableHttp,
            value.clone(),
        )
        .unwrap();
        m.create(stdio.clone(), &p, TransportKind::Stdio, Arc::default())
            .unwrap();
        m.create(busy.clone(), &p, TransportKind::LegacySse, Arc::default())
            .unwrap();
        tokio::time::advance(Duration::from_secs(45)).await;
        assert!(m.get(&busy, &p).is_some());
        tokio::time::advance(Duration::from_secs(20)).await;
        // Past its timeout, a session is gone even before the sweep.
        assert!(m.get(&http, &p).is_none());
        assert_eq!(m.expire_idle().await, 1);
        assert!(value.ended.load(Ordering::SeqCst));
        assert!(m.get(&busy, &p).is_some());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(m.expire_idle().await, 1);
        assert!(m.get(&stdio, &p).is_some());
        let snap = m.snapshot();
        assert_eq!(snap.totals, (3, 0, 2));
        assert_eq!(
            snap.by_state,
            vec![((SessionState::Initializing, TransportKind::Stdio), 1)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_with_a_request_in_flight_does_not_idle_out() {
        let m = manager(SessionLimits {
            idle_timeout: Duration::from_secs(60),
            ..SessionLimits::default()
        });
        let id = SessionId::generate().unwrap();
        let value = Arc::new(Value::default());
        let p = principal("a");
        m.create(id.clone(), &p, TransportKind::StreamableHttp, value.clone())
            .unwrap();
        value.busy.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(m.expire_idle().await, 0);
        assert!(m.get(&id, &p).is_some(), "a busy session is found");
        // The request ends and touches it: idle from then on.
        value.busy.store(false, Ordering::SeqCst);
        m.touch(&id);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(m.expire_idle().await, 0);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(m.expire_idle().await, 1);
        assert!(value.ended.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn session_limits_are_enforced_in_total_and_per_principal() {
        let m = manager(SessionLimits {
            max_sessions: 3,
            max_per_principal: 2,
            ..SessionLimits::default()
        });
        let add = |who: &str| {
            m.create(
                SessionId::generate().unwrap(),
                &principal(who),
                TransportKind::StreamableHttp,
                Arc::default(),
            )
        };
        add("a").unwrap();
        add("a").unwrap();
        assert_eq!(
            add("a"),
            Err(SessionError::Full {
                limit: 2,
                per: LimitScope::PerUser
            })
        );
        add("b").unwrap();
        assert_eq!(
            add("c"),
            Err(SessionError::Full {
                limit: 3,
                per: LimitScope::Total
            })
        );
        m.close_all(CloseReason::Shutdown).await;
        assert!(m.is_empty());
        add("c").unwrap();
        let full = SessionError::Full {
            limit: 3,
            per: LimitScope::Total,
        };
        assert_eq!(
            full.to_string(),
            "too many sessions (3 allowed in total); close unused sessions and retry"
        );
    }
}
