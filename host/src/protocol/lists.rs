//! Paginated list results (`tools/list`, `resources/list`, ...) with the
//! 2026-07-28 caching hints.

use super::era::Era;
use super::error::RpcError;
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

/// The page of `len` items a request's `cursor` asks for, as `start..end`
/// (a cursor is the offset where the page starts).
///
/// # Errors
/// −32602 for a cursor that is not one berth gave.
pub(super) fn page(
    params: &Map<String, Value>,
    len: usize,
    page_size: usize,
) -> Result<(usize, usize), RpcError> {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => c
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= len)
            .ok_or_else(|| RpcError::InvalidParams(format!("invalid cursor {c:?}")))?,
        Some(_) => {
            return Err(RpcError::InvalidParams(
                "cursor must be a string".to_owned(),
            ));
        }
    };
    Ok((start, (start + page_size.max(1)).min(len)))
}

/// `{ key: items[start..end], nextCursor? }`, with `ttlMs` and `cacheScope`
/// for modern requests.
pub(super) fn list_result<T: Serialize>(
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
    fn cursors_are_offsets_berth_gave() {
        let p = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(page(&p(json!({})), 5, 2).unwrap(), (0, 2));
        assert_eq!(page(&p(json!({"cursor": "4"})), 5, 2).unwrap(), (4, 5));
        assert!(page(&p(json!({"cursor": "9"})), 5, 2).is_err());
        assert!(page(&p(json!({"cursor": 1})), 5, 2).is_err());
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
