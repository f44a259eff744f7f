//! Request guards: Origin and Host validation (DNS-rebinding protection,
//! 403) and authentication (401), run before any MCP handler.

use super::HttpState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The host part of `host[:port]`, IPv6 brackets kept.
fn host_part(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn origin_allowed(origin: &str, state: &HttpState) -> bool {
    if state.options.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    LOOPBACK_HOSTS.contains(&host_part(authority))
}

fn host_allowed(headers: &HeaderMap, state: &HttpState) -> bool {
    if !state.options.loopback_only {
        return true;
    }
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        // HTTP/1.0 without Host cannot be a browser being rebound.
        None => true,
        Some(host) => {
            LOOPBACK_HOSTS.contains(&host_part(host))
                || state.options.allowed_origins.iter().any(|o| {
                    o.strip_prefix("http://")
                        .or_else(|| o.strip_prefix("https://"))
                        == Some(host)
                })
        }
    }
}

fn forbidden(what: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": format!("Forbidden: {what} not allowed")}
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// Rejects requests whose `Origin` (if present) or `Host` is not allowed
/// (403), then authenticates them (401); the principal travels in the
/// request's extensions to the handlers. One layer for both: they run on
/// every request.
pub(super) async fn admit(
    State(state): State<Arc<HttpState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| origin_allowed(o, &state));
        if !allowed {
            tracing::warn!(origin = ?origin, "request from a foreign origin refused");
            return forbidden("origin");
        }
    }
    if !host_allowed(headers, &state) {
        tracing::warn!(host = ?headers.get(header::HOST), "request for a foreign host refused");
        return forbidden("host");
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.options.auth.authenticate(authorization) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(e) => unauthorized(&e),
    }
}

fn unauthorized(e: &crate::auth::AuthError) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": e.to_string()}
    });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"berth\"")],
        axum::Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parts_keep_ipv6_brackets_and_drop_ports() {
        assert_eq!(host_part("localhost:8080"), "localhost");
        assert_eq!(host_part("[::1]:9"), "[::1]");
        assert_eq!(host_part("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_part("evil.example.com:80"), "evil.example.com");
    }
}
