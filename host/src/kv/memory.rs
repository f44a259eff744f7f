//! The in-memory [`KvStore`]: bounded, expiring, quota-checked.
//!
//! One std mutex guards everything; no lock is held across an `.await`
//! (every method is synchronous inside its ready future).

use super::{KvError, KvFuture, KvLimits, KvStore, Namespace, ScopeKey, check_key};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// What one entry costs beyond its key and value bytes (map node, expiry,
/// allocation headers), counted against every quota: without it, many
/// empty values would fill memory while the quota saw almost nothing.
pub const ENTRY_OVERHEAD_BYTES: usize = 128;

/// An entry's size as the quotas count it.
fn entry_size(key: &str, value_len: usize) -> usize {
    key.len() + value_len + ENTRY_OVERHEAD_BYTES
}

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

#[derive(Default)]
struct NsData {
    entries: BTreeMap<String, Entry>,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    scopes: HashMap<ScopeKey, HashMap<Arc<str>, NsData>>,
    total_bytes: usize,
}

/// The embedded default store. Expired entries are invisible at once and
/// reclaimed by [`KvStore::purge_expired`] (run periodically by the server)
/// or when their key is touched.
pub struct MemoryStore {
    limits: KvLimits,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store with these limits.
    pub fn new(limits: KvLimits) -> Self {
        Self {
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // in a way that matters more than losing the whole store would.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Synchronous get (the trait wraps it in a ready future).
    pub fn get_now(&self, ns: &Namespace, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key, &self.limits)?;
        let now = Instant::now();
        let inner = self.lock();
        Ok(inner
            .scopes
            .get(&ns.scope)
            .and_then(|plugins| plugins.get(&ns.plugin))
            .and_then(|data| data.entries.get(key))
            .filter(|e| e.live(now))
            .map(|e| e.value.clone()))
    }

    /// Synchronous set.
    pub fn set_now(
        &self,
        ns: &Namespace,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<(), KvError> {
        check_key(key, &self.limits)?;
        let limits = &self.limits;
        if value.len() > limits.max_value_bytes {
            return Err(KvError::QuotaExceeded {
                quota: "value size",
                limit: limits.max_value_bytes,
            });
        }
        let now = Instant::now();
        let expires = ttl.map(|d| now + d);
        let mut guard = self.lock();
        let inner = &mut *guard;
        let data = inner
            .scopes
            .entry(ns.scope.clone())
            .or_default()
            .entry(ns.plugin.clone())
            .or_default();
        let new_size = entry_size(key, value.len());
        let old_size = data
            .entries
            .get(key)
            .map(|e| entry_size(key, e.value.len()));
        let is_new = old_size.is_none();
        if is_new && data.entries.len() >= limits.max_keys_per_namespace {
            return Err(KvError::QuotaExceeded {
                quota: "keys per scope",
                limit: limits.max_keys_per_namespace,
            });
        }
        let old_size = old_size.unwrap_or(0);
        if data.bytes - old_size + new_size > limits.max_bytes_per_namespace {
            return Err(KvError::QuotaExceeded {
                quota: "bytes per scope",
                limit: limits.max_bytes_per_namespace,
            });
        }
        if inner.total_bytes - old_size + new_size > limits.max_total_bytes {
            return Err(KvError::QuotaExceeded {
                quota: "store size",
                limit: limits.max_total_bytes,
            });
        }
        data.bytes = data.bytes - old_size + new_size;
        inner.total_bytes = inner.total_bytes - old_size + new_size;
        data.entries
            .insert(key.to_owned(), Entry { value, expires });
        Ok(())
    }

    /// Synchronous delete.
    pub fn delete_now(&self, ns: &Namespace, key: &str) -> Result<bool, KvError> {
        check_key(key, &self.limits)?;
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(plugins) = inner.scopes.get_mut(&ns.scope) else {
            return Ok(false);
        };
        let Some(data) = plugins.get_mut(&ns.plugin) else {
            return Ok(false);
        };
        let Some(entry) = data.entries.remove(key) else {
            return Ok(false);
        };
        let size = entry_size(key, entry.value.len());
        data.bytes -= size;
        inner.total_bytes -= size;
        if data.entries.is_empty() {
            plugins.remove(&ns.plugin);
            if plugins.is_empty() {
                inner.scopes.remove(&ns.scope);
            }
        }
        Ok(entry.live(now))
    }

    /// Synchronous list.
    pub fn list_now(&self, ns: &Namespace, prefix: &str, limit: usize) -> Vec<String> {
        let now = Instant::now();
        let inner = self.lock();
        let Some(data) = inner
            .scopes
            .get(&ns.scope)
            .and_then(|plugins| plugins.get(&ns.plugin))
        else {
            return Vec::new();
        };
        data.entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| e.live(now))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Synchronous drop of a whole scope.
    pub fn drop_scope_now(&self, scope: &ScopeKey) -> usize {
        let mut inner = self.lock();
        let Some(plugins) = inner.scopes.remove(scope) else {
            return 0;
        };
        let (count, bytes) = plugins
            .values()
            .fold((0, 0), |(c, b), d| (c + d.entries.len(), b + d.bytes));
        inner.total_bytes -= bytes;
        count
    }

    /// Synchronous purge of expired entries.
    pub fn purge_expired_now(&self) -> usize {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut removed = 0;
        let mut freed = 0;
        inner.scopes.retain(|_, plugins| {
            plugins.retain(|_, data| {
                data.entries.retain(|k, e| {
                    let keep = e.live(now);
                    if !keep {
                        removed += 1;
                        let size = entry_size(k, e.value.len());
                        freed += size;
                        data.bytes -= size;
                    }
                    keep
                });
                !data.entries.is_empty()
            });
            !plugins.is_empty()
        });
        inner.total_bytes -= freed;
        removed
    }

    /// Bytes held (keys and values), for metrics and tests.
    pub fn total_bytes(&self) -> usize {
        self.lock().total_bytes
    }
}

impl KvStore for MemoryStore {
    fn get<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        Box::pin(std::future::ready(self.get_now(ns, key)))
    }

    fn set<'a>(
        &'a self,
        ns: &'a Namespace,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> KvFuture<'a, ()> {
        Box::pin(std::future::ready(self.set_now(ns, key, value, ttl)))
    }

    fn delete<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, bool> {
        Box::pin(std::future::ready(self.delete_now(ns, key)))
    }

    fn list<'a>(
        &'a self,
        ns: &'a Namespace,
        prefix: &'a str,
        limit: usize,
    ) -> KvFuture<'a, Vec<String>> {
        Box::pin(std::future::ready(Ok(self.list_now(ns, prefix, limit))))
    }

    fn drop_scope<'a>(&'a self, scope: &'a ScopeKey) -> KvFuture<'a, usize> {
        Box::pin(std::future::ready(Ok(self.drop_scope_now(scope))))
    }

    fn purge_expired(&self) -> KvFuture<'_, usize> {
        Box::pin(std::future::ready(Ok(self.purge_expired_now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TenantId;
    use crate::kv::ScopeId;

    fn ns(tenant: &str, scope: ScopeId, plugin: &str) -> Namespace {
        Namespace {
            scope: ScopeKey {
                tenant: TenantId::new(tenant),
                scope,
            },
            plugin: Arc::from(plugin),
        }
    }

    fn session(id: &str) -> ScopeId {
        ScopeId::Session(Arc::from(id))
    }

    #[test]
    fn namespaces_are_isolated_by_tenant_scope_and_plugin() {
        let store = MemoryStore::new(KvLimits::default());
        let a = ns("t1", session("s1"), "counter");
        store.set_now(&a, "k", b"1".to_vec(), None).unwrap();
        for other in [
            ns("t2", session("s1"), "counter"),
            ns("t1", session("s2"), "counter"),
            ns("t1", ScopeId::User(Arc::from("s1")), "counter"),
            ns("t1", session("s1"), "other"),
        ] {
            assert_eq!(store.get_now(&other, "k").unwrap(), None, "{other:?}");
            assert!(store.list_now(&other, "", 10).is_empty());
        }
        assert_eq!(store.get_now(&a, "k").unwrap(), Some(b"1".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_their_ttl_and_are_purged() {
        let store = MemoryStore::new(KvLimits::default());
        let a = ns("t", session("s"), "p");
        store
            .set_now(&a, "short", b"x".to_vec(), Some(Duration::from_secs(5)))
            .unwrap();
        store.set_now(&a, "long", b"y".to_vec(), None).unwrap();
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(store.get_now(&a, "short").unwrap().is_some());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.get_now(&a, "short").unwrap(), None);
        assert_eq!(store.list_now(&a, "", 10), vec!["long".to_owned()]);
        assert_eq!(store.purge_expired_now(), 1);
        assert_eq!(store.total_bytes(), "long".len() + 1 + ENTRY_OVERHEAD_BYTES);
    }

    #[test]
    fn quotas_on_value_size_keys_and_bytes_are_enforced() {
        let limits = KvLimits {
            max_key_bytes: 4,
            max_value_bytes: 8,
            max_keys_per_namespace: 2,
            max_bytes_per_namespace: 12 + 2 * ENTRY_OVERHEAD_BYTES,
            max_total_bytes: 20 + 3 * ENTRY_OVERHEAD_BYTES,
        };
        let store = MemoryStore::new(limits);
        let a = ns("t", session("s"), "p");
        assert!(matches!(
            store.set_now(&a, "", vec![], None),
            Err(KvError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.set_now(&a, "toolong", vec![], None),
            Err(KvError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.set_now(&a, "k", vec![0; 9], None),
            Err(KvError::QuotaExceeded {
                quota: "value size",
                ..
            })
        ));
        store.set_now(&a, "a", vec![0; 5], None).unwrap();
        store.set_now(&a, "b", vec![0; 5], None).unwrap();
        assert!(matches!(
            store.set_now(&a, "c", vec![], None),
            Err(KvError::QuotaExceeded {
                quota: "keys per scope",
                ..
            })
        ));
        // Overwriting counts the new size against the old one.
        assert!(matches!(
            store.set_now(&a, "a", vec![0; 7], None),
            Err(KvError::QuotaExceeded {
                quota: "bytes per scope",
                ..
            })
        ));
        store.set_now(&a, "a", vec![0; 4], None).unwrap();
        let b = ns("t", session("s2"), "p");
        store.set_now(&b, "a", vec![0; 7], None).unwrap();
        assert!(matches!(
            store.set_now(&b, "b", vec![0; 3], None),
            Err(KvError::QuotaExceeded {
                quota: "store size",
                ..
            })
        ));
        assert!(store.delete_now(&a, "b").unwrap());
        assert!(!store.delete_now(&a, "b").unwrap());
        assert_eq!(store.total_bytes(), 5 + 8 + 2 * ENTRY_OVERHEAD_BYTES);
    }

    #[test]
    fn every_key_counts_its_overhead_against_the_quota() {
        let limits = KvLimits {
            max_bytes_per_namespace: 100 * ENTRY_OVERHEAD_BYTES,
            ..KvLimits::default()
        };
        let store = MemoryStore::new(limits);
        let a = ns("t", session("s"), "p");
        let mut stored = 0;
        while store
            .set_now(&a, &format!("k{stored}"), Vec::new(), None)
            .is_ok()
        {
            stored += 1;
        }
        // Empty values are not free: the keys run out well before 10,000.
        assert!(stored < 100, "{stored} empty keys fit");
        assert!(store.total_bytes() >= stored * ENTRY_OVERHEAD_BYTES);
    }

    #[test]
    fn dropping_a_scope_frees_every_plugin_namespace_in_it() {
        let store = MemoryStore::new(KvLimits::default());
        let s1p1 = ns("t", session("s1"), "p1");
        let s1p2 = ns("t", session("s1"), "p2");
        let s2 = ns("t", session("s2"), "p1");
        for n in [&s1p1, &s1p2, &s2] {
            store.set_now(n, "k", b"v".to_vec(), None).unwrap();
        }
        assert_eq!(store.drop_scope_now(&s1p1.scope), 2);
        assert_eq!(store.get_now(&s1p2, "k").unwrap(), None);
        assert_eq!(store.get_now(&s2, "k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(store.total_bytes(), 2 + ENTRY_OVERHEAD_BYTES);
    }

    #[test]
    fn list_returns_sorted_keys_with_the_prefix_only() {
        let store = MemoryStore::new(KvLimits::default());
        let a = ns("t", session("s"), "p");
        for k in ["b/2", "a/1", "b/1", "c", "b"] {
            store.set_now(&a, k, vec![], None).unwrap();
        }
        assert_eq!(store.list_now(&a, "b/", 10), vec!["b/1", "b/2"]);
        assert_eq!(store.list_now(&a, "b", 2), vec!["b", "b/1"]);
    }
}
