//! Span export end to end: the real `berth` binary, configured with
//! `[telemetry] otlp_endpoint`, sends its spans to an OTLP/HTTP receiver
//! in this test (POST /v1/traces, protobuf); without `[telemetry]` it
//! sends nothing, and its stderr log is the same either way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as support;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use support::http::{BOTH, Served, config, open_session, rpc};
use support::{WAIT, dist, modern_meta};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
/// The trace of a request whose context is in its HTTP headers.
const HEADER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const HEADER_PARENT: &str = "b7ad6b7169203331";

/// What the receiver was sent: each POST's path, and the spans decoded.
#[derive(Default)]
struct Received {
    posts: Vec<String>,
    spans: Vec<Span>,
    service_names: Vec<String>,
}

/// An OTLP/HTTP receiver on 127.0.0.1, answering every POST with 200.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Received>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Received::default()));
        let sink = got.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let sink = sink.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let body = req.into_body().collect().await?.to_bytes();
                            let mut got = sink.lock().unwrap();
                            got.posts.push(path);
                            let export = ExportTraceServiceRequest::decode(body).unwrap();
                            for rs in export.resource_spans {
                                let service = rs
                                    .resource
                                    .iter()
                                    .flat_map(|r| &r.attributes)
                                    .find_map(|kv| {
                                        (kv.key == "service.name")
                                            .then(|| any_text(kv.value.as_ref()))
                                    });
                                got.service_names.extend(service.flatten());
                                for ss in rs.scope_spans {
                                    got.spans.extend(ss.spans);
                                }
                            }
                            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::new())))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, got }
    }

    /// The spans named `name` received so far.
    fn spans(&self, name: &str) -> Vec<Span> {
        let got = self.got.lock().unwrap();
        got.spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }
}

