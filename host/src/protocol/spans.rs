//! The request span of `telemetry`, filled in from the classified
//! request: its era, the legacy session or modern handle, the tenant, and
//! the `traceparent` of its `_meta` (or of its HTTP headers, which the
//! transport copies there). When no span is exported the span is
//! disabled and nothing more is looked at.

use super::connection::Connection;
use super::request::{Method, Request};
use super::tools::SESSION_ARG;
use crate::telemetry::{self, RequestFields};
use serde_json::Value;
use tracing::Span;

/// The span of a request; instrument the request's future with it.
pub(super) fn request_span(conn: &Connection, request: &Request) -> Span {
    let modern = request.modern.is_some();
    let span = telemetry::request_span(&RequestFields {
        method: request.method.name(),
        era: if modern { "modern" } else { "legacy" },
        session: None,
        tenant: Some(conn.principal().tenant.as_str()),
        traceparent: request.meta.traceparent.as_deref(),
    });
    if span.is_disabled() {
        return span;
    }
    if modern {
        let handle = match &request.method {
            Method::CallTool(Ok(call)) => call.arguments.get(SESSION_ARG).and_then(Value::as_str),
            _ => None,
        };
        if let Some(handle) = handle {
            telemetry::record_session(&span, handle);
        }
    } else if let Some(id) = conn.session_id() {
        telemetry::record_session(&span, id.as_str());
    }
    span
}

/// Records the session a request opened (a legacy `initialize`).
pub(super) fn record_opened(span: &Span, conn: &Connection, opened: bool) {
    if opened
        && !span.is_disabled()
        && let Some(id) = conn.session_id()
    {
        telemetry::record_session(span, id.as_str());
    }
}
