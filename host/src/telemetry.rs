//! The host's tracing: its log on stderr and, when `[telemetry]` names an
//! OTLP endpoint, spans exported to a collector over OTLP/HTTP.
//!
//! Owns the subscriber ([`init`]), the two kinds of span and their fields
//! (`mcp.request` per request, [`request_span`]; `plugin.call` per call
//! into a plugin, [`plugin_call_span`]), and W3C `traceparent` parsing.
//! The stderr log is exactly what it was before spans existed: berth's
//! own spans are invisible to it (no span prefix on a line), and they cost
//! nothing when nothing exports them (their callsites are disabled).
//!
//! A leaf: imports only `logging`, another leaf. The exporter is in
//! `telemetry/export.rs`.

mod export;

use crate::logging::EscapedStderr;
use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use std::time::Duration;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The target of berth's spans (and nothing else): the stderr log leaves
/// them out, the exporter takes only them.
const TARGET: &str = "berth::telemetry";

/// The default `[telemetry] service_name`.
pub const DEFAULT_SERVICE_NAME: &str = "berth";

/// How the host traces: its log filter, and where spans go, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// The stderr log's filter (`--log`, `BERTH_LOG`), e.g. `info` or
    /// `berth=debug`; one that does not parse means `info`.
    pub log_filter: String,
    /// The OTLP/HTTP traces URL (see [`traces_url`]); `None` exports
    /// nothing.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
        }
    }
}

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("cannot export spans to {endpoint}")]
    Exporter {
        /// The traces URL.
        endpoint: String,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Export sends on the Tokio runtime; `init` was called outside one.
    #[error("span export needs a Tokio runtime: call telemetry::init inside one")]
    NoRuntime,
    /// A global subscriber was already installed.
    #[error("cannot install the tracing subscriber")]
    Install(#[source] tracing_subscriber::util::TryInitError),
}

/// The OTLP/HTTP traces URL for `[telemetry] otlp_endpoint`: `endpoint`
/// as it is when it already ends in `/v1/traces`, else with `/v1/traces`
/// appended to its path (as collectors listen, e.g. on port 4318).
///
/// # Errors
/// Why `endpoint` is not an absolute `http://` URL with a host (https is
/// not supported: berth sends spans in plain HTTP, to a collector beside
/// it).
pub fn traces_url(endpoint: &str) -> Result<String, String> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e| format!("{endpoint:?} is not a URL like http://127.0.0.1:4318: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "{endpoint:?}: https is not supported; send to a collector on this host or a sidecar over http://"
            ));
        }
        _ => {
            return Err(format!(
                "{endpoint:?} is not an http:// URL like http://127.0.0.1:4318"
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{endpoint:?} has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("{endpoint:?} must not have a query"));
    }
    let path = uri.path().trim_end_matches('/');
    let authority = uri.authority().map_or("", |a| a.as_str());
    Ok(if path.ends_with("/v1/traces") {
        format!("http://{authority}{path}")
    } else {
        format!("http://{authority}{path}/v1/traces")
    })
}

/// Keeps span export running; flushes what is queued and stops the
/// exporter on [`TelemetryGuard::shutdown`] or drop. Shut down (or drop)
/// while the Tokio runtime `init` ran in still runs, and not on one of its
/// worker threads: export sends on that runtime.
#[derive(Debug)]
#[must_use = "dropping the guard stops span export"]
pub struct TelemetryGuard {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports what is queued (waiting at most a few seconds) and stops.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown_with_timeout(export::SHUTDOWN_TIMEOUT)
        {
            tracing::warn!(error = %e, "span export did not finish cleanly");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Installs the global subscriber: the stderr log (escaped, one event a
/// line, colours on a terminal), and span export when configured.
///
/// # Errors
/// [`TelemetryError`]: the exporter cannot be built, there is no Tokio
/// runtime to send on, or a subscriber is already installed.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log = stderr_layer(&config.log_filter, EscapedStderr { ansi }, ansi);
    let Some(endpoint) = &config.otlp_endpoint else {
        tracing_subscriber::registry()
            .with(log)
            .try_init()
            .map_err(TelemetryError::Install)?;
        return Ok(TelemetryGuard { provider: None });
    };
    let provider = export::provider(endpoint, &config.service_name)?;
    let tracer = provider.tracer("berth");
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_filter(Targets::new().with_target(TARGET, LevelFilter::INFO));
    tracing_subscriber::registry()
        .with(log)
        .with(spans)
        .try_init()
        .map_err(TelemetryError::Install)?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// The stderr log as it has always been: `filter` (an `EnvFilter`
/// directive; `info` when it does not parse), without berth's spans.
fn stderr_layer<S, W>(filter: &str, writer: W, ansi: bool) -> impl Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let env = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The hint keeps the env filter's (`And` takes the lower one).
    let not_ours = filter_fn(|meta| !(meta.is_span() && meta.target() == TARGET))
        .with_max_level_hint(LevelFilter::TRACE);
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_filter(not_ours.and(env))
}

/// What a request span records from its start. Plain strings, so any
/// dispatcher can fill it in.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFields<'a> {
    /// The JSON-RPC method, e.g. `tools/call`.
    pub method: &'a str,
    /// `legacy` or `modern`.
    pub era: &'a str,
    /// The legacy session id or the modern session handle, when known
    /// (else record it later with [`record_session`]). The span carries
    /// only its start (see [`short_id`]).
    pub session: Option<&'a str>,
    /// The caller's tenant.
    pub tenant: Option<&'a str>,
    /// The W3C `traceparent` the request came with: its `_meta`
    /// `traceparent`, else its HTTP `traceparent` header. A malformed one
    /// is ignored (logged at debug).
    pub traceparent: Option<&'a str>,
}

/// The span of one request: `mcp.request{method, era, session, tenant}`,
/// a server span whose parent is the caller's `traceparent`, if valid.
/// Instrument the request's future with it.
pub fn request_span(fields: &RequestFields<'_>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "mcp.request",
        otel.kind = "server",
        method = fields.method,
        era = fields.era,
        session = fields.session.map(short_id),
        tenant = fields.tenant,
    );
    if let Some(text) = fields.traceparent {
        match parse_traceparent(text) {
            Some(parent) if !span.is_disabled() => {
                let _ = span.set_parent(parent.context());
            }
            Some(_) => {}
            None => {
                let shown: String = text.chars().take(64).collect();
                tracing::debug!(traceparent = %shown, "ignoring a malformed traceparent");
            }
        }
    }
    span
}

