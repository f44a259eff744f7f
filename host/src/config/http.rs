//! `[http]` of `berth.toml`: the raw section and its resolution into
//! [`HttpOptions`]. Imports only the HTTP transport's options type.

use super::{ConfigError, invalid};
use crate::transport::http::HttpOptions;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Checks a configured [`HttpOptions::max_connections`]: at least one,
/// and no more than the open-file limit leaves room for (beyond it,
/// accepting fails for want of file descriptors, and so does opening
/// plugins' files).
fn check_max_connections(n: usize) -> Result<usize, ConfigError> {
    let key = "http.max_connections";
    match crate::transport::http::connection_room() {
        _ if !(1..=1_000_000).contains(&n) => Err(invalid(key, format!("{n} is not 1..=1000000"))),
        Some(room) if n > room => Err(invalid(
            key,
            format!(
                "{n} is more than the open-file limit (ulimit -n) leaves room for ({room}); \
                 raise the limit or lower max_connections"
            ),
        )),
        _ => Ok(n),
    }
}

/// `[http]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Address to listen on (`--http`).
    pub listen: Option<String>,
    /// Path of the Streamable HTTP endpoint.
    pub path: Option<String>,
    /// Browser origins allowed besides loopback ones.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Longest time to start a response, seconds.
    pub request_timeout_secs: Option<u64>,
    /// Most requests handled at once.
    pub max_concurrent_requests: Option<usize>,
    /// Most SSE streams open at once.
    pub max_streams: Option<usize>,
    /// Server ping interval on idle legacy streams, seconds.
    pub ping_interval_secs: Option<u64>,
    /// SSE keep-alive comment interval, seconds.
    pub keep_alive_secs: Option<u64>,
    /// How long shutdown waits for calls in flight, seconds.
    pub drain_timeout_secs: Option<u64>,
    /// How long a client has to send a request's head, seconds.
    pub header_read_timeout_secs: Option<u64>,
    /// How long a kept-alive connection may wait for its next request,
    /// seconds.
    pub idle_timeout_secs: Option<u64>,
    /// Most connections open at once.
    pub max_connections: Option<usize>,
}

pub(super) fn resolve_http(
    raw: RawHttp,
    flag: Option<String>,
) -> Result<(Option<SocketAddr>, HttpOptions), ConfigError> {
    let listen = match flag.or(raw.listen) {
        None => None,
        Some(text) => Some(text.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "http.listen",
                format!("{text:?} is not an address like 127.0.0.1:8080: {e}"),
            )
        })?),
    };
    let d = HttpOptions::default();
    let secs = |v: Option<u64>, default: Duration, key: &'static str| match v {
        Some(0) => Err(invalid(key, "must be positive".to_owned())),
        Some(s) => Ok(Duration::from_secs(s)),
        None => Ok(default),
    };
    let path = raw.path.unwrap_or(d.path);
    if !path.starts_with('/') || path.len() < 2 {
        return Err(invalid(
            "http.path",
            format!("{path:?} must start with / and name a path"),
        ));
    }
    let options = HttpOptions {
        path,
        allowed_origins: raw.allowed_origins.unwrap_or_default(),
        // A server on a loopback address accepts only loopback Host names.
        loopback_only: listen.is_none_or(|a| a.ip().is_loopback()),
        max_body_bytes: raw.max_body_bytes.unwrap_or(d.max_body_bytes),
        request_timeout: secs(
            raw.request_timeout_secs,
            d.request_timeout,
            "http.request_timeout_secs",
        )?,
        max_concurrent_requests: raw
            .max_concurrent_requests
            .unwrap_or(d.max_concurrent_requests),
        max_streams: raw.max_streams.unwrap_or(d.max_streams),
        ping_interval: secs(
            raw.ping_interval_secs,
            d.ping_interval,
            "http.ping_interval_secs",
        )?,
        keep_alive: secs(raw.keep_alive_secs, d.keep_alive, "http.keep_alive_secs")?,
        drain_timeout: secs(
            raw.drain_timeout_secs,
            d.drain_timeout,
            "http.drain_timeout_secs",
        )?,
        header_read_timeout: secs(
            raw.header_read_timeout_secs,
            d.header_read_timeout,
            "http.header_read_timeout_secs",
        )?,
        idle_timeout: secs(
            raw.idle_timeout_secs,
            d.idle_timeout,
            "http.idle_timeout_secs",
        )?,
        max_connections: match raw.max_connections {
            None => d.max_connections,
            Some(n) => check_max_connections(n)?,
        },
        auth: d.auth,
    };
    Ok((listen, options))
}
