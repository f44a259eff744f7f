//! Errors the JSON-RPC caller sees, and their wire form.
//!
//! Every failure that reaches a client as a JSON-RPC error passes through
//! [`RpcError::to_wire`]; nothing else builds error objects.

use serde_json::{Value, json};

/// JSON-RPC 2.0 and MCP error codes.
pub mod code {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal error (masked detail).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// HTTP header does not match the body (2026-07-28).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// The request needs a client capability it did not declare (2026-07-28).
    pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
    /// The requested protocol version is not supported (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
    /// No resource at the URI (legacy revisions; 2026-07-28 uses −32602).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
}

/// A protocol-level failure, answered as a JSON-RPC error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// The message is not JSON.
    #[error("parse error: {0}")]
    Parse(String),
    /// The message is JSON but not a valid request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The method does not exist (in this era).
    #[error("method not found: {0}")]
    MethodNotFound(String),
    /// The parameters are wrong; the message says how.
    #[error("{0}")]
    InvalidParams(String),
    /// A modern request lacks or mistypes required `_meta` fields (−32602,
    /// and HTTP 400, as the spec requires for a malformed request).
    #[error("{0}")]
    MalformedMeta(String),
    /// A session cannot be created: the server is at its session limit
    /// (−32600; HTTP 503).
    #[error("{0}")]
    TooManySessions(String),
    /// Something failed inside the host; details are only in the host log.
    #[error("internal error")]
    Internal,
    /// The server is shutting down and stopped this request (−32603; the
    /// client may retry elsewhere or later).
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The request's session was closed while it ran, which stopped it
    /// (−32600).
    #[error("the session was closed while this request ran")]
    SessionEnded,
    /// A call answered on a resumable stream was stopped because the stream
    /// broke and was not resumed within the grace (−32603).
    #[error("the call was stopped: its stream was not resumed within {grace_secs} s")]
    Abandoned {
        /// The resume grace, seconds.
        grace_secs: u64,
    },
    /// A subscription stream fell behind: notifications it could not take
    /// were dropped, and the stream is closed (−32603, `data.reason` is
    /// `lagged`).
    #[error("the subscription fell behind and missed {missed} notifications")]
    SubscriberLagged {
        /// Notifications dropped before the stream was closed.
        missed: u64,
    },
    /// A plugin reported a failure meant for the client (−32603 with its
    /// message).
    #[error("{0}")]
    Failed(String),
    /// No resource at `uri`: −32002 for legacy sessions, −32602 for
    /// 2026-07-28 (SEP-2164); the URI travels in `data`.
    #[error("resource not found: {uri}")]
    ResourceNotFound {
        /// The URI asked for.
        uri: String,
        /// Whether the request is legacy.
        legacy: bool,
    },
    /// An HTTP header disagrees with the body, or is missing or malformed.
    #[error("header {header} does not match the request body: {detail}")]
    HeaderMismatch {
        /// The header, as the specification spells it.
        header: String,
        /// What is wrong, for the client.
        detail: String,
    },
    /// The request needs client capabilities the client did not declare.
    #[error("missing required client capability")]
    MissingClientCapability {
        /// The capabilities needed, as a `ClientCapabilities` object.
        required: Value,
    },
    /// The requested protocol version is not served.
    #[error("unsupported protocol version {requested:?}")]
    UnsupportedVersion {
        /// What the client asked for.
        requested: String,
        /// What berth serves.
        supported: &'static [&'static str],
    },
}

