//! `fetch`: GETs a URL on a host its manifest grants (`[grants] http`) and
//! returns the response body as text. berth, not this code, decides what
//! may be reached: a host not granted, plain http or a private address
//! fails with the wasi:http error berth gives.

use berth_plugin::http::{HttpError, Request};
use berth_plugin::prelude::*;

/// Largest body returned, bytes.
const MAX_BODY: usize = 1 << 20;
/// Most redirects followed (each is a new request, checked again by berth).
const MAX_REDIRECTS: usize = 5;

#[derive(Deserialize, JsonSchema)]
struct GetArgs {
    /// An absolute https:// (or, where allowed, http://) URL.
    url: String,
    /// Most bytes of body to accept (default and at most 1 MiB).
    max_bytes: Option<usize>,
    /// How long to wait for the response to start, ms (berth caps it).
    timeout_ms: Option<u64>,
}

fn get(args: GetArgs) -> ToolResult {
    let cap = args.max_bytes.unwrap_or(MAX_BODY).min(MAX_BODY);
    let mut url = args.url;
    for _ in 0..=MAX_REDIRECTS {
        let mut req = Request::get(&url)
            .header("user-agent", "berth-fetch")
            .max_body(cap);
        if let Some(ms) = args.timeout_ms {
            req = req.first_byte_timeout_ms(ms);
        }
        let resp = req.send().map_err(|e| match e {
            HttpError::InvalidUrl(_) => Error::InvalidParams(e.to_string()),
            HttpError::Denied(_) => Error::Denied(format!("{url}: {e}")),
            _ => Error::Failed(format!("{url}: {e}")),
        })?;
        match (resp.status, resp.header("location")) {
            (300..=399, Some(to)) => url = absolute(&url, &to),
            (400.., _) => {
                return Err(Error::Failed(format!(
                    "HTTP {}: {}",
                    resp.status,
                    resp.text()
                )));
            }
            _ => return Ok(text(resp.text())),
        }
    }
    Err(Error::Failed(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// `to` (a Location header) made absolute against `from`.
fn absolute(from: &str, to: &str) -> String {
    if to.contains("://") {
        return to.to_owned();
    }
    let after_scheme = from.find("://").map_or(0, |i| i + 3);
    let origin_end = from[after_scheme..]
        .find('/')
        .map_or(from.len(), |i| after_scheme + i);
    format!("{}/{}", &from[..origin_end], to.trim_start_matches('/'))
}

berth_plugin::tools![tool(
    "get",
    "Fetches a URL (on a host this plugin is granted) and returns the body as text",
    get
)];
