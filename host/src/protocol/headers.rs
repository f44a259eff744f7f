//! The request-metadata headers of 2026-07-28 Streamable HTTP.
//!
//! `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and, for `tools/call`,
//! the `Mcp-Param-*` header of every argument the tool mirrors
//! (`x-mcp-header`) must be present exactly when the body has the value,
//! and equal to it. `Mcp-Name` and `Mcp-Param-*` may carry the
//! `=?base64?…?=` form, decoded before comparing. Anything else is a
//! `HeaderMismatch` (−32020, HTTP 400) that names the header and says why.
//!
//! Owns those rules; the transport only hands over header values. Must not
//! import `transport`.

use super::error::RpcError;
use super::request::{Method, Request};
use super::server::Server;
use crate::plugin::MirroredParam;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A request header as the transport found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header<'h> {
    /// Not sent.
    Absent,
    /// Sent once, with these bytes.
    One(&'h [u8]),
    /// Sent more than once: ambiguous, refused.
    Repeated,
}

/// Most characters of a value quoted in an error message.
const SHOWN: usize = 64;

fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(SHOWN).collect();
    if out.len() < value.len() {
        out.push('…');
    }
    format!("'{out}'")
}

fn mismatch(header: &str, detail: String) -> RpcError {
    RpcError::HeaderMismatch {
        header: header.to_owned(),
        detail,
    }
}

/// Decodes the `=?base64?…?=` form; any other value is literal. `None`
/// when the form is used but is not padded standard Base64 of UTF-8.
pub fn decode(value: &str) -> Option<Cow<'_, str>> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Cow::Owned),
        None => Some(Cow::Borrowed(value)),
    }
}

/// `raw` decoded (see [`decode`]), or the error that names `name`.
fn decoded<'a>(name: &str, raw: &'a str) -> Result<Cow<'a, str>, RpcError> {
    decode(raw).ok_or_else(|| {
        mismatch(
            name,
            format!("{name} header is not valid =?base64?…?= (padded standard Base64 of UTF-8)"),
        )
    })
}

/// The error for a header whose value is not the body's.
fn differs(name: &str, header: &str, body: &str) -> RpcError {
    mismatch(
        name,
        format!(
            "{name} header value {} does not match body value {}",
            shown(header),
            shown(body)
        ),
    )
}

/// The header's text, if sent: refused when repeated or when it holds
/// anything but visible ASCII, space and tab.
fn text<'h>(name: &str, header: Header<'h>) -> Result<Option<&'h str>, RpcError> {
    match header {
        Header::Absent => Ok(None),
        Header::Repeated => Err(mismatch(name, format!("{name} header is sent more than once"))),
        Header::One(bytes) => bytes
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten()
            .map(Some)
            .ok_or_else(|| {
                mismatch(
                    name,
                    format!("{name} header holds characters a header value must not (use the =?base64?…?= form)"),
                )
            }),
    }
}

/// A header that must be sent exactly when the body has the value, and
/// equal it (decoded first when `encoded`).
fn equal(
    name: &str,
    header: Header<'_>,
    body: Option<&str>,
    encoded: bool,
) -> Result<(), RpcError> {
    let sent = match text(name, header)? {
        Some(raw) if encoded => Some(decoded(name, raw)?),
        Some(raw) => Some(Cow::Borrowed(raw)),
        None => None,
    };
    match (sent.as_deref(), body) {
        (Some(h), Some(b)) if h == b => Ok(()),
        (Some(h), Some(b)) => Err(differs(name, h, b)),
        (None, Some(b)) => Err(mismatch(
            name,
            format!("{name} header is missing; the body has {}", shown(b)),
        )),
        (Some(h), None) => Err(mismatch(
            name,
            format!(
                "{name} header value {} has no counterpart in the body",
                shown(h)
            ),
        )),
        // Neither says anything: the body's own checks answer that.
        (None, None) => Ok(()),
    }
}