fn any_text(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<String> {
    match v?.value.as_ref()? {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(i) => Some(i.to_string()),
        Any::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// The attribute `key` of `span`, as text.
fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| any_text(kv.value.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 2026-07-28 `tools/call` of `hello_greet`, its `_meta` carrying
/// `traceparent` when given.
async fn modern_greet(served: &Served, id: i64, traceparent: Option<&str>) -> Value {
    modern_tool(
        served,
        id,
        "hello_greet",
        json!({"name": "Ada"}),
        traceparent,
    )
    .await
}

/// A 2026-07-28 `tools/call`, answered without an error.
async fn modern_tool(
    served: &Served,
    id: i64,
    name: &str,
    arguments: Value,
    traceparent: Option<&str>,
) -> Value {
    let mut meta = modern_meta();
    if let Some(tp) = traceparent {
        meta["traceparent"] = json!(tp);
    }
    let params = json!({"name": name, "arguments": arguments, "_meta": meta});
    let headers = [
        BOTH,
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", name),
    ];
    let reply = served
        .client()
        .post("/mcp", &headers, &rpc(id, "tools/call", params))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert!(body.get("error").is_none(), "{body}");
    body
}

/// Sends SIGTERM, waits for `served` to exit, and returns how it exited
/// and its whole log (read to its end).
async fn stop(served: &mut Served) -> (std::process::ExitStatus, String) {
    served.terminate();
    let status = served.exit().await;
    // The log is read by a task of its own: let it reach the last line.
    let _ = tokio::time::timeout(WAIT, async {
        while !served.logged("berth stopped") && !served.logged("error:") {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    (status, served.log.lock().unwrap().clone())
}

/// Every log line reads `<time> <LEVEL> <target>: …`: no span's name or
/// fields stand between the level and the target.
fn assert_no_span_prefix(log: &str) {
    for line in log.lines() {
        let mut words = line.split_whitespace();
        let (Some(_time), Some(level), Some(target)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level) {
            assert!(
                target.ends_with(':') && !target.contains('{'),
                "a span in the log line: {line}"
            );
        }
    }
    assert!(
        !log.contains("mcp.request") && !log.contains("plugin.call"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_a_traceparent_is_exported_as_a_request_span_with_a_plugin_call_child() {
    let receiver = Receiver::start().await;
    let toml = format!(
        "[telemetry]\notlp_endpoint = \"http://{}\"\nservice_name = \"berth-under-test\"\n",
        receiver.addr
    );
    let file = config(&toml);
    let file = file.to_str().unwrap();
    let mut served = Served::start(&["--config", file, "--log", "berth=debug"], &[dist()]).await;
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let result = modern_greet(&served, 1, Some(&traceparent)).await;
    assert!(
        result["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Ada")
    );
    // A malformed traceparent is ignored: the call is answered as usual.
    modern_greet(&served, 2, Some("00-not-a-trace-context-01")).await;
    // A legacy session: its request spans carry its id. This call's trace
    // context is in the HTTP `traceparent` header (the body has none).
    let sid = open_session(&served.client(), "2025-11-25").await;
    let header_parent = format!("00-{HEADER_TRACE}-{HEADER_PARENT}-01");
    let legacy = served
        .client()
        .post(
            "/mcp",
            &[
                BOTH,
                ("mcp-session-id", &sid),
                ("traceparent", &header_parent),
            ],
            &rpc(
                3,
                "tools/call",
                json!({"name": "hello_greet", "arguments": {"name": "Lin"}}),
            ),
        )
        .await;
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    // A modern session handle: the span of a call that passes it carries it.
    let opened = modern_tool(&served, 4, "berth_session_open", json!({}), None).await;
    let handle = opened["result"]["structuredContent"]["session"]
        .as_str()
        .unwrap()
        .to_owned();
    modern_tool(
        &served,
        5,
        "counter_increment",
        json!({"session": handle}),
        None,
    )
    .await;
    // Shutting down flushes what is queued.
    let (status, log) = stop(&mut served).await;
    assert!(status.success(), "{status:?}: {log}");
    assert_no_span_prefix(&log);
    assert!(log.contains("ignoring a malformed traceparent"), "{log}");

    let got = receiver.got.lock().unwrap();
    assert!(!got.posts.is_empty(), "nothing was exported");
    assert!(
        got.posts.iter().all(|p| p == "/v1/traces"),
        "{:?}",
        got.posts
    );
    assert!(got.service_names.iter().all(|s| s == "berth-under-test"));
    drop(got);

    let requests = receiver.spans("mcp.request");
    let calls: Vec<&Span> = requests
        .iter()
        .filter(|s| attr(s, "method").as_deref() == Some("tools/call"))
        .collect();
    // The traced greeting, the malformed one, the legacy one, the handle's
    // opening and its use.
    assert_eq!(calls.len(), 5, "{requests:#?}");
    let with_handle = calls
        .iter()
        .find(|s| attr(s, "session").as_deref() == Some(&handle[..11]))
        .unwrap_or_else(|| panic!("no span with handle {handle}: {calls:#?}"));
    assert_eq!(attr(with_handle, "era").as_deref(), Some("modern"));
    let traced = calls
        .iter()
        .find(|s| hex(&s.trace_id) == TRACE)
        .unwrap_or_else(|| panic!("no request span in trace {TRACE}: {calls:#?}"));
    assert_eq!(hex(&traced.parent_span_id), PARENT);
    assert_eq!(attr(traced, "era").as_deref(), Some("modern"));
    assert_eq!(attr(traced, "tenant").as_deref(), Some("default"));
    // The legacy call joined the trace of its HTTP header.
    let legacy = calls
        .iter()
        .find(|s| attr(s, "era").as_deref() == Some("legacy"))
        .expect("a legacy request span");
    assert_eq!(hex(&legacy.trace_id), HEADER_TRACE);
    assert_eq!(hex(&legacy.parent_span_id), HEADER_PARENT);
    // The others (the malformed one too) started traces of their own.
    let untraced: Vec<&&Span> = calls
        .iter()
        .filter(|s| ![TRACE, HEADER_TRACE].contains(&hex(&s.trace_id).as_str()))
        .collect();
    assert_eq!(untraced.len(), 3);
    assert!(untraced.iter().all(|s| s.parent_span_id.is_empty()));
    // Only the start of the id, as in the log: a whole id is a credential.
    assert_eq!(attr(legacy, "session").as_deref(), Some(&sid[..8]));
    let init = requests
        .iter()
        .find(|s| attr(s, "method").as_deref() == Some("initialize"))
        .expect("the initialize span");
    assert_eq!(attr(init, "session").as_deref(), Some(&sid[..8]));

    let plugin_calls = receiver.spans("plugin.call");
    let child = plugin_calls
        .iter()
        .find(|s| s.parent_span_id == traced.span_id)
        .unwrap_or_else(|| panic!("no plugin call under the request: {plugin_calls:#?}"));
    assert_eq!(hex(&child.trace_id), TRACE);
    assert_eq!(attr(child, "plugin").as_deref(), Some("hello"));
    assert_eq!(attr(child, "tool").as_deref(), Some("greet"));
    assert_eq!(attr(child, "op").as_deref(), Some("tools/call"));
    assert_eq!(attr(child, "outcome").as_deref(), Some("ok"));
    for field in ["instantiate_us", "run_us"] {
        let us: u64 = attr(child, field)
            .unwrap_or_else(|| panic!("no {field}: {child:#?}"))
            .parse()
            .unwrap();
        assert!(us < WAIT.as_micros() as u64, "{field} = {us}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_telemetry_nothing_is_exported_and_the_log_has_no_spans() {
    let receiver = Receiver::start().await;
    // The standard OpenTelemetry variables alone do not turn export on.
    let endpoint = format!("http://{}", receiver.addr);
    let mut cmd = support::berth();
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{endpoint}/v1/traces"),
        )
        .args(["--log", "berth=debug"]);
    let mut served = Served::start_command(cmd, &[dist()]).await;
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    modern_greet(&served, 1, Some(&traceparent)).await;
    modern_greet(&served, 2, Some("00-not-a-trace-context-01")).await;
    let sid = open_session(&served.client(), "2025-11-25").await;
    let legacy = served
        .client()
        .post(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid)],
            &rpc(
                3,
                "tools/call",
                json!({"name": "hello_greet", "arguments": {"name": "Lin"}}),
            ),
        )
        .await;
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    let (status, log) = stop(&mut served).await;
    assert!(status.success(), "{status:?}: {log}");
    assert_no_span_prefix(&log);
    // The events inside requests are there, as before.
    assert!(log.contains("initialized"), "{log}");
    assert!(log.contains("ignoring a malformed traceparent"), "{log}");
    assert!(receiver.got.lock().unwrap().posts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_fails_no_call_and_is_logged_at_most_once() {
    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = config(&format!(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}\"\n"
    ));
    let file = file.to_str().unwrap();
    let mut served = Served::start(&["--config", file], &[dist()]).await;
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    for id in 0..20 {
        modern_greet(&served, id, Some(&traceparent)).await;
    }
    // Shutting down tries to send what is queued, and gives up.
    let (status, log) = stop(&mut served).await;
    assert!(status.success(), "{status:?}: {log}");
    let failures = log.matches("cannot export spans").count();
    assert!(failures <= 1, "{log}");
}

#[tokio::test]
async fn a_bad_endpoint_stops_berth_at_startup_with_a_clear_error() {
    let dist = dist().to_str().unwrap();
    for (flag, says) in [
        ("https://collector:4318", "https is not supported"),
        ("collector:4318", "not an http:// URL"),
    ] {
        let run = support::run_berth(
            &[
                "--otlp-endpoint",
                flag,
                "serve",
                "--http",
                "127.0.0.1:0",
                "--plugins",
                dist,
            ],
            &[],
        )
        .await;
        assert_eq!(run.code, Some(2), "{}", run.all());
        assert!(
            run.stderr
                .contains("invalid setting telemetry.otlp_endpoint")
                && run.stderr.contains(says),
            "{}",
            run.all()
        );
    }
}