impl RpcError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            Self::Parse(_) => code::PARSE_ERROR,
            Self::InvalidRequest(_) | Self::TooManySessions(_) | Self::SessionEnded => {
                code::INVALID_REQUEST
            }
            Self::MethodNotFound(_) => code::METHOD_NOT_FOUND,
            Self::InvalidParams(_) | Self::MalformedMeta(_) => code::INVALID_PARAMS,
            Self::Internal
            | Self::Failed(_)
            | Self::ShuttingDown
            | Self::Abandoned { .. }
            | Self::SubscriberLagged { .. } => code::INTERNAL_ERROR,
            Self::ResourceNotFound { legacy: true, .. } => code::RESOURCE_NOT_FOUND,
            Self::ResourceNotFound { legacy: false, .. } => code::INVALID_PARAMS,
            Self::HeaderMismatch { .. } => code::HEADER_MISMATCH,
            Self::MissingClientCapability { .. } => code::MISSING_CLIENT_CAPABILITY,
            Self::UnsupportedVersion { .. } => code::UNSUPPORTED_PROTOCOL_VERSION,
        }
    }

    /// The `error` member of a JSON-RPC response.
    pub fn to_wire(&self) -> Value {
        let message = match self {
            Self::Parse(_) => "Parse error".to_owned(),
            Self::InvalidRequest(m) => format!("Invalid request: {m}"),
            Self::TooManySessions(m) => m.clone(),
            Self::MethodNotFound(m) => format!("Method not found: {m}"),
            Self::InvalidParams(m) | Self::MalformedMeta(m) => m.clone(),
            Self::Internal => "Internal error".to_owned(),
            Self::ShuttingDown => "The server is shutting down; retry later".to_owned(),
            Self::SessionEnded => {
                "The session was closed while this request ran (it expired, was deleted or the server closed it); initialize a new session and retry".to_owned()
            }
            Self::Abandoned { grace_secs } => format!(
                "The call was stopped: its stream broke and was not resumed within {grace_secs} s (sessions.resume_grace_secs)"
            ),
            Self::SubscriberLagged { missed } => format!(
                "This subscription fell behind: {missed} notifications could not be delivered, so it is closed. Re-read what you track, then listen again"
            ),
            Self::Failed(m) => m.clone(),
            Self::ResourceNotFound { uri, .. } => format!("Resource not found: {uri}"),
            Self::HeaderMismatch { detail, .. } => format!("Header mismatch: {detail}"),
            Self::MissingClientCapability { .. } => "Missing required client capability".to_owned(),
            Self::UnsupportedVersion { .. } => "Unsupported protocol version".to_owned(),
        };
        let data = match self {
            Self::Parse(detail) => Some(json!({ "detail": detail })),
            Self::HeaderMismatch { header, .. } => Some(json!({ "header": header })),
            Self::ResourceNotFound { uri, .. } => Some(json!({ "uri": uri })),
            Self::SubscriberLagged { missed } => {
                Some(json!({ "reason": "lagged", "missed": missed }))
            }
            Self::MissingClientCapability { required } => {
                Some(json!({ "requiredCapabilities": required }))
            }
            Self::UnsupportedVersion {
                requested,
                supported,
            } => Some(json!({ "supported": supported, "requested": requested })),
            _ => None,
        };
        let mut error = json!({ "code": self.code(), "message": message });
        if let (Some(data), Some(obj)) = (data, error.as_object_mut()) {
            obj.insert("data".to_owned(), data);
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_version_carries_supported_and_requested() {
        let e = RpcError::UnsupportedVersion {
            requested: "1900-01-01".to_owned(),
            supported: &["2026-07-28"],
        };
        assert_eq!(
            e.to_wire(),
            json!({"code": -32022, "message": "Unsupported protocol version",
                   "data": {"supported": ["2026-07-28"], "requested": "1900-01-01"}})
        );
    }

    #[test]
    fn modern_error_codes_match_the_spec() {
        assert_eq!(
            RpcError::HeaderMismatch {
                header: "Mcp-Method".to_owned(),
                detail: "Mcp-Method header is missing".to_owned(),
            }
            .code(),
            -32020
        );
        let e = RpcError::MissingClientCapability {
            required: json!({"elicitation": {}}),
        };
        assert_eq!(e.code(), -32021);
        assert_eq!(
            e.to_wire()["data"]["requiredCapabilities"],
            json!({"elicitation": {}})
        );
        assert_eq!(
            RpcError::Internal.to_wire(),
            json!({"code": -32603, "message": "Internal error"})
        );
    }
}
