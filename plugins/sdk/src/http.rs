//! A small HTTP client over `wasi:http` (feature `http`), on the Bytecode
//! Alliance's `wasip2` bindings. Blocking, one request at a time, bodies in
//! memory with a size cap: what a tool needs to call a web API.
//!
//! berth sends a request only to hosts the plugin's manifest grants
//! (`[grants] http`); anything else fails with [`HttpError::Denied`].
//! Redirects are not followed: a 3xx is returned as is, and following it
//! is a new request, checked again.
//!
//! ```ignore
//! let resp = berth_plugin::http::Request::get("https://api.github.com/zen")
//!     .header("user-agent", "my-plugin")
//!     .send()?;
//! let text = resp.text();
//! ```

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::StreamError;

/// Default cap on a response body, bytes.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not an absolute `http://` or `https://` URL.
    InvalidUrl(String),
    /// berth refused the request (host not granted, plain http or a
    /// private address not allowed); nothing was sent.
    Denied(String),
    /// The response body is over a cap (this client's or berth's).
    TooLarge(String),
    /// A timeout passed.
    Timeout(String),
    /// Anything else (connection, TLS, protocol), as wasi:http names it.
    Failed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            Self::Denied(m) => write!(f, "request refused by the host: {m}"),
            Self::TooLarge(m) => write!(f, "response body too large: {m}"),
            Self::Timeout(m) => write!(f, "timed out: {m}"),
            Self::Failed(m) => write!(f, "request failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

fn from_code(code: &ErrorCode, cap: usize) -> HttpError {
    let name = format!("{code:?}");
    match code {
        ErrorCode::HttpRequestDenied
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::ConnectionLimitReached => HttpError::Denied(name),
        ErrorCode::HttpResponseBodySize(_) => HttpError::TooLarge(format!(
            "{name} (over the host's cap; this client's is {cap} bytes)"
        )),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => HttpError::Timeout(name),
        _ => HttpError::Failed(name),
    }
}

/// A response, body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request being built.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    max_body: usize,
    first_byte_timeout_ms: Option<u64>,
}

impl Request {
    /// A request with `method` (`GET`, `POST`, …) to `url`.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
            max_body: DEFAULT_MAX_BODY,
            first_byte_timeout_ms: None,
        }
    }

    /// A GET request.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A POST request with `body`.
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::new("POST", url).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Caps the response body (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How long to wait for the response to start (berth caps it).
    pub fn first_byte_timeout_ms(mut self, ms: u64) -> Self {
        self.first_byte_timeout_ms = Some(ms);
        self
    }

    /// Sends the request and reads the response.
    ///
    /// # Errors
    /// [`HttpError`]: refused, failed, timed out or too large.
    pub fn send(self) -> Result<Response, HttpError> {
        let cap = self.max_body;
        let (scheme, authority, path) = split_url(&self.url)?;
        let fields = Fields::new();
        for (k, v) in &self.headers {
            fields
                .append(k, v)
                .map_err(|e| HttpError::Failed(format!("header {k}: {e:?}")))?;
        }
        let req = OutgoingRequest::new(fields);
        let method = match self.method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        };
        let bad = |what: &str| HttpError::InvalidUrl(format!("{what} in {}", self.url));
        req.set_method(&method).map_err(|()| bad("method"))?;
        req.set_scheme(Some(&scheme)).map_err(|()| bad("scheme"))?;
        req.set_authority(Some(authority))
            .map_err(|()| bad("host"))?;
        req.set_path_with_query(Some(path))
            .map_err(|()| bad("path"))?;
        let body = req
            .body()
            .map_err(|()| HttpError::Failed("no request body".to_owned()))?;
        let options = RequestOptions::new();
        if let Some(ms) = self.first_byte_timeout_ms {
            let _ = options.set_first_byte_timeout(Some(ms.saturating_mul(1_000_000)));
        }
        let pending =
            outgoing_handler::handle(req, Some(options)).map_err(|e| from_code(&e, cap))?;
        if let Some(bytes) = &self.body {
            let out = body
                .write()
                .map_err(|()| HttpError::Failed("no request body stream".to_owned()))?;
            for chunk in bytes.chunks(4096) {
                out.blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Failed(format!("writing the body: {e:?}")))?;
            }
            drop(out);
        }
        OutgoingBody::finish(body, None).map_err(|e| from_code(&e, cap))?;
        pending.subscribe().block();
        let resp = match pending.get() {
            Some(Ok(Ok(resp))) => resp,
            Some(Ok(Err(code))) => return Err(from_code(&code, cap)),
            Some(Err(())) | None => {
                return Err(HttpError::Failed("the response was lost".to_owned()));
            }
        };
        let status = resp.status();
        let headers = resp.headers().entries();
        let incoming = resp
            .consume()
            .map_err(|()| HttpError::Failed("no response body".to_owned()))?;
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::Failed("no response body stream".to_owned()))?;
        let mut data = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if data.len() + chunk.len() > cap {
                        return Err(HttpError::TooLarge(format!("over {cap} bytes")));
                    }
                    data.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(match wasip2::http::types::http_error_code(&e) {
                        Some(code) => from_code(&code, cap),
                        None => HttpError::Failed(e.to_debug_string()),
                    });
                }
            }
        }
        Ok(Response {
            status,
            headers,
            body: data,
        })
    }
}

/// `https://host:port/path?q` → (scheme, authority, path with query).
fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err(HttpError::InvalidUrl(format!(
            "{url}: only http:// and https:// URLs"
        )));
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(HttpError::InvalidUrl(format!(
            "{url}: no host, or user info"
        )));
    }
    Ok((scheme, authority, if path.is_empty() { "/" } else { path }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        let (s, a, p) = split_url("https://api.github.com/zen?x=1#f").unwrap();
        assert!(matches!(s, Scheme::Https));
        assert_eq!((a, p), ("api.github.com", "/zen?x=1"));
        let (_, a, p) = split_url("http://[::1]:8080").unwrap();
        assert_eq!((a, p), ("[::1]:8080", "/"));
        assert!(split_url("ftp://x").is_err());
        assert!(split_url("https://u@x/").is_err());
    }
}
