//! End to end over HTTP, callers that misbehave or overload: streamed
//! calls whose clients walked away, one caller's backlog against another
//! caller, a caller over its call limit, a call that outlasts its
//! session's idle timeout, and subscribers that stop reading.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kit::dist;
use kit::http::{BOTH, Http, JSON_ONLY, config, modern, open_session, rpc, text};
use kit::{InProcess, InProcessHttp};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// A slow_work call of `steps` × 100 ms that asks for progress, so a
/// legacy session answers it on an SSE stream.
fn streamed_work(id: i64, steps: u32) -> Value {
    rpc(
        id,
        "tools/call",
        json!({"name": "slow_work", "arguments": {"steps": steps, "step_ms": 100},
               "_meta": {"progressToken": id}}),
    )
}

/// The value of a metric line `name` (with its labels) on /metrics.
async fn metric(http: &Http, name: &str) -> Option<f64> {
    let body = http.get("/metrics", &[]).await.body;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn abandoned_streamed_calls_are_stopped_and_do_not_hold_up_a_healthy_call() {
    // A resume grace far longer than the test: what stops the abandoned
    // calls is that others wait for their places.
    let cfg = config("[limits]\nmax_concurrent_calls = 2\n[sessions]\nresume_grace_secs = 600\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(open_session(&http, "2025-11-25").await);
    }
    // 60 calls of 1 s with 2 running at a time: a 30 s backlog if they all
    // ran. Each client walks away as soon as its stream opens.
    const CALLS: i64 = 60;
    for i in 0..CALLS {
        let sid = sessions[i as usize % sessions.len()].as_str();
        let stream = http
            .post_stream(
                "/mcp",
                &[BOTH, ("mcp-session-id", sid)],
                &streamed_work(100 + i, 10),
            )
            .await;
        assert_eq!(stream.status, 200);
        assert_eq!(
            stream.headers.get("content-type").unwrap(),
            "text/event-stream"
        );
        drop(stream);
    }
    let started = Instant::now();
    let r = modern(
        &http,
        1,
        "tools/call",
        json!({"name": "hello_greet", "arguments": {"name": "healthy"}}),
    )
    .await;
    let waited = started.elapsed();
    eprintln!("the healthy call waited {waited:?}");
    assert_eq!(text(&r.json()["result"]), "Hello, healthy!");
    // The calls nobody waits for were stopped as soon as other calls waited
    // for their places, far sooner than the backlog (or the grace) ends.
    assert!(
        waited < Duration::from_secs(15),
        "the healthy call waited {waited:?} behind abandoned calls"
    );
    let cancelled = metric(
        &http,
        r#"berth_tool_calls_total{plugin="slow",tool="slow_work",outcome="cancelled"}"#,
    )
    .await
    .unwrap_or(0.0);
    assert!(
        cancelled >= (CALLS / 2) as f64,
        "only {cancelled} of {CALLS} abandoned calls were stopped"
    );
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn a_call_stream_resumed_after_the_grace_finds_its_call_stopped_with_a_reason() {
    let cfg = config("[sessions]\nresume_grace_secs = 1\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    // A 10 s call; the client sees its first progress, then its
    // connection breaks and it comes back too late.
    let mut stream = http
        .post_stream(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid)],
            &streamed_work(3, 100),
        )
        .await;
    let first = stream.next().await.unwrap().id.unwrap();
    drop(stream);
    let cancelled = r#"berth_tool_calls_total{plugin="slow",tool="slow_work",outcome="cancelled"}"#;
    tokio::time::timeout(kit::WAIT, async {
        while metric(&http, cancelled).await != Some(1.0) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the abandoned call was stopped");
    let resumed = http
        .get_stream(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid), ("last-event-id", &first)],
        )
        .await;
    assert_eq!(resumed.status, 200);
    let events = resumed.collect().await;
    let last = events.last().unwrap().json();
    assert_eq!(last["id"], 3, "{last}");
    let message = last["error"]["message"].as_str().unwrap();
    assert!(message.contains("not resumed within 1 s"), "{message}");
    assert!(events.len() < 50, "the call stopped early");
    std::fs::remove_file(cfg).unwrap();
}

/// A server with API keys for alice and bob (tenant acme) and carol
/// (tenant other), and `extra` configuration.
async fn with_users(extra: &str) -> (InProcessHttp, std::path::PathBuf) {
    let [alice, bob, carol] = ["alice-key", "bob-key", "carol-key"].map(berth::auth::hash_key);
    let cfg = config(&format!(
        "{extra}\n\
         [[auth.api_keys]]\nsubject = \"alice\"\ntenant = \"acme\"\nsha256 = \"{alice}\"\n\
         [[auth.api_keys]]\nsubject = \"bob\"\ntenant = \"acme\"\nsha256 = \"{bob}\"\n\
         [[auth.api_keys]]\nsubject = \"carol\"\ntenant = \"other\"\nsha256 = \"{carol}\"\n"
    ));
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    (server, cfg)
}

/// initialize + initialized as the holder of `key`; returns the session id.
async fn session_of(http: &Http, key: &str) -> String {
    let auth = format!("Bearer {key}");
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "berth-tests", "version": "1"}}),
    );
    let r = http
        .post("/mcp", &[BOTH, ("authorization", &auth)], &init)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    http.post(
        "/mcp",
        &[BOTH, ("authorization", &auth), ("mcp-session-id", &sid)],
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    sid
}

