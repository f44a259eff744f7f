//! The two protocol eras: which versions each serves, and the per-request
//! metadata of the modern era.
//!
//! A request is modern when its `_meta` carries
//! `io.modelcontextprotocol/protocolVersion`; otherwise it belongs to the
//! connection's legacy session (if any). Handlers never see the difference:
//! they receive a [`RequestCx`].

use super::error::RpcError;
use crate::level::LogLevel;
use crate::plugin::ClientFeatures;
use serde_json::{Map, Value};

/// Legacy versions, newest first (negotiated by `initialize`).
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// Modern versions (declared on every request).
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];
/// Every version, newest first (for `server/discover`).
pub const ALL_VERSIONS: &[&str] = &[
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// `_meta` key of the request's protocol version.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the minimum log level for this request.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key of the server's name and version on results.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// The version a legacy `initialize` settles on: the client's if berth
/// speaks it, else the newest legacy version.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| LEGACY_VERSIONS.iter().find(|v| **v == r))
        .copied()
        .unwrap_or(LEGACY_VERSIONS[0])
}

/// Which era a request is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Part of a legacy session.
    Legacy,
    /// Stateless, described by its own `_meta`.
    Modern,
}

/// What a handler knows about the request it serves, in either era.
#[derive(Debug, Clone)]
pub struct RequestCx {
    /// The era.
    pub era: Era,
    /// The protocol version of this request.
    // Not read yet: set for the handlers of the typed dispatch.
    #[allow(dead_code)]
    pub protocol_version: &'static str,
    /// Minimum level of log messages to send; `None` sends none.
    pub log_level: Option<LogLevel>,
    /// The progress token, if the client asked for progress.
    pub progress_token: Option<Value>,
    /// What the client declared it can be asked.
    pub client: ClientFeatures,
}

/// The `_meta` object of a request's params, if any.
pub fn meta(params: &Map<String, Value>) -> Option<&Map<String, Value>> {
    params.get("_meta").and_then(Value::as_object)
}

/// Whether the request declares itself modern.
pub fn is_modern(params: &Map<String, Value>) -> bool {
    meta(params).is_some_and(|m| m.contains_key(META_PROTOCOL_VERSION))
}

/// The progress token of a request (a string or an integer).
pub fn progress_token(params: &Map<String, Value>) -> Option<Value> {
    valid_token(meta(params)?.get("progressToken"))
}

/// A progress token that is a string or an integer.
fn valid_token(token: Option<&Value>) -> Option<Value> {
    token
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
        .cloned()
}

/// The `_meta` members berth reads, found in one pass. The keys share a
/// long `io.modelcontextprotocol/` prefix, so looking each one up in the
/// map on its own costs several long comparisons per member.
#[derive(Debug, Default, Clone, Copy)]
pub struct MetaView<'a> {
    /// `io.modelcontextprotocol/protocolVersion`.
    pub protocol_version: Option<&'a Value>,
    /// `io.modelcontextprotocol/clientCapabilities`.
    pub client_capabilities: Option<&'a Value>,
    /// `io.modelcontextprotocol/logLevel`.
    pub log_level: Option<&'a Value>,
    /// `progressToken`.
    pub progress_token: Option<&'a Value>,
}

impl<'a> MetaView<'a> {
    /// The members of the request's `_meta` (none when it has none).
    pub fn of(params: &'a Map<String, Value>) -> Self {
        let mut view = Self::default();
        for (key, value) in meta(params).into_iter().flatten() {
            match key.as_str() {
                META_PROTOCOL_VERSION => view.protocol_version = Some(value),
                META_CLIENT_CAPABILITIES => view.client_capabilities = Some(value),
                META_LOG_LEVEL => view.log_level = Some(value),
                "progressToken" => view.progress_token = Some(value),
                _ => {}
            }
        }
        view
    }

    /// The progress token, if it is a string or an integer.
    pub fn progress_token(&self) -> Option<Value> {
        valid_token(self.progress_token)
    }
}

/// Validates a modern request's `_meta`.
///
/// # Errors
/// −32602 when a required field is missing or mistyped, −32022 when the
/// version is not a modern version berth serves.
pub fn modern_cx(params: &Map<String, Value>) -> Result<RequestCx, RpcError> {
    let meta = MetaView::of(params);
    let requested = meta
        .protocol_version
        .and_then(Value::as_str)
        .ok_or_else(|| missing(META_PROTOCOL_VERSION))?;
    let protocol_version = MODERN_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .ok_or_else(|| RpcError::UnsupportedVersion {
            requested: requested.to_owned(),
            supported: MODERN_VERSIONS,
        })?;
    let capabilities = meta
        .client_capabilities
        .filter(|c| c.is_object())
        .ok_or_else(|| missing(META_CLIENT_CAPABILITIES))?;
    let log_level = match meta.log_level {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(LogLevel::parse).ok_or_else(|| {
            RpcError::MalformedMeta(format!("_meta {META_LOG_LEVEL} is not a log level"))
        })?),
    };
    Ok(RequestCx {
        era: Era::Modern,
        protocol_version,
        log_level,
        progress_token: meta.progress_token(),
        client: ClientFeatures::from_capabilities(capabilities),
    })
}

fn missing(key: &str) -> RpcError {
    RpcError::MalformedMeta(format!(
        "_meta must contain {key} (required on every 2026-07-28 request)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn negotiation_echoes_known_legacy_versions_and_falls_back_to_the_newest() {
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }

    #[test]
    fn meta_members_are_found_in_one_pass_and_progress_tokens_are_strings_or_integers() {
        let p = params(json!({"name": "x", "_meta": {
            META_LOG_LEVEL: null, "progressToken": "t", "other": 1
        }}));
        let view = MetaView::of(&p);
        assert_eq!(view.log_level, Some(&Value::Null));
        assert!(view.protocol_version.is_none() && view.client_capabilities.is_none());
        assert_eq!(view.progress_token(), Some(json!("t")));
        for bad in [json!(1.5), json!({}), json!(null), json!(-1.0)] {
            assert_eq!(
                progress_token(&params(json!({"_meta": {"progressToken": bad}}))),
                None
            );
        }
        assert_eq!(
            progress_token(&params(json!({"_meta": {"progressToken": 7}}))),
            Some(json!(7))
        );
        assert!(
            MetaView::of(&params(json!({"_meta": 3})))
                .log_level
                .is_none()
        );
    }

    #[test]
    fn modern_meta_is_validated() {
        let ok = params(json!({"_meta": {
            META_PROTOCOL_VERSION: "2026-07-28",
            META_CLIENT_CAPABILITIES: {},
            META_LOG_LEVEL: "warning",
            "progressToken": 7
        }}));
        let cx = modern_cx(&ok).unwrap();
        assert_eq!(cx.log_level, Some(LogLevel::Warning));
        assert_eq!(cx.progress_token, Some(json!(7)));
        let old = params(
            json!({"_meta": {META_PROTOCOL_VERSION: "2025-11-25", META_CLIENT_CAPABILITIES: {}}}),
        );
        assert_eq!(modern_cx(&old).unwrap_err().code(), -32022);
        let no_caps = params(json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28"}}));
        assert_eq!(modern_cx(&no_caps).unwrap_err().code(), -32602);
        let bad_level = params(
            json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}, META_LOG_LEVEL: "loud"}}),
        );
        assert_eq!(modern_cx(&bad_level).unwrap_err().code(), -32602);
    }
}
