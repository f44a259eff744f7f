//! Modern-era state handles: explicit, unguessable session scopes that a
//! client passes to stateful tools (the protocol has no session).
//!
//! A handle is bound to the principal that opened it; presented by anyone
//! else it is indistinguishable from an unknown handle. Expiry slides: each
//! use extends it by the TTL.

use super::id::{RandomnessError, random_token};
use super::owner::{LimitScope, Owner, OwnerCounts};
use crate::auth::{Principal, TenantId};
use crate::kv::{ScopeId, ScopeKey, SharedKv};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Bounds on handles.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandleLimits {
    /// Idle time after which a handle expires.
    pub ttl: Duration,
    /// Most open handles in total.
    pub max_total: usize,
    /// Most open handles per principal.
    pub max_per_principal: usize,
}

impl Default for HandleLimits {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            max_total: 100_000,
            max_per_principal: 1_000,
        }
    }
}

/// Why a handle cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// Unknown, closed, expired, or owned by someone else (never told apart,
    /// so a handle cannot be probed).
    #[error("unknown or expired session handle")]
    Unknown,
    /// Too many handles are open.
    #[error("too many open sessions ({limit} allowed {per})")]
    Full {
        /// The limit hit.
        limit: usize,
        /// Which limit: in total or per user.
        per: LimitScope,
    },
    /// No handle could be made: the OS random source failed (a server
    /// fault, not the caller's).
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

/// A handle just opened.
#[derive(Debug, Clone)]
pub struct HandleInfo {
    /// The opaque handle to give the client.
    pub handle: String,
    /// Its idle TTL.
    pub ttl: Duration,
}

struct Entry {
    owner: Owner,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    handles: HashMap<Arc<str>, Entry>,
    owners: OwnerCounts,
}

impl Inner {
    fn remove(&mut self, handle: &str) -> Option<Entry> {
        let entry = self.handles.remove(handle)?;
        self.owners.release(&entry.owner);
        Some(entry)
    }
}

/// The open handles of this process.
pub struct HandleStore {
    limits: HandleLimits,
    kv: SharedKv,
    inner: Mutex<Inner>,
}

impl HandleStore {
    /// An empty store that frees state in `kv` when handles end.
    pub fn new(limits: HandleLimits, kv: SharedKv) -> Self {
        Self {
            limits,
            kv,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured limits.
    pub fn limits(&self) -> &HandleLimits {
        &self.limits
    }

    /// Opens a handle for `principal`.
    ///
    /// # Errors
    /// [`HandleError::Full`] when a limit is reached;
    /// [`HandleError::Randomness`] when no handle can be made.
    pub async fn open(&self, principal: &Principal) -> Result<HandleInfo, HandleError> {
        let owner = Owner::of(principal);
        let handle = random_token("bs_")?;
        match self.admit(&owner, &handle) {
            // A limit may be held up only by handles that already expired:
            // reclaim them (a full sweep, so only when needed) and retry.
            Err(HandleError::Full { .. }) => {
                self.purge_expired().await;
                self.admit(&owner, &handle)?;
            }
            other => other?,
        }
        Ok(HandleInfo {
            handle,
            ttl: self.limits.ttl,
        })
    }

    fn admit(&self, owner: &Owner, handle: &str) -> Result<(), HandleError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner
            .owners
            .admit(
                owner,
                inner.handles.len(),
                self.limits.max_total,
                self.limits.max_per_principal,
            )
            .map_err(|(limit, per)| HandleError::Full { limit, per })?;
        inner.handles.insert(
            Arc::from(handle),
            Entry {
                owner: owner.clone(),
                expires: Instant::now() + self.limits.ttl,
            },
        );
        Ok(())
    }

    /// Checks that `handle` is open, unexpired and owned by `principal`,
    /// extends its expiry, and returns its kv scope.
    ///
    /// # Errors
    /// [`HandleError::Unknown`] otherwise.
    pub fn resolve(&self, handle: &str, principal: &Principal) -> Result<ScopeKey, HandleError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let entry = inner.handles.get_mut(handle).ok_or(HandleError::Unknown)?;
        if entry.owner != Owner::of(principal) || entry.expires <= now {
            return Err(HandleError::Unknown);
        }
        entry.expires = now + self.limits.ttl;
        Ok(scope_of(handle, &principal.tenant))
    }

    /// Closes `handle` and frees its state. Returns false if it was not an
    /// open handle of `principal`.
    pub async fn close(&self, handle: &str, principal: &Principal) -> bool {
        let removed = {
            let mut inner = self.lock();
            let owned = inner
                .handles
                .get(handle)
                .is_some_and(|e| e.owner == Owner::of(principal));
            owned.then(|| inner.remove(handle)).flatten()
        };
        match removed {
            Some(entry) => {
                self.free(handle, &entry.owner.tenant).await;
                true
            }
            None => false,
        }
    }