/// Records the session (legacy id or modern handle) once it is known; as
/// in [`RequestFields::session`], only its start.
pub fn record_session(span: &Span, session: &str) {
    span.record("session", short_id(session));
}

/// The start of a session id or handle, which is all a span (like a log
/// line) may carry: whole ids are credentials. The first 8 characters,
/// after a handle's `bs_`.
pub fn short_id(id: &str) -> &str {
    let keep = if id.starts_with("bs_") { 11 } else { 8 };
    id.char_indices()
        .nth(keep)
        .map_or(id, |(end, _)| &id[..end])
}

/// What a plugin call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallTarget<'a> {
    /// `tools/call` of this tool (its plugin-side name).
    Tool(&'a str),
    /// `prompts/get` of this prompt.
    Prompt(&'a str),
    /// `resources/read` of this URI.
    Resource(&'a str),
    /// `resources/list`.
    ResourceList,
    /// `completion/complete`.
    Completion,
}

impl CallTarget<'_> {
    /// The operation, named after the MCP method it serves.
    pub fn op(self) -> &'static str {
        match self {
            Self::Tool(_) => "tools/call",
            Self::Prompt(_) => "prompts/get",
            Self::Resource(_) => "resources/read",
            Self::ResourceList => "resources/list",
            Self::Completion => "completion/complete",
        }
    }
}

/// The span of one call into a plugin: `plugin.call{plugin, op, tool |
/// prompt | uri}`; `outcome`, `instantiate_us` and `run_us` are recorded
/// as they become known ([`record_outcome`], [`record_micros`]).
pub fn plugin_call_span(plugin: &str, target: CallTarget<'_>) -> Span {
    let (tool, prompt, uri) = match target {
        CallTarget::Tool(t) => (Some(t), None, None),
        CallTarget::Prompt(p) => (None, Some(p), None),
        CallTarget::Resource(u) => (None, None, Some(u)),
        CallTarget::ResourceList | CallTarget::Completion => (None, None, None),
    };
    tracing::info_span!(
        target: TARGET,
        "plugin.call",
        plugin,
        op = target.op(),
        tool,
        prompt,
        uri,
        outcome = Empty,
        instantiate_us = Empty,
        run_us = Empty,
        otel.status_code = Empty,
    )
}

/// Records how a plugin call ended: `ok`, `input_required`, or the name
/// of its error (`trap`, `deadline`, …); anything else marks the span as
/// an error.
pub fn record_outcome(span: &Span, outcome: &'static str) {
    span.record("outcome", outcome);
    let status = if matches!(outcome, "ok" | "input_required") {
        "ok"
    } else {
        "error"
    };
    span.record("otel.status_code", status);
}

/// Records `field` (`instantiate_us` or `run_us`) as whole microseconds.
pub fn record_micros(span: &Span, field: &'static str, took: Duration) {
    span.record(field, u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
}

/// A valid W3C `traceparent`: the caller's trace and span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id (not zero).
    pub trace_id: u128,
    /// The caller's span id (not zero).
    pub parent_id: u64,
    /// The trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// An OpenTelemetry context whose remote parent this is.
    fn context(self) -> Context {
        let span = SpanContext::new(
            TraceId::from_bytes(self.trace_id.to_be_bytes()),
            SpanId::from_bytes(self.parent_id.to_be_bytes()),
            TraceFlags::new(self.flags),
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(span)
    }
}

/// Parses a version-00 `traceparent`:
/// `00-<32 lowercase hex>-<16 lowercase hex>-<2 lowercase hex>`, with
/// neither id all zeros. Anything else (another version, wrong lengths,
/// other characters) is `None`.
pub fn parse_traceparent(text: &str) -> Option<TraceParent> {
    let mut parts = text.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || version != "00" {
        return None;
    }
    let hex = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| u128::from_str_radix(s, 16).ok())
            .flatten()
    };
    let trace_id = hex(trace, 32).filter(|t| *t != 0)?;
    let parent_id = hex(parent, 16)
        .and_then(|p| u64::try_from(p).ok())
        .filter(|p| *p != 0)?;
    let flags = hex(flags, 2).and_then(|f| u8::try_from(f).ok())?;
    Some(TraceParent {
        trace_id,
        parent_id,
        flags,
    })
}

#[cfg(test)]
mod tests;
