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
#[derive(Debug, Clone, PartialEq)]
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

/// A progress token that is a string or an integer.
fn valid_token(token: Option<Value>) -> Option<Value> {
    token.filter(|t| t.is_string() || t.is_i64() || t.is_u64())
}

/// The `_meta` members berth reads, taken out of a request's params once,
/// when the message is classified. The keys share a long
/// `io.modelcontextprotocol/` prefix, so they are matched in one pass.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Meta {
    /// `io.modelcontextprotocol/protocolVersion`: its presence makes the
    /// request modern.
    pub protocol_version: Option<Value>,
    /// `io.modelcontextprotocol/clientCapabilities`.
    pub client_capabilities: Option<Value>,
    /// `io.modelcontextprotocol/logLevel`.
    pub log_level: Option<Value>,
    /// `progressToken`, if it is a string or an integer.
    pub progress_token: Option<Value>,
    /// A W3C `traceparent`, if the client sent one.
    pub traceparent: Option<String>,
}

impl Meta {
    /// Takes `_meta` out of `params` (handlers never see it).
    pub fn take(params: &mut Map<String, Value>) -> Self {
        let mut meta = Self::default();
        let Some(Value::Object(members)) = params.remove("_meta") else {
            return meta;
        };
        for (key, value) in members {
            match key.as_str() {
                META_PROTOCOL_VERSION => meta.protocol_version = Some(value),
                META_CLIENT_CAPABILITIES => meta.client_capabilities = Some(value),
                META_LOG_LEVEL => meta.log_level = Some(value),
                "progressToken" => meta.progress_token = valid_token(Some(value)),
                "traceparent" => meta.traceparent = value.as_str().map(str::to_owned),
                _ => {}
            }
        }
        meta
    }

    /// Whether the request declares itself modern.
    pub fn is_modern(&self) -> bool {
        self.protocol_version.is_some()
    }

    /// The declared protocol version, if it is a string.
    pub fn version(&self) -> Option<&str> {
        self.protocol_version.as_ref().and_then(Value::as_str)
    }
}

/// Validates a modern request's `_meta`.
///
/// # Errors
/// −32602 when a required field is missing or mistyped, −32022 when the
/// version is not a modern version berth serves.
pub fn modern_cx(meta: &Meta) -> Result<RequestCx, RpcError> {
    let requested = meta
        .version()
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
        .as_ref()
        .filter(|c| c.is_object())
        .ok_or_else(|| missing(META_CLIENT_CAPABILITIES))?;
    let log_level = match &meta.log_level {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(LogLevel::parse).ok_or_else(|| {
            RpcError::MalformedMeta(format!("_meta {META_LOG_LEVEL} is not a log level"))
        })?),
    };
    Ok(RequestCx {
        era: Era::Modern,
        protocol_version,
        log_level,
        progress_token: meta.progress_token.clone(),
        client: ClientFeatures::from_capabilities(capabilities),
    })
}

/// Checks the `MCP-Protocol-Version` header of a legacy HTTP request.
///
/// # Errors
/// −32602 for a modern version (such a request must say so in `_meta`),
/// −32600 for a version berth does not serve.
pub fn check_legacy_header(version: Option<&str>) -> Result<(), RpcError> {
    let Some(version) = version else {
        return Ok(());
    };
    if MODERN_VERSIONS.contains(&version) {
        return Err(RpcError::MalformedMeta(format!(
            "a {version} request must describe itself in _meta ({META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES})"
        )));
    }
    if !LEGACY_VERSIONS.contains(&version) {
        return Err(RpcError::InvalidRequest(format!(
            "unsupported MCP-Protocol-Version {version:?}"
        )));
    }
    Ok(())
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
    fn meta_members_are_taken_in_one_pass_and_progress_tokens_are_strings_or_integers() {
        let mut p = params(json!({"name": "x", "_meta": {
            META_LOG_LEVEL: null, "progressToken": "t", "other": 1, "traceparent": "00-x"
        }}));
        let meta = Meta::take(&mut p);
        assert_eq!(p, params(json!({"name": "x"})), "handlers never see _meta");
        assert_eq!(meta.log_level, Some(Value::Null));
        assert!(meta.protocol_version.is_none() && meta.client_capabilities.is_none());
        assert_eq!(meta.progress_token, Some(json!("t")));
        assert_eq!(meta.traceparent.as_deref(), Some("00-x"));
        for bad in [json!(1.5), json!({}), json!(null), json!(-1.0)] {
            let mut p = params(json!({"_meta": {"progressToken": bad}}));
            assert_eq!(Meta::take(&mut p).progress_token, None);
        }
        let mut p = params(json!({"_meta": {"progressToken": 7}}));
        assert_eq!(Meta::take(&mut p).progress_token, Some(json!(7)));
        assert_eq!(
            Meta::take(&mut params(json!({"_meta": 3}))),
            Meta::default()
        );
    }

    #[test]
    fn a_legacy_request_may_name_a_legacy_version_in_its_header_only() {
        assert!(check_legacy_header(None).is_ok());
        assert!(check_legacy_header(Some("2025-06-18")).is_ok());
        assert_eq!(
            check_legacy_header(Some("2026-07-28")).unwrap_err().code(),
            -32602
        );
        assert_eq!(
            check_legacy_header(Some("1999-01-01")).unwrap_err().code(),
            -32600
        );
    }

    #[test]
    fn modern_meta_is_validated() {
        let mut ok = params(json!({"_meta": {
            META_PROTOCOL_VERSION: "2026-07-28",
            META_CLIENT_CAPABILITIES: {},
            META_LOG_LEVEL: "warning",
            "progressToken": 7
        }}));
        let cx = modern_cx(&Meta::take(&mut ok)).unwrap();
        assert_eq!(cx.log_level, Some(LogLevel::Warning));
        assert_eq!(cx.progress_token, Some(json!(7)));
        let mut old = params(
            json!({"_meta": {META_PROTOCOL_VERSION: "2025-11-25", META_CLIENT_CAPABILITIES: {}}}),
        );
        assert_eq!(modern_cx(&Meta::take(&mut old)).unwrap_err().code(), -32022);
        let mut no_caps = params(json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28"}}));
        assert_eq!(
            modern_cx(&Meta::take(&mut no_caps)).unwrap_err().code(),
            -32602
        );
        let mut bad_level = params(
            json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28", META_CLIENT_CAPABILITIES: {}, META_LOG_LEVEL: "loud"}}),
        );
        assert_eq!(
            modern_cx(&Meta::take(&mut bad_level)).unwrap_err().code(),
            -32602
        );
    }
}
