//! Scoped key-value state for plugins.
//!
//! Owns the [`KvStore`] trait, the [`Namespace`] every key lives in, quotas
//! and the in-memory backend. A namespace is (tenant, scope, plugin): a
//! plugin can never name another plugin's, scope's or tenant's keys, because
//! the host builds the namespace and the plugin only supplies the key.
//! Must not import any other berth module but `auth`.

mod memory;

pub use memory::MemoryStore;

use crate::auth::TenantId;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Which scope a namespace belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeId {
    /// A legacy session or a modern state handle, by id.
    Session(Arc<str>),
    /// An authenticated principal, by subject.
    User(Arc<str>),
}

/// The tenant and scope part of a namespace, as resolved by the protocol
/// layer for one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeKey {
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The scope.
    pub scope: ScopeId,
}

/// Where a key lives: tenant, scope and plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    /// Tenant and scope.
    pub scope: ScopeKey,
    /// The plugin that owns the keys.
    pub plugin: Arc<str>,
}

impl fmt::Display for ScopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Never print a whole session id: it may be someone's handle.
            Self::Session(id) => write!(f, "session:{}", id.get(..8).unwrap_or(id)),
            Self::User(subject) => write!(f, "user:{subject}"),
        }
    }
}

/// Limits that keep one plugin or scope from exhausting the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KvLimits {
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes.
    pub max_value_bytes: usize,
    /// Most keys per namespace.
    pub max_keys_per_namespace: usize,
    /// Most bytes (keys + values) per namespace.
    pub max_bytes_per_namespace: usize,
    /// Most bytes in the whole store.
    pub max_total_bytes: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        Self {
            max_key_bytes: 512,
            max_value_bytes: 1 << 20,
            max_keys_per_namespace: 10_000,
            max_bytes_per_namespace: 16 << 20,
            max_total_bytes: 512 << 20,
        }
    }
}

/// Why a key-value operation failed. Shown to the plugin, never the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The key is empty or too long.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A quota would be exceeded.
    #[error("quota exceeded: {quota} (limit {limit})")]
    QuotaExceeded {
        /// Which quota.
        quota: &'static str,
        /// Its limit.
        limit: usize,
    },
    /// The backend could not be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A boxed future returned by [`KvStore`] methods.
pub type KvFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KvError>> + Send + 'a>>;

/// A key-value backend. Implementations enforce [`KvLimits`] and expiry.
/// berth brings [`MemoryStore`]; an embedder may pass its own (or wrap
/// this one) to `HostBuilder::kv`.
pub trait KvStore: Send + Sync + 'static {
    /// Reads a value; `None` when absent or expired.
    fn get<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>>;
    /// Writes a value, expiring after `ttl` if given.
    fn set<'a>(
        &'a self,
        ns: &'a Namespace,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> KvFuture<'a, ()>;
    /// Deletes a value; true when it existed.
    fn delete<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, bool>;
    /// Keys starting with `prefix`, sorted, at most `limit` of them.
    fn list<'a>(
        &'a self,
        ns: &'a Namespace,
        prefix: &'a str,
        limit: usize,
    ) -> KvFuture<'a, Vec<String>>;
    /// Drops every namespace of a scope (all plugins), e.g. when a session
    /// ends. Returns how many entries were removed.
    fn drop_scope<'a>(&'a self, scope: &'a ScopeKey) -> KvFuture<'a, usize>;
    /// Removes expired entries. Returns how many were removed.
    fn purge_expired(&self) -> KvFuture<'_, usize>;
}

/// Validates a key against the limits.
///
/// # Errors
/// [`KvError::InvalidKey`] when empty or longer than allowed.
pub fn check_key(key: &str, limits: &KvLimits) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::InvalidKey { reason: "empty" });
    }
    if key.len() > limits.max_key_bytes {
        return Err(KvError::InvalidKey {
            reason: "longer than the key limit",
        });
    }
    Ok(())
}

/// A shared store handle.
pub type SharedKv = Arc<dyn KvStore>;
