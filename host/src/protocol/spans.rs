//! The request span of `telemetry`, filled in from what the protocol
//! knows: the era, the legacy session or modern handle, the tenant, and
//! the `traceparent` in the request's `_meta`. When no span is exported
//! the span is disabled and nothing but the era is looked at.

use super::connection::Connection;
use super::era;
use super::tools::SESSION_ARG;
use crate::telemetry::{self, RequestFields};
use serde_json::{Map, Value};
use tracing::Span;

/// `_meta` key of the caller's W3C trace context.
pub const META_TRACEPARENT: &str = "traceparent";

/// The span of a request; instrument the request's future with it.
pub(super) fn request_span(conn: &Connection, method: &str, params: &Map<String, Value>) -> Span {
    let modern = era::is_modern(params) || method == "server/discover";
    let span = telemetry::request_span(&RequestFields {
        method,
        era: if modern { "modern" } else { "legacy" },
        session: None,
        tenant: Some(conn.principal().tenant.as_str()),
        traceparent: era::meta(params)
            .and_then(|m| m.get(META_TRACEPARENT))
            .and_then(Value::as_str),
    });
    if span.is_disabled() {
        return span;
    }
    if modern {
        let handle = params
            .get("arguments")
            .and_then(|a| a.get(SESSION_ARG))
            .and_then(Value::as_str);
        if let Some(handle) = handle {
            telemetry::record_session(&span, handle);
        }
    } else if let Some(id) = conn.session_id() {
        telemetry::record_session(&span, id.as_str());
    }
    span
}

/// Records the session a request opened (a legacy `initialize`).
pub(super) fn record_opened(span: &Span, conn: &Connection, method: &str) {
    if method == "initialize"
        && !span.is_disabled()
        && let Some(id) = conn.session_id()
    {
        telemetry::record_session(span, id.as_str());
    }
}