/// Whether a decoded header value says what the argument says: strings
/// exactly, booleans as `true`/`false`, numbers numerically (`42.0` is 42).
fn same(argument: &Value, header: &str) -> bool {
    match argument {
        Value::String(s) => s == header,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => match (n.as_i64(), header.parse::<i64>()) {
            (Some(a), Ok(h)) => a == h,
            _ => {
                matches!((n.as_f64(), header.parse::<f64>()), (Some(a), Ok(h)) if a.is_finite() && a == h)
            }
        },
        _ => false,
    }
}

/// One mirrored argument against its `Mcp-Param-*` header.
fn mirrored(
    param: &MirroredParam,
    arguments: Option<&Map<String, Value>>,
    header: Header<'_>,
) -> Result<(), RpcError> {
    let name = param.header.as_str();
    let sent = text(name, header)?;
    let value = param.value_in(arguments);
    match (sent, value) {
        (None, None) => Ok(()),
        (None, Some(v)) => Err(mismatch(
            name,
            format!("{name} header is missing, but {} is {v}", param.argument()),
        )),
        (Some(_), None) => Err(mismatch(
            name,
            format!("{name} header is sent, but {} is absent", param.argument()),
        )),
        (Some(raw), Some(v)) => {
            let decoded = decoded(name, raw)?;
            if same(v, &decoded) {
                Ok(())
            } else {
                let body = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                Err(differs(name, &decoded, &body))
            }
        }
    }
}

