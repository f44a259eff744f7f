//! Every failure the HTTP transport answers, as one type with its status:
//! a JSON-RPC error body where the client speaks JSON-RPC, plain text for
//! the session-less verbs. A 5xx is logged once, here.

use crate::auth::AuthError;
use crate::protocol::jsonrpc::{self, RequestId};
use crate::protocol::{Reply, RpcError};
use crate::session::RandomnessError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why an HTTP request is refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// A JSON-RPC error, with the status the era asks for.
    #[error("{error}")]
    Rpc {
        /// The status.
        status: StatusCode,
        /// The request's id, when it could be read.
        id: Option<RequestId>,
        /// The error.
        #[source]
        error: RpcError,
    },
    /// The `Origin` or `Host` is not allowed (403).
    #[error("Forbidden: {0} not allowed")]
    Forbidden(&'static str),
    /// No or bad credentials (401).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The declared body is over the limit (413).
    #[error("Request body larger than {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// GET or DELETE without a session: 2026-07-28 has none (405).
    #[error("GET and DELETE need an Mcp-Session-Id (legacy sessions); 2026-07-28 has no sessions")]
    NoSessions,
    /// The client does not accept the stream it asked for (406).
    #[error("GET needs Accept: text/event-stream")]
    NotAcceptable,
    /// No OS randomness for a session id (500; the detail is only logged).
    #[error("internal error")]
    Randomness(#[from] RandomnessError),
    /// The server is at its session limit (503).
    #[error("{0}")]
    SessionLimit(String),
    /// The server is at its stream limit (503).
    #[error("too many open streams; retry later")]
    TooManyStreams,
}

impl HttpError {
    /// A JSON-RPC error answered with `status`.
    pub(super) fn rpc(status: StatusCode, id: Option<&RequestId>, error: RpcError) -> Self {
        Self::Rpc {
            status,
            id: id.cloned(),
            error,
        }
    }

    /// A request refused before it reached the protocol engine (400).
    pub(super) fn bad_request(id: Option<&RequestId>, error: RpcError) -> Self {
        Self::rpc(StatusCode::BAD_REQUEST, id, error)
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Rpc { status, .. } => *status,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NoSessions => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::TooManyStreams | Self::SessionLimit(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Randomness(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The status of a JSON-RPC response: what the specification asks for
/// the errors it names, 200 otherwise.
pub(super) fn status_of(error: Option<&RpcError>, modern: bool) -> StatusCode {
    match error {
        Some(RpcError::MethodNotFound(_)) if modern => StatusCode::NOT_FOUND,
        Some(RpcError::TooManySessions(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Some(
            RpcError::MalformedMeta(_)
            | RpcError::HeaderMismatch { .. }
            | RpcError::MissingClientCapability { .. }
            | RpcError::UnsupportedVersion { .. },
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// A JSON body with its status.
pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A protocol reply as a JSON response with its status.
pub(super) fn reply_response(reply: Reply, modern: bool) -> Response {
    json_response(status_of(reply.error.as_ref(), modern), reply.body)
}

/// A JSON-RPC error object with no id, for refusals that come before a
/// message is read (−32600 with the error's words).
fn refusal_body(message: String) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "error": {"code": crate::protocol::error::code::INVALID_REQUEST, "message": message}
    })
    .to_string()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            let source = std::error::Error::source(&self).map(ToString::to_string);
            tracing::warn!(%status, error = %self, source, "request refused");
        }
        match self {
            Self::Rpc { id, error, .. } => {
                json_response(status, jsonrpc::error(id.as_ref(), &error))
            }
            Self::Unauthorized(_) => {
                let mut response = json_response(status, refusal_body(self.to_string()));
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"berth\""),
                );
                response
            }
            Self::Forbidden(_) | Self::TooLarge { .. } => {
                json_response(status, refusal_body(self.to_string()))
            }
            Self::NoSessions => (
                status,
                [(header::ALLOW, HeaderValue::from_static("POST"))],
                self.to_string(),
            )
                .into_response(),
            Self::NotAcceptable
            | Self::TooManyStreams
            | Self::SessionLimit(_)
            | Self::Randomness(_) => (status, self.to_string()).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_the_specification_names_get_their_status() {
        assert_eq!(
            status_of(Some(&RpcError::MethodNotFound("x".to_owned())), true),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_of(Some(&RpcError::MethodNotFound("x".to_owned())), false),
            StatusCode::OK
        );
        assert_eq!(
            status_of(Some(&RpcError::MalformedMeta("m".to_owned())), true),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_of(None, true), StatusCode::OK);
        assert_eq!(
            HttpError::TooLarge { limit: 1 }.into_response().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let r = HttpError::NoSessions.into_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "POST");
    }
}
