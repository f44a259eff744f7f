//! Operational endpoints: liveness, readiness and Prometheus metrics.

use super::HttpState;
use crate::protocol::metrics::LATENCY_BUCKETS;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::Arc;

/// GET /healthz: the process is up.
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// GET /readyz: plugins are loaded and at least one tool is served. The
/// count is what `tools/list` shows (built-in session tools included).
pub(super) async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
    let tools = state.server.listed_tool_count();
    if tools == 0 {
        return (StatusCode::SERVICE_UNAVAILABLE, "no tools served\n").into_response();
    }
    let plugins = state.server.plugins().registry().plugins().len();
    format!("ready: {plugins} plugins, {tools} tools\n").into_response()
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// GET /metrics: Prometheus text format.
pub(super) async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let mut out = String::with_capacity(4096);
    let sessions = state.server.sessions().snapshot();
    let _ = writeln!(
        out,
        "# HELP berth_sessions Open legacy sessions by state and transport."
    );
    let _ = writeln!(out, "# TYPE berth_sessions gauge");
    for ((s, t), n) in &sessions.by_state {
        let _ = writeln!(
            out,
            "berth_sessions{{state=\"{}\",transport=\"{}\"}} {n}",
            s.as_str(),
            t.as_str()
        );
    }
    let (created, closed, expired) = sessions.totals;
    for (name, help, value) in [
        ("berth_sessions_created_total", "Sessions created.", created),
        ("berth_sessions_closed_total", "Sessions closed.", closed),
        ("berth_sessions_expired_total", "Sessions expired.", expired),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP berth_session_handles Open 2026-07-28 session handles."
    );
    let _ = writeln!(out, "# TYPE berth_session_handles gauge");
    let _ = writeln!(
        out,
        "berth_session_handles {}",
        state.server.handles().len()
    );
    let admission = state.server.plugins().admission();
    let (dropped, lagged) = state.server.subscriber_metrics().snapshot();
    let _ = write!(
        out,
        "# HELP berth_calls_running Plugin calls running.\n# TYPE berth_calls_running gauge\nberth_calls_running {}\n\
         # HELP berth_calls_waiting Plugin calls waiting for a place (admitted round-robin).\n# TYPE berth_calls_waiting gauge\nberth_calls_waiting {}\n\
         # HELP berth_subscriber_events_dropped_total Notifications lost by subscribers that fell behind.\n# TYPE berth_subscriber_events_dropped_total counter\nberth_subscriber_events_dropped_total {dropped}\n\
         # HELP berth_subscribers_closed_total Subscriber streams closed by the server.\n# TYPE berth_subscribers_closed_total counter\nberth_subscribers_closed_total{{reason=\"lagged\"}} {lagged}\n",
        admission.running, admission.waiting
    );
    let calls = state.server.metrics().snapshot();
    let _ = writeln!(
        out,
        "# HELP berth_tool_calls_total Tool calls by plugin, tool and outcome."
    );
    let _ = writeln!(out, "# TYPE berth_tool_calls_total counter");
    for ((plugin, tool, outcome), n) in &calls.counts {
        let _ = writeln!(
            out,
            "berth_tool_calls_total{{plugin=\"{}\",tool=\"{}\",outcome=\"{}\"}} {n}",
            escape(plugin),
            escape(tool),
            outcome.as_str()
        );
    }
    let _ = writeln!(out, "# HELP berth_tool_call_seconds Tool call latency.");
    let _ = writeln!(out, "# TYPE berth_tool_call_seconds histogram");
    for (bound, n) in LATENCY_BUCKETS.iter().zip(&calls.buckets) {
        let _ = writeln!(out, "berth_tool_call_seconds_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "berth_tool_call_seconds_bucket{{le=\"+Inf\"}} {}",
        calls.count
    );
    let _ = writeln!(out, "berth_tool_call_seconds_sum {}", calls.sum_seconds);
    let _ = writeln!(out, "berth_tool_call_seconds_count {}", calls.count);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
