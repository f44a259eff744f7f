//! Request guards, run before any handler: Host and Origin validation
//! (DNS-rebinding protection, 403) on every endpoint; on the MCP
//! endpoints also authentication (401) and the declared body size (413,
//! before a client waiting for `100 Continue` sends the body).

use super::HttpState;
use super::error::HttpError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The host of an authority that is exactly `host[:port]`: a name or
/// IPv4 address, or an IPv6 literal in brackets (kept), then nothing or
/// `:` and a port of digits. Anything else (userinfo, a path, text after
/// the brackets, an empty or non-numeric port) is `None`: such a Host is
/// not what a browser sends, and prefix matching on it is how
/// `localhost:80@evil.com` passed for loopback.
fn authority_host(authority: &str) -> Option<&str> {
    let (host, rest) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        host[1..end].parse::<Ipv6Addr>().ok()?;
        (host, rest)
    } else {
        let (host, rest) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
        let name_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
        if host.is_empty() || !host.bytes().all(name_char) {
            return None;
        }
        (host, rest)
    };
    if !rest.is_empty() {
        let port = rest.strip_prefix(':')?;
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        port.parse::<u16>().ok()?;
    }
    Some(host)
}

/// `localhost`, or a loopback IPv4 or (bracketed) IPv6 address.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
        None => host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()),
    }
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
    authority_host(authority).is_some_and(is_loopback)
}

fn host_allowed(headers: &HeaderMap, state: &HttpState) -> bool {
    if !state.options.loopback_only {
        return true;
    }
    match headers.get(header::HOST).map(|h| h.to_str()) {
        // HTTP/1.0 without Host cannot be a browser being rebound.
        None => true,
        Some(Err(_)) => false,
        Some(Ok(host)) => {
            authority_host(host).is_some_and(is_loopback)
                || state.options.allowed_origins.iter().any(|o| {
                    o.strip_prefix("http://")
                        .or_else(|| o.strip_prefix("https://"))
                        == Some(host)
                })
        }
    }
}

/// The Host and Origin checks; `Err` names what is refused (logged).
fn check_host_and_origin(headers: &HeaderMap, state: &HttpState) -> Result<(), &'static str> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| origin_allowed(o, state));
        if !allowed {
            tracing::warn!(origin = ?origin, "request from a foreign origin refused");
            return Err("origin");
        }
    }
    if !host_allowed(headers, state) {
        tracing::warn!(host = ?headers.get(header::HOST), "request for a foreign host refused");
        return Err("host");
    }
    Ok(())
}

/// Rejects requests whose `Origin` (if present) or `Host` is not allowed
/// (403), then authenticates them (401), then refuses a declared body over
/// the limit (413) without reading it; the principal travels in the
/// request's extensions to the handlers. One layer for all three: they
/// run on every MCP request.
pub(super) async fn admit(
    State(state): State<Arc<HttpState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if let Err(what) = check_host_and_origin(headers, &state) {
        return HttpError::Forbidden(what).into_response();
    }
    let principal = match state.options.auth.authenticate(headers).await {
        Ok(principal) => principal,
        Err(e) => return HttpError::Unauthorized(e).into_response(),
    };
    // Checked before anything reads the body: hyper sends `100 Continue`
    // only when the body is first read, so a client that asked for it is
    // refused before sending a byte of it.
    if let Some(declared) = declared_length(headers)
        && declared > state.options.max_body_bytes as u64
    {
        return HttpError::TooLarge {
            limit: state.options.max_body_bytes,
        }
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The Host and Origin checks alone, for the operational endpoints: they
/// need no credentials, but a page rebound to this host must not read
/// them.
pub(super) async fn admit_ops(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    match check_host_and_origin(request.headers(), &state) {
        Ok(()) => next.run(request).await,
        Err(what) => HttpError::Forbidden(what).into_response(),
    }
}

/// The `Content-Length` a request declares, if it is one number.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_authorities_yield_their_host() {
        for (authority, host) in [
            ("localhost", "localhost"),
            ("localhost:8080", "localhost"),
            ("LocalHost:80", "LocalHost"),
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:65535", "127.0.0.1"),
            ("[::1]", "[::1]"),
            ("[::1]:9", "[::1]"),
            ("[0:0:0:0:0:0:0:1]:9", "[0:0:0:0:0:0:0:1]"),
            ("evil.example.com:80", "evil.example.com"),
            ("my_host-1.internal", "my_host-1.internal"),
        ] {
            assert_eq!(authority_host(authority), Some(host), "{authority}");
        }
    }

    #[test]
    fn malformed_authorities_are_refused() {
        for authority in [
            "",
            ":80",
            "localhost:",
            "localhost:80@evil.com",
            "localhost@evil.com",
            "user@localhost",
            "user:pw@localhost:80",
            "localhost:80/evil.com",
            "localhost/evil",
            "localhost:8o",
            "localhost:65536",
            "localhost:123456",
            "localhost:80:80",
            "localhost:+80",
            "[::1]evil.com",
            "[::1].evil.com",
            "[::1]:80@evil.com",
            "[::1]:",
            "[::1",
            "[]",
            "[evil.com]",
            "[::1%25eth0]",
            "local host",
            "localhost\\evil.com",
        ] {
            assert_eq!(authority_host(authority), None, "{authority:?}");
        }
    }

    #[test]
    fn only_loopback_hosts_are_loopback() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "evil.com",
            "localhost.evil.com",
            "127.0.0.1.evil.com",
            "128.0.0.1",
            "[::2]",
            "::1",
            "0177.0.0.1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
