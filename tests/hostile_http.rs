//! End to end over HTTP against hostile or unlucky clients, and shutdown:
//! the real `berth` binary on a real 127.0.0.1 socket. Slow and idle
//! connections are closed, connections are capped, oversized bodies are
//! refused before they are sent, Host and Origin are parsed strictly on
//! every endpoint, and SIGTERM lets calls in flight finish (or stops them
//! with an answer) while listen streams end at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::InProcess;
use kit::http::{BOTH, Http, Raw, Served, Stream, config, open_session, rpc, text};
use kit::{dist, modern_meta};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `slow_work` call asking for progress, legacy era (on a session).
async fn legacy_slow_call(http: &Http, sid: &str, id: i64, steps: u32, step_ms: u32) -> Stream {
    let params = json!({
        "name": "slow_work",
        "arguments": {"steps": steps, "step_ms": step_ms},
        "_meta": {"progressToken": format!("legacy-{id}")}
    });
    let stream = http
        .post_stream(
            "/mcp",
            &[BOTH, ("mcp-session-id", sid)],
            &rpc(id, "tools/call", params),
        )
        .await;
    assert_eq!(stream.status, 200);
    stream
}

const MODERN_CALL: [(&str, &str); 4] = [
    BOTH,
    ("mcp-protocol-version", "2026-07-28"),
    ("mcp-method", "tools/call"),
    ("mcp-name", "slow_work"),
];

/// A `slow_work` call asking for progress, 2026-07-28 era.
async fn modern_slow_call(http: &Http, id: i64, steps: u32, step_ms: u32) -> Stream {
    let mut meta = modern_meta();
    meta["progressToken"] = json!(format!("modern-{id}"));
    let params = json!({
        "name": "slow_work",
        "arguments": {"steps": steps, "step_ms": step_ms},
        "_meta": meta
    });
    let stream = http
        .post_stream("/mcp", &MODERN_CALL, &rpc(id, "tools/call", params))
        .await;
    assert_eq!(stream.status, 200);
    stream
}

/// The rest of a call's stream: notifications (progress, and the
/// plugin's log when it is stopped), then its answer (returned) as the
/// last event.
async fn answer(stream: Stream) -> Value {
    let events = stream.collect().await;
    let (last, before) = events.split_last().expect("the stream carried an answer");
    for e in before {
        let method = e.json()["method"].clone();
        assert!(
            method == "notifications/progress" || method == "notifications/message",
            "{events:?}"
        );
    }
    let last = last.json();
    assert!(last.get("method").is_none(), "no answer in {events:?}");
    last
}

async fn first_progress(stream: &mut Stream) {
    let event = stream.next().await.expect("a progress notification");
    assert_eq!(event.json()["method"], "notifications/progress");
}

fn request(addr: std::net::SocketAddr, head: &str) -> String {
    format!("{head}\r\nHost: {addr}\r\n\r\n")
}