    /// Expires idle handles and frees their state. Returns how many.
    pub async fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let expired: Vec<(Arc<str>, TenantId)> = {
            let mut inner = self.lock();
            let ids: Vec<Arc<str>> = inner
                .handles
                .iter()
                .filter(|(_, e)| e.expires <= now)
                .map(|(k, _)| k.clone())
                .collect();
            ids.into_iter()
                .filter_map(|id| inner.remove(&id).map(|e| (id, e.owner.tenant)))
                .collect()
        };
        for (id, tenant) in &expired {
            self.free(id, tenant).await;
        }
        expired.len()
    }

    /// Number of open handles.
    pub fn len(&self) -> usize {
        self.lock().handles.len()
    }

    /// True when no handle is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn free(&self, handle: &str, tenant: &TenantId) {
        if let Err(e) = self.kv.drop_scope(&scope_of(handle, tenant)).await {
            tracing::warn!(error = %e, "could not free the state of a closed session handle");
        }
    }
}

fn scope_of(handle: &str, tenant: &TenantId) -> ScopeKey {
    ScopeKey {
        tenant: tenant.clone(),
        scope: ScopeId::Session(Arc::from(handle)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{KvLimits, MemoryStore, Namespace};

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: Arc::from(subject),
            ..Principal::anonymous()
        }
    }

    fn store(limits: HandleLimits) -> (HandleStore, Arc<MemoryStore>) {
        let kv = Arc::new(MemoryStore::new(KvLimits::default()));
        (HandleStore::new(limits, kv.clone()), kv)
    }

    #[tokio::test(start_paused = true)]
    async fn a_handle_resolves_only_for_its_owner_until_it_idles_out() {
        let (handles, _) = store(HandleLimits {
            ttl: Duration::from_secs(60),
            ..HandleLimits::default()
        });
        let alice = principal("alice");
        let info = handles.open(&alice).await.unwrap();
        assert!(info.handle.starts_with("bs_"));
        assert!(handles.resolve(&info.handle, &alice).is_ok());
        assert_eq!(
            handles.resolve(&info.handle, &principal("mallory")),
            Err(HandleError::Unknown)
        );
        // Use slides the expiry.
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(handles.resolve(&info.handle, &alice).is_ok());
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(handles.resolve(&info.handle, &alice).is_ok());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            handles.resolve(&info.handle, &alice),
            Err(HandleError::Unknown)
        );
        assert_eq!(handles.purge_expired().await, 1);
        assert!(handles.is_empty());
    }

    #[tokio::test]
    async fn closing_frees_state_and_only_the_owner_may_close() {
        let (handles, kv) = store(HandleLimits::default());
        let alice = principal("alice");
        let info = handles.open(&alice).await.unwrap();
        let scope = handles.resolve(&info.handle, &alice).unwrap();
        let ns = Namespace {
            scope,
            plugin: Arc::from("counter"),
        };
        kv.set_now(&ns, "count", b"3".to_vec(), None).unwrap();
        assert!(!handles.close(&info.handle, &principal("bob")).await);
        assert!(handles.close(&info.handle, &alice).await);
        assert!(!handles.close(&info.handle, &alice).await);
        assert_eq!(kv.get_now(&ns, "count").unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_handles_make_room_when_the_store_is_full() {
        let (handles, _) = store(HandleLimits {
            ttl: Duration::from_secs(10),
            max_total: 1,
            ..HandleLimits::default()
        });
        let a = principal("a");
        handles.open(&a).await.unwrap();
        assert!(matches!(
            handles.open(&a).await,
            Err(HandleError::Full { .. })
        ));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(handles.open(&a).await.is_ok());
        assert_eq!(handles.len(), 1);
    }

    #[tokio::test]
    async fn limits_on_open_handles_are_enforced() {
        let (handles, _) = store(HandleLimits {
            max_total: 3,
            max_per_principal: 2,
            ..HandleLimits::default()
        });
        let a = principal("a");
        handles.open(&a).await.unwrap();
        let second = handles.open(&a).await.unwrap();
        assert!(matches!(
            handles.open(&a).await,
            Err(HandleError::Full {
                per: LimitScope::PerUser,
                ..
            })
        ));
        handles.open(&principal("b")).await.unwrap();
        assert!(matches!(
            handles.open(&principal("c")).await,
            Err(HandleError::Full {
                per: LimitScope::Total,
                ..
            })
        ));
        assert!(handles.close(&second.handle, &a).await);
        assert!(handles.open(&a).await.is_ok());
        let full = HandleError::Full {
            limit: 2,
            per: LimitScope::PerUser,
        };
        assert_eq!(
            full.to_string(),
            "too many open sessions (2 allowed per user)"
        );
    }

    #[tokio::test]
    async fn without_os_randomness_no_handle_opens_and_nothing_is_counted() {
        let (handles, _) = store(HandleLimits {
            max_per_principal: 1,
            ..HandleLimits::default()
        });
        let a = principal("a");
        {
            let _failing = crate::session::failing_randomness::Guard::new();
            assert!(matches!(
                handles.open(&a).await,
                Err(HandleError::Randomness(_))
            ));
        }
        assert!(handles.is_empty());
        assert!(handles.open(&a).await.is_ok());
    }
}
