//! Fuzzed input against the real binary, over stdio and over HTTP on
//! 127.0.0.1: JSON-RPC that is almost right (known methods with wrong
//! types, odd ids, random `_meta`, headers that disagree), random JSON,
//! and raw bytes that are not UTF-8. Inputs come from proptest strategies.
//!
//! A crash is: the process exits, a probe (a `ping` on stdio, `/healthz`
//! over HTTP) gets no answer, stdout carries something that is not one
//! JSON message per line, or HTTP answers 5xx other than 503 (a limit).
//!
//! The test suite runs a bounded number of inputs; `cargo xtask fuzz
//! --secs N` runs each transport for N seconds (`BERTH_FUZZ_SECS`) and
//! prints the counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::http::Served;
use kit::{Client, dist, fixtures};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Inputs per transport in the test suite.
const SUITE_INPUTS: u64 = 1500;
/// A probe after every this many inputs.
const BATCH: u64 = 50;

/// How long to fuzz: `BERTH_FUZZ_SECS` seconds, else [`SUITE_INPUTS`].
struct Budget {
    until: Option<Instant>,
    inputs: u64,
}

impl Budget {
    fn from_env() -> Self {
        match std::env::var("BERTH_FUZZ_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(secs) => Self {
                until: Some(Instant::now() + Duration::from_secs(secs)),
                inputs: u64::MAX,
            },
            None => Self {
                until: None,
                inputs: SUITE_INPUTS,
            },
        }
    }

    fn more(&self, done: u64) -> bool {
        done < self.inputs && self.until.is_none_or(|t| Instant::now() < t)
    }
}

const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
];

const TOOLS: &[&str] = &[
    "hello_greet",
    "counter_increment",
    "counter_get",
    "notes_write",
    "notes_delete",
    "trap_explode",
    "trap_recurse",
    "shapes_area",
    "shapes_broken",
    "hostile_flood",
    "hostile_huge",
    "hostile_announce",
    "berth_session_open",
    "berth_session_close",
    "nope",
];

const KEYS: &[&str] = &[
    "name",
    "arguments",
    "uri",
    "cursor",
    "level",
    "id",
    "text",
    "count",
    "size",
    "bytes",
    "session",
    "side",
    "protocolVersion",
    "capabilities",
    "clientInfo",
    "requestId",
    "progressToken",
    "inputResponses",
    "requestState",
    "ref",
    "argument",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..2000).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        proptest::sample::select(TOOLS).prop_map(Value::from),
        proptest::sample::select(&["2025-11-25", "2024-11-05", "2026-07-28", "1999-01-01"][..])
            .prop_map(Value::from),
        Just(json!("notes://groceries")),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |pairs| {
                    Value::Object(
                        pairs
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn meta() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        })),
        value(),
    ]
}

/// A JSON-RPC message that is close to right.
fn message() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(json!("2.0")), Just(json!("2.0")), scalar()],
        prop_oneof![(0i64..1000).prop_map(Value::from), scalar(), value()],
        prop_oneof![
            proptest::sample::select(METHODS).prop_map(Value::from),
            scalar()
        ],
        proptest::sample::select(TOOLS),
        value(),
        meta(),
        any::<u8>(),
    )
        .prop_map(|(jsonrpc, id, method, tool, args, meta, shape)| {
            let mut params = json!({"name": tool, "arguments": args});
            if !meta.is_null() {
                params["_meta"] = meta;
            }
            let mut m = json!({"jsonrpc": jsonrpc, "method": method, "params": params});
            if shape % 5 != 0 {
                m["id"] = id;
            }
            if shape % 7 == 0 {
                m["params"] = json!(shape);
            }
            m
        })
}

/// One line of input: bytes with no newline in them.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => message().prop_map(|m| m.to_string().into_bytes()),
        1 => value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => (message(), any::<usize>(), any::<u8>()).prop_map(|(m, at, b)| {
            let mut bytes = m.to_string().into_bytes();
            let at = at % bytes.len().max(1);
            bytes.insert(at, b);
            bytes
        }),
    ]
    .prop_map(|mut bytes| {
        bytes.retain(|b| *b != b'\n');
        bytes
    })
}

