//! Typed key-value state. Values are stored as JSON; use the `*_bytes`
//! functions for raw bytes.

use crate::Error;
use crate::bindings::berth::plugin::context as host;
pub use crate::bindings::berth::plugin::context::{KvError, Scope};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

impl From<KvError> for Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::NoScope => Error::Failed(
                "this call has no session: open one with berth_session_open and pass it as `session`"
                    .to_owned(),
            ),
            KvError::QuotaExceeded(m) => Error::Failed(format!("state quota exceeded: {m}")),
            KvError::InvalidKey(m) => Error::Failed(format!("invalid state key: {m}")),
            KvError::Unavailable(m) => Error::Failed(format!("state unavailable: {m}")),
        }
    }
}

/// Reads and deserialises the value at `key`.
///
/// # Errors
/// The host's [`KvError`], or `failed` if the stored value is not a `T`.
pub fn get<T: DeserializeOwned>(scope: Scope, key: &str) -> Result<Option<T>, Error> {
    match host::kv_get(scope, key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Failed(format!("stored value at {key} is unreadable: {e}"))),
    }
}

/// Serialises and stores `value` at `key`, with no expiry.
///
/// # Errors
/// The host's [`KvError`] (quota, key), or `failed` if `value` cannot be
/// serialised.
pub fn set<T: Serialize>(scope: Scope, key: &str, value: &T) -> Result<(), Error> {
    set_with_ttl(scope, key, value, None)
}

/// Like [`set`], expiring after `ttl`.
///
/// # Errors
/// As [`set`].
pub fn set_with_ttl<T: Serialize>(
    scope: Scope,
    key: &str,
    value: &T,
    ttl: Option<Duration>,
) -> Result<(), Error> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::Failed(e.to_string()))?;
    let ttl_ms = ttl.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(host::kv_set(scope, key, &bytes, ttl_ms)?)
}

/// Reads raw bytes.
///
/// # Errors
/// The host's [`KvError`].
pub fn get_bytes(scope: Scope, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    host::kv_get(scope, key)
}

/// Stores raw bytes, optionally expiring after `ttl`.
///
/// # Errors
/// The host's [`KvError`].
pub fn set_bytes(
    scope: Scope,
    key: &str,
    value: &[u8],
    ttl: Option<Duration>,
) -> Result<(), KvError> {
    let ttl_ms = ttl.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    host::kv_set(scope, key, value, ttl_ms)
}

/// Deletes `key`; true when it existed.
///
/// # Errors
/// The host's [`KvError`].
pub fn delete(scope: Scope, key: &str) -> Result<bool, KvError> {
    host::kv_delete(scope, key)
}

/// Keys starting with `prefix`, in order.
///
/// # Errors
/// The host's [`KvError`].
pub fn list(scope: Scope, prefix: &str) -> Result<Vec<String>, KvError> {
    host::kv_list(scope, prefix)
}
