//! End to end over HTTP, streams: SSE answers and cancellation, resumption
//! with `Last-Event-ID`, pings and keep-alives, the legacy HTTP+SSE
//! transport, subscriptions and list changes, idle expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::InProcess;
use kit::http::{BOTH, Http, JSON_ONLY, config, open_session, rpc, text};
use kit::{dist, modern_meta};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn modern_progress_streams_and_closing_the_stream_cancels_the_call() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let call = |steps: u32| {
        let mut meta = modern_meta();
        meta["progressToken"] = json!("p");
        rpc(
            1,
            "tools/call",
            json!({"name": "slow_work", "arguments": {"steps": steps, "step_ms": 40}, "_meta": meta}),
        )
    };
    let h = [
        BOTH,
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "slow_work"),
    ];
    let stream = http.post_stream("/mcp", &h, &call(3)).await;
    assert_eq!(
        stream.headers.get("content-type").unwrap(),
        "text/event-stream"
    );
    let events = stream.collect().await;
    let methods: Vec<Value> = events.iter().map(|e| e.json()["method"].clone()).collect();
    assert!(
        methods[..3].iter().all(|m| m == "notifications/progress"),
        "{methods:?}"
    );
    assert_eq!(text(&events[3].json()["result"]), "done: 3 steps");

    // Walk away after the first progress notification.
    let mut stream = http.post_stream("/mcp", &h, &call(200)).await;
    assert_eq!(
        stream.next().await.unwrap().json()["method"],
        "notifications/progress"
    );
    drop(stream);
    // The call is cancelled, not run to its end (200 × 40 ms).
    let metrics = tokio::time::timeout(kit::WAIT, async {
        loop {
            let m = http.get("/metrics", &[]).await.body;
            if m.contains(r#"outcome="cancelled"} 1"#) {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the call was cancelled");
    assert!(
        metrics
            .contains(r#"berth_tool_calls_total{plugin="slow",tool="slow_work",outcome="ok"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_broken_legacy_stream_resumes_from_last_event_id_without_other_streams_events() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    let h = [BOTH, ("mcp-session-id", sid.as_str())];
    // Another stream's events must never be replayed into this one.
    let other = http
        .post_stream(
            "/mcp",
            &h,
            &rpc(2, "tools/call", json!({"name": "counter_increment"})),
        )
        .await;
    let other_events = other.collect().await;
    let call = rpc(
        3,
        "tools/call",
        json!({"name": "slow_work", "arguments": {"steps": 4, "step_ms": 50},
        "_meta": {"progressToken": "r"}}),
    );
    let mut stream = http.post_stream("/mcp", &h, &call).await;
    let first = stream.next().await.unwrap();
    let first_id = first.id.clone().unwrap();
    drop(stream); // the connection breaks; the call goes on
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resumed = http
        .get_stream(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid), ("last-event-id", &first_id)],
        )
        .await;
    assert_eq!(resumed.status, 200);
    let events = resumed.collect().await;
    let progress: Vec<f64> = events
        .iter()
        .filter(|e| e.json()["method"] == "notifications/progress")
        .map(|e| e.json()["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, [2.0, 3.0, 4.0]);
    let last = events.last().unwrap().json();
    assert_eq!(last["id"], 3);
    assert_eq!(text(&last["result"]), "done: 4 steps");
    let other_ids: Vec<_> = other_events.iter().map(|e| e.id.clone()).collect();
    assert!(events.iter().all(|e| !other_ids.contains(&e.id)));
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
}

#[tokio::test]
async fn the_get_stream_carries_server_pings_and_keep_alives() {
    // Keep-alives fill the silence between pings.
    let cfg = config("[http]\nping_interval_secs = 2\nkeep_alive_secs = 1\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    let mut stream = http
        .get_stream("/mcp", &[BOTH, ("mcp-session-id", &sid)])
        .await;
    assert_eq!(stream.status, 200);
    let ping = stream.next().await.unwrap().json();
    assert_eq!(ping["method"], "ping");
    // The client answers the ping; a response is accepted with 202.
    let pong = json!({"jsonrpc": "2.0", "id": ping["id"], "result": {}});
    assert_eq!(
        http.post("/mcp", &[BOTH, ("mcp-session-id", &sid)], &pong)
            .await
            .status,
        202
    );
    assert!(
        stream.comments > 0,
        "SSE keep-alive comments before the ping"
    );
    assert_eq!(stream.next().await.unwrap().json()["method"], "ping");
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn the_legacy_sse_transport_answers_on_its_stream_with_or_without_a_trailing_slash() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let mut stream = http
        .get_stream("/sse", &[("accept", "text/event-stream")])
        .await;
    let endpoint = stream.next().await.unwrap();
    assert_eq!(endpoint.event.as_deref(), Some("endpoint"));
    assert!(endpoint.data.starts_with("messages?session_id="));
    let path = format!("/{}", endpoint.data);
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}}),
    );
    let r = http.post(&path, &[], &init).await;
    assert_eq!(r.status, 202);
    assert_eq!(
        stream.next().await.unwrap().json()["result"]["protocolVersion"],
        "2024-11-05"
    );
    let slash = path.replace("/messages?", "/messages/?");
    let r = http
        .post(
            &slash,
            &[],
            &rpc(2, "tools/call", json!({"name": "counter_increment"})),
        )
        .await;
    assert_eq!(r.status, 202);
    let answer = stream.next().await.unwrap();
    assert_eq!(answer.event.as_deref(), Some("message"));
    assert_eq!(text(&answer.json()["result"]), "1");
    let r = http
        .post(
            "/messages?session_id=unknown",
            &[],
            &rpc(3, "ping", json!({})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Session not found"));
    // The stream's end closes the session.
    drop(stream);
    let mut closed = false;
    for _ in 0..100 {
        if http
            .post(&path, &[], &rpc(4, "ping", json!({})))
            .await
            .status
            == 404
        {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the session ends with its stream");
}

#[tokio::test(flavor = "current_thread")]
async fn idle_sessions_expire_then_answer_404_and_free_their_state() {
    use berth::config::{Overrides, RawConfig};
    use tower::ServiceExt;
    let config = RawConfig::from_toml("[sessions]\nidle_timeout_secs = 60\n")
        .unwrap()
        .resolve(Overrides {
            plugin_dirs: vec![dist().to_owned()],
            cache_dir: Some(std::env::temp_dir().join("berth-test-expiry-cache")),
            http_listen: None,
        })
        .unwrap();
    // No sweep while time jumps: the test expires sessions itself.
    let app = berth::Host::builder()
        .config(config)
        .without_background_tasks()
        .build()
        .await
        .unwrap();
    let router = app.router();
    let post = |headers: Vec<(&str, String)>, body: Value| {
        let mut req = axum::http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        router
            .clone()
            .oneshot(req.body(axum::body::Body::from(body.to_string())).unwrap())
    };
    tokio::time::pause();
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    let r = post(vec![], init).await.unwrap();
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let call = rpc(2, "tools/call", json!({"name": "counter_increment"}));
    let r = post(vec![("mcp-session-id", sid.clone())], call)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The answer streams; read it to its end so the call is done.
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains(r#""text":"1""#));
    let ns = berth::kv::Namespace {
        scope: berth::kv::ScopeKey {
            tenant: berth::auth::TenantId::default_tenant(),
            scope: berth::kv::ScopeId::Session(std::sync::Arc::from(sid.as_str())),
        },
        plugin: std::sync::Arc::from("counter"),
    };
    assert_eq!(
        app.kv().get(&ns, "count").await.unwrap(),
        Some(b"1".to_vec())
    );
    // Use keeps it alive...
    tokio::time::advance(Duration::from_secs(50)).await;
    assert_eq!(
        post(
            vec![("mcp-session-id", sid.clone())],
            rpc(3, "ping", json!({}))
        )
        .await
        .unwrap()
        .status(),
        200
    );
    tokio::time::advance(Duration::from_secs(50)).await;
    assert_eq!(app.server().sessions().expire_idle().await, 0);
    // ...idleness ends it.
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(
        post(
            vec![("mcp-session-id", sid.clone())],
            rpc(4, "ping", json!({}))
        )
        .await
        .unwrap()
        .status(),
        404
    );
    assert_eq!(app.server().sessions().expire_idle().await, 1);
    assert_eq!(app.server().sessions().snapshot().totals, (1, 0, 1));
    assert!(app.server().sessions().is_empty());
    assert_eq!(app.kv().get(&ns, "count").await.unwrap(), None);
}

#[tokio::test]
async fn tool_list_changes_reach_modern_subscribers_and_legacy_streams() {
    use berth::config::{Overrides, RawConfig};
    // Not watching: the plugin added below is not in the directory.
    let config = RawConfig::from_toml("[plugins]\nwatch = false\n")
        .unwrap()
        .resolve(Overrides {
            plugin_dirs: vec![dist().to_owned()],
            cache_dir: Some(std::env::temp_dir().join("berth-test-listen-cache")),
            http_listen: None,
        })
        .unwrap();
    let app = std::sync::Arc::new(berth::Host::builder().config(config).build().await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let serving = {
        let (app, shutdown) = (app.clone(), shutdown.clone());
        tokio::spawn(async move { app.serve_http(listener, shutdown).await })
    };
    let http = Http { addr };

    let mut params = json!({"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["notes://1"]}});
    params["_meta"] = modern_meta();
    let headers = [
        BOTH,
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    let mut listen = http
        .post_stream(
            "/mcp",
            &headers,
            &rpc(77, "subscriptions/listen", params.clone()),
        )
        .await;
    assert_eq!(listen.status, 200);
    let ack = listen.next().await.unwrap().json();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        77
    );
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"],
        json!(["notes://1"])
    );
    // A listen without SSE cannot work and is refused.
    let refused = http
        .post(
            "/mcp",
            &[JSON_ONLY, headers[1], headers[2]],
            &rpc(78, "subscriptions/listen", params),
        )
        .await;
    assert_eq!(refused.status, 400);

    let sid = open_session(&http, "2025-11-25").await;
    let mut legacy = http
        .get_stream("/mcp", &[BOTH, ("mcp-session-id", &sid)])
        .await;
    assert_eq!(legacy.status, 200);

    // A plugin arrives: its tools change the list.
    let dir = std::env::temp_dir().join(format!("berth-listen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(dist().join("hello.wasm"), dir.join("hello2.wasm")).unwrap();
    app.load_plugin(&dir.join("hello2.wasm")).await.unwrap();

    let changed = listen.next().await.unwrap().json();
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        77
    );
    let changed = legacy.next().await.unwrap().json();
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    let list = http
        .post(
            "/mcp",
            &[JSON_ONLY, ("mcp-session-id", &sid)],
            &rpc(5, "tools/list", json!({})),
        )
        .await;
    assert!(list.body.contains("hello2_greet"));

    shutdown.cancel();
    // Shutdown ends the streams and the server.
    assert!(listen.next().await.is_none());
    serving.await.unwrap().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn open_streams_are_bounded_and_a_closed_one_frees_its_place() {
    let cfg = config("[http]\nmax_streams = 1\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    let headers = [BOTH, ("mcp-session-id", sid.as_str())];
    let first = http.get_stream("/mcp", &headers).await;
    assert_eq!(first.status, 200);
    let second = http.get("/mcp", &headers).await;
    assert_eq!(second.status, 503);
    assert!(second.body.contains("too many open streams"));
    assert_eq!(
        http.get("/sse", &[("accept", "text/event-stream")])
            .await
            .status,
        503
    );
    drop(first);
    let deadline = tokio::time::Instant::now() + kit::WAIT;
    loop {
        let again = http.get_stream("/mcp", &headers).await;
        if again.status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::remove_file(cfg).unwrap();
}