#[tokio::test]
async fn trickled_headers_are_cut_off_and_a_healthy_call_still_gets_through() {
    let cfg = config("[http]\nheader_read_timeout_secs = 2\n");
    // 300 slow clients against 256 file descriptors.
    let server =
        Served::start_with_fd_limit(256, &["--config", cfg.to_str().unwrap()], &[dist()]).await;
    let addr = server.addr;
    let mut trickles = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let mut raw = Raw::connect(addr).await;
        trickles.spawn(async move {
            // A header byte a second, never finishing the head.
            let head = format!("POST /mcp HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
            let bytes = head.bytes().chain(std::iter::repeat(b'a'));
            let mut buf = [0u8; 256];
            for byte in bytes {
                if raw.tcp.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::select! {
                    read = raw.tcp.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    },
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }
    let http = server.client();
    let r = kit::http::modern(
        &http,
        1,
        "tools/call",
        json!({"name": "hello_greet", "arguments": {"name": "patient"}}),
    )
    .await;
    assert_eq!(text(&r.json()["result"]), "Hello, patient!");
    tokio::time::timeout(kit::WAIT, async {
        while let Some(done) = trickles.join_next().await {
            done.unwrap();
        }
    })
    .await
    .expect("the server closed every trickling connection");
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_and_long_answers_are_not() {
    let cfg = config("[http]\nheader_read_timeout_secs = 5\nidle_timeout_secs = 3\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let mut raw = Raw::connect(server.addr).await;
    raw.send(request(server.addr, "GET /healthz HTTP/1.1").as_bytes())
        .await;
    let first = raw.response().await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Kept alive: a second request on the same connection is served.
    raw.send(request(server.addr, "GET /healthz HTTP/1.1").as_bytes())
        .await;
    assert!(raw.response().await.ends_with("ok\n"));
    // Then it idles, and the server hangs up.
    assert!(raw.closed_by_server().await, "an idle connection was kept");

    // An answer streaming for longer than both timeouts is not cut.
    let http = server.client();
    let stream = modern_slow_call(&http, 2, 3, 2500).await;
    assert_eq!(text(&answer(stream).await["result"]), "done: 3 steps");
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_to_be_accepted() {
    let cfg = config("[http]\nmax_connections = 2\nheader_read_timeout_secs = 60\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let first = Raw::connect(server.addr).await;
    let _second = Raw::connect(server.addr).await;
    let mut third = Raw::connect(server.addr).await;
    third
        .send(request(server.addr, "GET /healthz HTTP/1.1").as_bytes())
        .await;
    // Both places are taken (for up to a minute, the header timeout).
    assert_eq!(
        third.response_within(Duration::from_secs(1)).await,
        None,
        "a third connection was served beyond max_connections = 2"
    );
    drop(first);
    let r = third.response().await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn a_huge_declared_body_is_refused_before_100_continue() {
    let cfg = config("[http]\nmax_body_bytes = 1024\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let mut raw = Raw::connect(server.addr).await;
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n\
         Content-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n",
        server.addr
    );
    raw.send(head.as_bytes()).await;
    let r = raw.response().await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    // Within the limit, the client is asked to go on.
    let mut raw = Raw::connect(server.addr).await;
    let body = rpc(1, "ping", json!({})).to_string();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        server.addr,
        body.len()
    );
    raw.send(head.as_bytes()).await;
    let r = raw.response().await;
    assert!(r.starts_with("HTTP/1.1 100"), "{r}");
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn sigterm_finishes_streamed_calls_of_both_eras_and_ends_listen_streams() {
    // The real binary: SIGTERM is a process's business.
    let mut server = Served::start(&[], &[dist()]).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    // Listen streams: the session's GET stream and a modern subscription.
    let get = http
        .get_stream("/mcp", &[BOTH, ("mcp-session-id", &sid)])
        .await;
    assert_eq!(get.status, 200);
    let mut params = json!({"notifications": {"toolsListChanged": true}});
    params["_meta"] = modern_meta();
    let mut listen = http
        .post_stream(
            "/mcp",
            &[
                BOTH,
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "subscriptions/listen"),
            ],
            &rpc(9, "subscriptions/listen", params),
        )
        .await;
    let ack = listen.next().await.unwrap().json();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    // Calls streaming their progress, one per era; the modern one outlasts
    // the listen streams' end by seconds.
    let mut legacy = legacy_slow_call(&http, &sid, 2, 4, 250).await;
    let mut modern = modern_slow_call(&http, 3, 32, 250).await;
    first_progress(&mut legacy).await;
    first_progress(&mut modern).await;

    server.terminate();
    // Listen streams end when shutdown starts, not when berth exits.
    let rest = get.collect().await;
    assert!(
        rest.iter().all(|e| e.json()["method"] == "ping"),
        "{rest:?}"
    );
    assert!(listen.collect().await.is_empty());
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "berth exited while a call was in flight"
    );
    // New connections are refused at once.
    tokio::time::timeout(kit::WAIT, async {
        while !server.logged("no longer accepting connections") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("shutdown began");
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    // Every call in flight finishes, progress and result on its stream.
    let legacy = answer(legacy).await;
    assert_eq!(legacy["id"], 2);
    assert_eq!(text(&legacy["result"]), "done: 4 steps");
    let modern = answer(modern).await;
    assert_eq!(modern["id"], 3);
    assert_eq!(text(&modern["result"]), "done: 32 steps");
    assert!(server.exit().await.success());
}

#[tokio::test]
async fn calls_still_running_at_the_drain_timeout_are_answered_with_a_shutdown_error() {
    let cfg = config("[http]\ndrain_timeout_secs = 1\n");
    // The real binary: SIGTERM is a process's business.
    let mut server = Served::start(&["--config", cfg.to_str().unwrap()], &[dist()]).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    let mut legacy = legacy_slow_call(&http, &sid, 2, 100, 250).await;
    let mut modern = modern_slow_call(&http, 3, 100, 250).await;
    first_progress(&mut legacy).await;
    first_progress(&mut modern).await;
    server.terminate();
    for (stream, id) in [(legacy, 2), (modern, 3)] {
        let answer = answer(stream).await;
        assert_eq!(answer["id"], id);
        assert_eq!(answer["error"]["code"], -32603, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("shutting down"),
            "{answer}"
        );
    }
    assert!(server.exit().await.success());
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn operational_endpoints_refuse_foreign_hosts_and_origins() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(http.get(path, &[]).await.status, 200, "{path}");
        for bad in [("host", "evil.com"), ("origin", "http://evil.com")] {
            let r = http.get(path, &[bad]).await;
            assert_eq!(r.status, 403, "{path} with {bad:?}");
            assert!(!r.body.contains("berth_"), "{path} leaked {}", r.body);
        }
    }
}

#[tokio::test]
async fn hosts_and_origins_that_only_start_like_loopback_are_refused() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    for bad in [
        ("host", "localhost:80@evil.com"),
        ("host", "[::1]evil.com"),
        ("host", "127.0.0.1:80/evil.com"),
        ("origin", "http://localhost:80@evil.com"),
        ("origin", "http://[::1]evil.com"),
    ] {
        let r = http.post("/mcp", &[BOTH, bad], &init).await;
        assert_eq!(r.status, 403, "{bad:?}: {}", r.body);
        assert_eq!(http.get("/metrics", &[bad]).await.status, 403, "{bad:?}");
    }
    let port = server.addr.port().to_string();
    for good in [
        ("host", format!("localhost:{port}")),
        ("host", format!("[::1]:{port}")),
        ("origin", format!("http://127.0.0.1:{port}")),
    ] {
        let r = http.post("/mcp", &[BOTH, (good.0, &good.1)], &init).await;
        assert_eq!(r.status, 200, "{good:?}: {}", r.body);
    }
}