/// A JSON-answered legacy tool call of `key` in session `sid`.
async fn call_as(http: &Http, key: &str, sid: &str, id: i64, name: &str, args: Value) -> Value {
    let auth = format!("Bearer {key}");
    http.post(
        "/mcp",
        &[JSON_ONLY, ("authorization", &auth), ("mcp-session-id", sid)],
        &rpc(id, "tools/call", json!({"name": name, "arguments": args})),
    )
    .await
    .json()
}

#[tokio::test]
async fn waiting_calls_take_turns_so_one_callers_backlog_does_not_delay_another() {
    let (server, cfg) = with_users("[limits]\nmax_concurrent_calls = 2\n").await;
    let http = server.client();
    let alice = session_of(&http, "alice-key").await;
    // Alice queues 16 calls of 1 s (an 8 s backlog on 2 places); each
    // stream is open once its call is queued.
    let mut backlog = Vec::new();
    for i in 0..16 {
        let stream = http
            .post_stream(
                "/mcp",
                &[
                    BOTH,
                    ("authorization", "Bearer alice-key"),
                    ("mcp-session-id", &alice),
                ],
                &streamed_work(10 + i, 10),
            )
            .await;
        assert_eq!(stream.status, 200);
        backlog.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let done = r#"berth_tool_calls_total{plugin="slow",tool="slow_work",outcome="ok"}"#;
    // Bob (same tenant) and Carol (another tenant) each get one of the
    // next turns, not a place behind Alice's whole backlog: while their
    // call waits, only a round or two of Alice's calls end.
    for (key, name) in [("bob-key", "bob"), ("carol-key", "carol")] {
        let sid = session_of(&http, key).await;
        let before = metric(&http, done).await.unwrap_or(0.0);
        let r = call_as(&http, key, &sid, 2, "hello_greet", json!({"name": name})).await;
        assert_eq!(text(&r["result"]), format!("Hello, {name}!"));
        let waited_for = metric(&http, done).await.unwrap_or(0.0) - before;
        assert!(
            waited_for <= 6.0,
            "{name}'s call waited for {waited_for} of Alice's 16 calls ({before} were done)"
        );
    }
    // Alice's calls all complete.
    for stream in backlog {
        let last = stream.collect().await.pop().unwrap().json();
        assert_eq!(text(&last["result"]), "done: 10 steps", "{last}");
    }
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn a_caller_over_its_call_limit_is_refused_clearly_and_others_are_not() {
    let (server, cfg) = with_users(
        "[limits]\nmax_concurrent_calls = 1\nmax_calls_per_user = 2\n\
         [sessions]\nresume_grace_secs = 30\n",
    )
    .await;
    let http = server.client();
    let alice = session_of(&http, "alice-key").await;
    let headers = [
        BOTH,
        ("authorization", "Bearer alice-key"),
        ("mcp-session-id", alice.as_str()),
    ];
    // One running, one waiting: Alice's limit.
    let mut held = Vec::new();
    for i in 0..2 {
        held.push(
            http.post_stream("/mcp", &headers, &streamed_work(10 + i, 10))
                .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = call_as(
        &http,
        "alice-key",
        &alice,
        3,
        "hello_greet",
        json!({"name": "again"}),
    )
    .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let message = text(&refused["result"]);
    assert!(
        message.contains("max_calls_per_user") && message.contains('2'),
        "{message}"
    );
    let bob = session_of(&http, "bob-key").await;
    let r = call_as(
        &http,
        "bob-key",
        &bob,
        2,
        "hello_greet",
        json!({"name": "bob"}),
    )
    .await;
    assert_eq!(text(&r["result"]), "Hello, bob!");
    assert_eq!(
        metric(
            &http,
            r#"berth_tool_calls_total{plugin="hello",tool="hello_greet",outcome="busy"}"#
        )
        .await,
        Some(1.0)
    );
    for stream in held {
        let last = stream.collect().await.pop().unwrap().json();
        assert_eq!(text(&last["result"]), "done: 10 steps");
    }
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn a_call_longer_than_the_idle_timeout_is_answered_and_keeps_its_session() {
    let cfg = config("[sessions]\nidle_timeout_secs = 2\ncleanup_interval_secs = 1\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    let session = [JSON_ONLY, ("mcp-session-id", sid.as_str())];
    // Sweeps pass, and the idle timeout twice over, while the call runs.
    let r = http
        .post(
            "/mcp",
            &session,
            &rpc(
                2,
                "tools/call",
                json!({"name": "slow_work", "arguments": {"steps": 4, "step_ms": 1000}}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(text(&r.json()["result"]), "done: 4 steps");
    // The session is idle from the end of the call, not its start.
    let r = http
        .post(
            "/mcp",
            &session,
            &rpc(3, "tools/call", json!({"name": "counter_increment"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(text(&r.json()["result"]), "1");
    // Idle, it still expires (a ping would keep it alive: wait longer than
    // the timeout before each).
    let gone = tokio::time::timeout(kit::WAIT, async {
        loop {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let r = http
                .post("/mcp", &session, &rpc(4, "ping", json!({})))
                .await;
            if r.status == 404 {
                break;
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "the idle session expired");
    std::fs::remove_file(cfg).unwrap();
}

/// A connection whose receiving side is cramped (a small window of small
/// segments), so a client that does not read fills the server's buffers
/// after about a hundred kilobytes rather than megabytes.
fn cramped(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_tcp_mss(256).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    TcpStream::from_std(socket.into()).unwrap()
}

/// Sends `req` on a cramped connection and returns the response, whose
/// body nobody reads until the test says so.
async fn send_cramped(addr: SocketAddr, req: Request<Full<Bytes>>) -> Response<Incoming> {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(cramped(addr)))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    tokio::time::timeout(kit::WAIT, sender.send_request(req))
        .await
        .expect("response in time")
        .unwrap()
}

/// The messages of an SSE body, read to its end.
async fn read_events(resp: Response<Incoming>) -> Vec<Value> {
    let bytes = tokio::time::timeout(kit::WAIT, resp.into_body().collect())
        .await
        .expect("the stream ends in time")
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    text.split("\n\n")
        .filter_map(|block| {
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn subscribers_that_stop_reading_are_closed_with_a_reason_and_counted() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let addr = server.addr;
    // A 2026-07-28 subscriber...
    let mut params = json!({"notifications": {"resourceSubscriptions": ["notes://n"]}});
    params["_meta"] = kit::modern_meta();
    let listen = Request::post("/mcp")
        .header("host", addr.to_string())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(Full::new(Bytes::from(
            rpc(9, "subscriptions/listen", params).to_string(),
        )))
        .unwrap();
    let modern_sub = send_cramped(addr, listen).await;
    assert_eq!(modern_sub.status(), 200);
    // ...and a legacy one, on its session's GET stream.
    let sid = open_session(&http, "2025-11-25").await;
    let r = http
        .post(
            "/mcp",
            &[JSON_ONLY, ("mcp-session-id", &sid)],
            &rpc(2, "resources/subscribe", json!({"uri": "notes://n"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let get = Request::get("/mcp")
        .header("host", addr.to_string())
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let legacy_sub = send_cramped(addr, get).await;
    assert_eq!(legacy_sub.status(), 200);
    // Neither reads while the note changes over and over.
    let lagged = r#"berth_subscribers_closed_total{reason="lagged"}"#;
    let mut writers = Vec::new();
    for _ in 0..4 {
        writers.push(open_session(&http, "2025-11-25").await);
    }
    let mut writes = 0;
    let deadline = Instant::now() + kit::WAIT;
    while metric(&http, lagged).await != Some(2.0) {
        assert!(
            writes < 20_000 && Instant::now() < deadline,
            "after {writes} updates, the subscribers were not closed"
        );
        let batch = writers.iter().map(|sid| {
            let sid = sid.clone();
            async move {
                for i in 0..25 {
                    let r = http
                        .post(
                            "/mcp",
                            &[JSON_ONLY, ("mcp-session-id", &sid)],
                            &rpc(
                                10 + i,
                                "tools/call",
                                json!({"name": "notes_write", "arguments": {"id": "n", "text": "x"}}),
                            ),
                        )
                        .await;
                    assert_eq!(r.status, 200);
                }
            }
        });
        futures_util::future::join_all(batch).await;
        writes += 100;
    }
    eprintln!("subscribers closed after {writes} updates");
    let dropped = metric(&http, "berth_subscriber_events_dropped_total")
        .await
        .unwrap();
    assert!(dropped >= 2.0, "{dropped} notifications counted as lost");
    // Reading now, each subscriber finds what was queued, then the reason
    // its stream ends.
    let events = read_events(modern_sub).await;
    assert_eq!(
        events[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    let last = events.last().unwrap();
    assert_eq!(last["id"], 9, "{last}");
    assert_eq!(last["error"]["data"]["reason"], "lagged", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("listen again")
    );
    let updates = events
        .iter()
        .filter(|e| e["method"] == "notifications/resources/updated")
        .count();
    assert!(
        updates > 0 && updates < writes,
        "{updates} of {writes} updates"
    );
    let events = read_events(legacy_sub).await;
    let last = events.last().unwrap();
    assert_eq!(last["method"], "notifications/message", "{last}");
    assert_eq!(last["params"]["data"]["reason"], "lagged", "{last}");
    // The server goes on serving, subscribers included.
    let r = http.get("/healthz", &[]).await;
    assert_eq!(r.status, 200);
}
