//! Paginated list results (`tools/list`, `resources/list`, ...) with the
//! 2026-07-28 caching hints.

use super::era::Era;
use super::error::RpcError;
use super::params::ListParams;
use super::server::ServerOptions;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Who may cache a result (2026-07-28 `cacheScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CacheScope {
    /// The same for every caller.
    Public,
    /// May depend on the caller.
    Private,
}

/// The page of `items` the request's cursor asks for, as `{ key: [...],
/// nextCursor? }`, with `ttlMs` and `cacheScope` for modern requests.
///
/// # Errors
/// −32602 for a cursor that is not one berth gave.
pub(super) fn list_page<T: Serialize>(
    key: &str,
    items: &[T],
    request: &ListParams,
    era: Era,
    options: &ServerOptions,
    scope: CacheScope,
) -> Result<Value, RpcError> {
    let range = request.page(items.len(), options.page_size)?;
    Ok(list_result(
        key,
        items,
        range,
        era,
        options.list_ttl_ms,
        scope,
    ))
}

/// `{ key: items[start..end], nextCursor? }`, with `ttlMs` and `cacheScope`
/// for modern requests.
fn list_result<T: Serialize>(
    key: &str,
    items: &[T],
    (start, end): (usize, usize),
    era: Era,
    ttl_ms: u64,
    scope: CacheScope,
) -> Value {
    let mut obj = Map::new();
    obj.insert(key.to_owned(), json!(&items[start..end]));
    if end < items.len() {
        obj.insert("nextCursor".to_owned(), json!(end.to_string()));
    }
    if era == Era::Modern {
        cache_hints(&mut obj, ttl_ms, scope);
    }
    Value::Object(obj)
}

/// Adds `ttlMs` and `cacheScope`.
pub(super) fn cache_hints(obj: &mut Map<String, Value>, ttl_ms: u64, scope: CacheScope) {
    obj.insert("ttlMs".to_owned(), json!(ttl_ms));
    obj.insert(
        "cacheScope".to_owned(),
        json!(match scope {
            CacheScope::Public => "public",
            CacheScope::Private => "private",
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modern_page_carries_its_next_cursor_and_cache_hints() {
        let r = list_result(
            "xs",
            &[1, 2, 3],
            (0, 2),
            Era::Modern,
            5,
            CacheScope::Private,
        );
        assert_eq!(
            r,
            json!({"xs": [1, 2], "nextCursor": "2", "ttlMs": 5, "cacheScope": "private"})
        );
    }
}