fn runner() -> TestRunner {
    // Each run differs, unless BERTH_FUZZ_SEED pins one.
    let seed: u64 = std::env::var("BERTH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("fuzz seed {seed} (BERTH_FUZZ_SEED)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

fn sample<S: Strategy>(runner: &mut TestRunner, s: &S) -> S::Value {
    s.new_tree(runner).unwrap().current()
}

/// The plugins fuzzed: examples without `slow`, and the fixtures that
/// misbehave quickly; every call is cut at 1 s.
fn fuzz_setup() -> (PathBuf, PathBuf) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-{}", std::process::id()));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    for name in ["hello", "counter", "notes"] {
        let file = format!("{name}.wasm");
        std::fs::copy(dist().join(&file), plugins.join(&file)).unwrap();
    }
    for name in ["trap", "shapes", "hostile"] {
        for ext in ["wasm", "toml"] {
            let file = format!("{name}.{ext}");
            let _ = std::fs::copy(fixtures().join(&file), plugins.join(&file));
        }
    }
    let config = dir.join("berth.toml");
    std::fs::write(
        &config,
        "[limits]\ndeadline_ms = 1000\n[http]\nrequest_timeout_secs = 10\n",
    )
    .unwrap();
    (plugins, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_stdio_lines_never_crash_berth_or_break_framing() {
    let budget = Budget::from_env();
    let (plugins, config) = fuzz_setup();
    let mut c = Client::serve_with(
        &["--log", "error", "--config", config.to_str().unwrap()],
        &[&plugins],
    );
    let mut runner = runner();
    let strategy = line();
    let (mut inputs, mut probes) = (0u64, 0u64);
    while budget.more(inputs) {
        for _ in 0..BATCH {
            let mut bytes = sample(&mut runner, &strategy);
            bytes.push(b'\n');
            c.send_bytes(&bytes).await;
            inputs += 1;
        }
        probes += 1;
        let id = json!(format!("probe-{probes}"));
        c.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
            .await;
        // `recv` fails the test if a line is not JSON or nothing comes.
        loop {
            let msg = c.recv().await;
            if msg["id"] == id && msg.get("method").is_none() {
                break;
            }
        }
        c.notifications.clear();
    }
    eprintln!("stdio fuzz: {inputs} inputs, {probes} probes, 0 crashes");
    assert!(c.finish().await.success(), "berth exited cleanly");
}

/// One raw HTTP/1.1 request on its own connection; the status code, or
/// `None` if nothing came back in time.
async fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> Option<u16> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    tcp.write_all(request).await.ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while !head.windows(2).any(|w| w == b"\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()?;
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace().nth(1)?.parse().ok()
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("2026-07-28".to_owned()),
        Just("2025-11-25".to_owned()),
        Just("tools/call".to_owned()),
        Just("hello_greet".to_owned()),
        Just("application/json, text/event-stream".to_owned()),
        Just("http://evil.example".to_owned()),
        Just("localhost:80@evil.com".to_owned()),
        Just("[::1]evil.com".to_owned()),
        Just("=?base64?aGVsbG8=?=".to_owned()),
    ]
}

/// A whole HTTP request: method, path, headers and a body from [`line`].
fn http_request() -> impl Strategy<Value = Vec<u8>> {
    const HEADERS: &[&str] = &[
        "Accept",
        "Content-Type",
        "Origin",
        "Host",
        "Mcp-Session-Id",
        "MCP-Protocol-Version",
        "Mcp-Method",
        "Mcp-Name",
        "Mcp-Param-Note-Id",
        "Last-Event-ID",
        "Authorization",
        "Expect",
        "Transfer-Encoding",
    ];
    (
        proptest::sample::select(&["POST", "POST", "POST", "GET", "DELETE", "PUT", "OPTIONS"][..]),
        proptest::sample::select(
            &[
                "/mcp",
                "/mcp",
                "/mcp",
                "/messages?session_id=x",
                "/metrics",
                "/readyz",
                "/mcp/..",
                "/%ff",
            ][..],
        ),
        prop::collection::vec((proptest::sample::select(HEADERS), header_value()), 0..6),
        line(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(method, path, mut headers, body, lie_about_length, consistent)| {
                // Half the requests carry the headers their body calls for, so
                // the fuzz gets past header validation into dispatch.
                if consistent && let Ok(msg) = serde_json::from_slice::<Value>(&body) {
                    headers.retain(|(h, _)| !h.starts_with("Mcp") && !h.starts_with("MCP"));
                    headers.push(("MCP-Protocol-Version", "2026-07-28".to_owned()));
                    headers.push(("Accept", "application/json, text/event-stream".to_owned()));
                    if let Some(m) = msg["method"].as_str() {
                        headers.push(("Mcp-Method", m.to_owned()));
                    }
                    if let Some(n) = msg["params"]["name"].as_str() {
                        headers.push(("Mcp-Name", n.to_owned()));
                    }
                }
                let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
                if !headers.iter().any(|(h, _)| *h == "Host") {
                    req.push_str("Host: 127.0.0.1\r\n");
                }
                if !headers.iter().any(|(h, _)| *h == "Content-Type") {
                    req.push_str("Content-Type: application/json\r\n");
                }
                for (h, v) in &headers {
                    req.push_str(&format!("{h}: {v}\r\n"));
                }
                // A length shorter than the body: the rest reads as a second,
                // malformed request on the same connection.
                let length = if lie_about_length {
                    body.len() / 2
                } else {
                    body.len()
                };
                req.push_str(&format!("Content-Length: {length}\r\n\r\n"));
                let mut bytes = req.into_bytes();
                bytes.extend_from_slice(&body);
                bytes
            },
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_http_requests_never_crash_berth_or_get_a_5xx() {
    let budget = Budget::from_env();
    let (plugins, config) = fuzz_setup();
    // The launcher waits for the `listening on` line, logged at info.
    let served = Served::start(
        &[
            "--log",
            "warn,berth=info",
            "--config",
            config.to_str().unwrap(),
        ],
        &[&plugins],
    )
    .await;
    let mut runner = runner();
    let strategy = http_request();
    let (mut inputs, mut probes) = (0u64, 0u64);
    let mut statuses = std::collections::BTreeMap::new();
    while budget.more(inputs) {
        for _ in 0..BATCH {
            let request = sample(&mut runner, &strategy);
            let status = raw_request(served.addr, &request).await;
            inputs += 1;
            if let Some(s) = status {
                *statuses.entry(s).or_insert(0u64) += 1;
                assert!(
                    s < 500 || s == 503,
                    "status {s} for {:?}",
                    String::from_utf8_lossy(&request)
                );
            }
        }
        probes += 1;
        let health = raw_request(
            served.addr,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(
            health,
            Some(200),
            "berth still serves after {inputs} inputs"
        );
    }
    eprintln!("http fuzz: {inputs} inputs, {probes} probes, 0 crashes; statuses {statuses:?}");
}
