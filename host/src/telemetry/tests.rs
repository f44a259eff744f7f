//! Unit tests of traceparent parsing, endpoint checking, and the stderr
//! log's blindness to berth's spans.

use super::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[test]
fn a_valid_traceparent_gives_the_callers_trace_and_span() {
    let parsed = parse_traceparent(&format!("00-{TRACE}-{PARENT}-01")).unwrap();
    assert_eq!(parsed.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
    assert_eq!(parsed.parent_id, 0x00f0_67aa_0ba9_02b7);
    assert_eq!(parsed.flags, 1);
    let unsampled = parse_traceparent(&format!("00-{TRACE}-{PARENT}-00")).unwrap();
    assert_eq!(unsampled.flags, 0);
}

#[test]
fn malformed_traceparents_are_ignored() {
    let zeros32 = "0".repeat(32);
    let zeros16 = "0".repeat(16);
    for bad in [
        // Wrong or unknown versions.
        format!("01-{TRACE}-{PARENT}-01"),
        format!("ff-{TRACE}-{PARENT}-01"),
        format!("0-{TRACE}-{PARENT}-01"),
        // All-zero ids.
        format!("00-{zeros32}-{PARENT}-01"),
        format!("00-{TRACE}-{zeros16}-01"),
        // Bad hex: upper case, other letters, a sign, wrong lengths.
        format!("00-{}-{PARENT}-01", TRACE.to_uppercase()),
        format!("00-{}g-{PARENT}-01", &TRACE[..31]),
        format!("00-+{}-{PARENT}-01", &TRACE[..31]),
        format!("00-{TRACE}-{PARENT}-1"),
        format!("00-{TRACE}-{PARENT}-0x"),
        format!("00-{TRACE}0-{PARENT}-01"),
        format!("00-{TRACE}-{}-01", &PARENT[..15]),
        // Extra or missing parts, or nothing.
        format!("00-{TRACE}-{PARENT}-01-extra"),
        format!("00-{TRACE}-{PARENT}"),
        String::new(),
        "garbage".to_owned(),
    ] {
        assert_eq!(parse_traceparent(&bad), None, "{bad}");
    }
}

#[test]
fn an_endpoint_becomes_its_traces_url_and_a_bad_one_says_why() {
    for (given, url) in [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
        ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
        ("http://collector/otlp", "http://collector/otlp/v1/traces"),
        (
            "http://127.0.0.1:4318/v1/traces",
            "http://127.0.0.1:4318/v1/traces",
        ),
    ] {
        assert_eq!(traces_url(given).as_deref(), Ok(url), "{given}");
    }
    for (bad, says) in [
        ("https://collector:4318", "https is not supported"),
        ("ftp://collector", "not an http:// URL"),
        ("127.0.0.1:4318", "not an http:// URL"),
        ("not a url", "is not a URL"),
        ("http://127.0.0.1:4318/?a=b", "query"),
    ] {
        let err = traces_url(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn spans_carry_only_the_start_of_a_session_id_or_handle() {
    assert_eq!(short_id("4a8f9821c0ffee00112233"), "4a8f9821");
    assert_eq!(short_id("bs_0123456789abcdef"), "bs_01234567");
    assert_eq!(short_id("short"), "short");
    assert_eq!(short_id("ééééééééééé"), "éééééééé");
}

/// A writer for the stderr layer that keeps what it was given.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[test]
fn the_stderr_log_neither_shows_nor_creates_berths_spans() {
    let out = Captured::default();
    let subscriber = tracing_subscriber::registry().with(stderr_layer("debug", out.clone(), false));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(n = 1, "outside");
        let request = request_span(&RequestFields {
            method: "tools/call",
            era: "legacy",
            session: Some("s1"),
            tenant: Some("default"),
            traceparent: Some(&format!("00-{TRACE}-{PARENT}-01")),
        });
        assert!(request.is_disabled(), "nothing exports, so no span");
        let call = plugin_call_span("hello", CallTarget::Tool("greet"));
        assert!(call.is_disabled());
        let _request = request.enter();
        let _call = call.enter();
        tracing::info!(n = 1, "inside");
        // A malformed traceparent is logged at debug, never an error.
        drop(request_span(&RequestFields {
            method: "ping",
            traceparent: Some("00-bad"),
            ..RequestFields::default()
        }));
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    // Past the timestamp, the event inside the spans reads as one outside.
    let body = |line: &str| line.split_once(' ').unwrap().1.trim_start().to_owned();
    assert_eq!(
        body(lines[1]).replace("inside", "outside"),
        body(lines[0]),
        "{text}"
    );
    assert!(!text.contains("mcp.request") && !text.contains("plugin.call"));
    assert!(
        lines[2].contains("DEBUG") && lines[2].contains("ignoring a malformed traceparent"),
        "{text}"
    );
}