impl Server {
    /// Checks a 2026-07-28 request's headers against its body. `header`
    /// looks a header up by name, regardless of case (as HTTP requires).
    ///
    /// # Errors
    /// `HeaderMismatch`, naming the first header that is missing, repeated,
    /// malformed or different from the body.
    pub(super) fn check_modern_headers<'h>(
        &self,
        request: &Request,
        header: impl Fn(&str) -> Header<'h>,
    ) -> Result<(), RpcError> {
        equal(
            "MCP-Protocol-Version",
            header("mcp-protocol-version"),
            request.meta.version(),
            false,
        )?;
        equal(
            "Mcp-Method",
            header("mcp-method"),
            Some(request.method.name()),
            false,
        )?;
        let Some(name) = request.mcp_name() else {
            return Ok(());
        };
        equal("Mcp-Name", header("mcp-name"), Some(name), true)?;
        let Method::CallTool(Ok(call)) = &request.method else {
            return Ok(());
        };
        self.plugins().with_registry(|registry| {
            let Some(entry) = registry.tool(&call.name) else {
                return Ok(());
            };
            for param in &entry.info.mirrored {
                mirrored(param, Some(&call.arguments), header(&param.header))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_map(v: &Value) -> Option<&Map<String, Value>> {
        v.as_object()
    }
    use serde_json::json;

    fn region() -> MirroredParam {
        MirroredParam {
            header: "Mcp-Param-Region".to_owned(),
            path: vec!["region".to_owned()],
        }
    }

    fn detail(r: Result<(), RpcError>) -> String {
        match r {
            Err(RpcError::HeaderMismatch { detail, .. }) => detail,
            other => panic!("not a header mismatch: {other:?}"),
        }
    }

    #[test]
    fn the_base64_form_is_decoded_and_anything_else_is_literal() {
        assert_eq!(decode("plain").as_deref(), Some("plain"));
        assert_eq!(
            decode("=?base64?SGVsbG8sIOS4lueVjA==?=").as_deref(),
            Some("Hello, 世界")
        );
        assert_eq!(
            decode("=?base64?SGVsbG8=").as_deref(),
            Some("=?base64?SGVsbG8=")
        );
        assert_eq!(decode("SGVsbG8=?=").as_deref(), Some("SGVsbG8=?="));
        assert_eq!(decode("=?base64?SGVsbG8?="), None, "unpadded");
        assert_eq!(decode("=?base64?SGVs!!!bG8=?="), None, "not the alphabet");
        assert_eq!(decode("=?base64?/w==?="), None, "not UTF-8");
    }

    #[test]
    fn a_mirrored_argument_needs_its_header_exactly_when_it_has_a_value() {
        let p = region();
        let args = json!({"region": "us-west1"});
        assert!(mirrored(&p, args.as_object(), Header::One(b"us-west1")).is_ok());
        assert!(
            mirrored(
                &p,
                as_map(&json!({"region": "Hello"})),
                Header::One(b"=?base64?SGVsbG8=?=")
            )
            .is_ok()
        );
        assert!(mirrored(&p, as_map(&json!({})), Header::Absent).is_ok());
        assert!(mirrored(&p, as_map(&json!({"region": null})), Header::Absent).is_ok());
        assert!(mirrored(&p, None, Header::Absent).is_ok());
        assert!(
            detail(mirrored(&p, args.as_object(), Header::Absent))
                .contains("missing, but arguments.region is \"us-west1\"")
        );
        assert!(
            detail(mirrored(&p, as_map(&json!({})), Header::One(b"x")))
                .contains("arguments.region is absent")
        );
        assert!(
            detail(mirrored(&p, args.as_object(), Header::One(b"eu-west1")))
                .contains("'eu-west1' does not match body value 'us-west1'")
        );
        assert!(
            detail(mirrored(
                &p,
                args.as_object(),
                Header::One(b"=?base64?dXMtd2VzdDE?=")
            ))
            .contains("not valid")
        );
        assert!(
            detail(mirrored(&p, args.as_object(), Header::One(b"us\x01west1")))
                .contains("characters")
        );
        assert!(
            detail(mirrored(&p, args.as_object(), Header::One("ü".as_bytes())))
                .contains("characters")
        );
        assert!(
            detail(mirrored(&p, args.as_object(), Header::Repeated)).contains("more than once")
        );
    }

    #[test]
    fn integers_compare_as_numbers_and_booleans_as_lowercase_words() {
        assert!(same(&json!(42), "42"));
        assert!(same(&json!(42), "42.0"));
        assert!(same(&json!(42.0), "42"));
        assert!(same(&json!(-7), "-7"));
        assert!(!same(&json!(42), "43"));
        assert!(!same(&json!(42), "0x2a"));
        assert!(!same(&json!(42), " 42"));
        assert!(same(&json!(9_007_199_254_740_991_i64), "9007199254740991"));
        assert!(!same(&json!(9_007_199_254_740_991_i64), "9007199254740990"));
        assert!(same(&json!(true), "true"));
        assert!(!same(&json!(true), "True"));
        assert!(!same(&json!(false), "0"));
        assert!(!same(&json!({"a": 1}), "{\"a\":1}"));
    }

    #[test]
    fn standard_headers_say_what_is_wrong() {
        let ok = |_: &str| Header::Absent;
        assert_eq!(
            detail(equal(
                "Mcp-Method",
                ok("mcp-method"),
                Some("tools/call"),
                false
            )),
            "Mcp-Method header is missing; the body has 'tools/call'"
        );
        assert_eq!(
            detail(equal("Mcp-Name", Header::One(b"foo"), Some("bar"), true)),
            "Mcp-Name header value 'foo' does not match body value 'bar'"
        );
        assert!(
            equal(
                "Mcp-Name",
                Header::One(b"=?base64?YmFy?="),
                Some("bar"),
                true
            )
            .is_ok()
        );
        assert!(
            detail(equal(
                "Mcp-Name",
                Header::One(b"=?base64?YmFy?="),
                Some("bar"),
                false
            ))
            .contains("does not match")
        );
        let long = "x".repeat(200);
        assert!(
            detail(equal(
                "Mcp-Name",
                Header::One(long.as_bytes()),
                Some("bar"),
                true
            ))
            .contains(&format!("'{}…'", "x".repeat(64)))
        );
    }
}
