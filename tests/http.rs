//! End to end over HTTP: the real `berth` binary on a real 127.0.0.1
//! socket: legacy sessions, modern requests, security and limits,
//! operations, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::InProcess;
use kit::http::{BOTH, JSON_ONLY, Served, config, modern, open_session, rpc, text};
use kit::{dist, modern_meta};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn legacy_sessions_keep_state_until_deleted() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let sid = open_session(&http, "2025-11-25").await;
    assert!(sid.len() >= 32 && sid.bytes().all(|b| b.is_ascii_graphic()));
    let with = |extra: (&'static str, &'static str)| {
        vec![
            extra,
            ("mcp-session-id", Box::leak(sid.clone().into_boxed_str())),
        ]
    };
    let list = http
        .post("/mcp", &with(JSON_ONLY), &rpc(2, "tools/list", json!({})))
        .await;
    assert_eq!(list.json()["result"]["tools"].as_array().unwrap().len(), 9);
    for (i, expected) in ["1", "2", "3"].iter().enumerate() {
        let r = http
            .post(
                "/mcp",
                &with(JSON_ONLY),
                &rpc(
                    3 + i as i64,
                    "tools/call",
                    json!({"name": "counter_increment"}),
                ),
            )
            .await;
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(text(&r.json()["result"]), *expected);
    }
    // A call that asked for progress is answered on a stream with event
    // ids; one that did not, as JSON.
    let r = http
        .post(
            "/mcp",
            &with(BOTH),
            &rpc(8, "tools/call", json!({"name": "counter_get"})),
        )
        .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let stream = http
        .post_stream(
            "/mcp",
            &with(BOTH),
            &rpc(
                9,
                "tools/call",
                json!({"name": "counter_increment", "_meta": {"progressToken": 1}}),
            ),
        )
        .await;
    assert_eq!(
        stream.headers.get("content-type").unwrap(),
        "text/event-stream"
    );
    let events = stream.collect().await;
    let last = events.last().unwrap();
    assert!(last.id.is_some());
    assert_eq!(text(&last.json()["result"]), "4");
    // A new session starts at 1.
    let other = open_session(&http, "2025-06-18").await;
    let r = http
        .post(
            "/mcp",
            &[JSON_ONLY, ("mcp-session-id", &other)],
            &rpc(2, "tools/call", json!({"name": "counter_increment"})),
        )
        .await;
    assert_eq!(text(&r.json()["result"]), "1");

    let mut own_stream = http
        .get_stream("/mcp", &[BOTH, ("mcp-session-id", &sid)])
        .await;
    assert_eq!(own_stream.status, 200);
    assert_eq!(
        http.delete("/mcp", &[("mcp-session-id", &sid)])
            .await
            .status,
        204
    );
    // Ending the session ends its streams.
    assert!(own_stream.next().await.is_none());
    let gone = http
        .post("/mcp", &with(JSON_ONLY), &rpc(10, "tools/list", json!({})))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["id"], 10);
    assert_eq!(
        http.delete("/mcp", &[("mcp-session-id", &sid)])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn legacy_requests_need_a_known_session_and_a_supported_version() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let r = http
        .post("/mcp", &[BOTH], &rpc(1, "tools/list", json!({})))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Mcp-Session-Id"));
    let r = http
        .post(
            "/mcp",
            &[BOTH, ("mcp-session-id", "no-such-session")],
            &rpc(1, "tools/list", json!({})),
        )
        .await;
    assert_eq!(r.status, 404);
    let sid = open_session(&http, "2025-11-25").await;
    let r = http
        .post(
            "/mcp",
            &[
                BOTH,
                ("mcp-session-id", &sid),
                ("mcp-protocol-version", "1999-01-01"),
            ],
            &rpc(2, "ping", json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    // Any supported legacy version is accepted in the header.
    let r = http
        .post(
            "/mcp",
            &[
                BOTH,
                ("mcp-session-id", &sid),
                ("mcp-protocol-version", "2025-03-26"),
            ],
            &rpc(3, "ping", json!({})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"], json!({}));
}

#[tokio::test]
async fn modern_requests_are_checked_against_their_headers_and_stand_alone() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let r = modern(
        &http,
        1,
        "tools/call",
        json!({"name": "hello_greet", "arguments": {"name": "Ada"}}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("mcp-session-id").is_none());
    assert_eq!(r.json()["result"]["resultType"], "complete");
    assert_eq!(
        r.json()["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "berth"
    );
    assert_eq!(text(&r.json()["result"]), "Hello, Ada!");

    let mut body = rpc(
        2,
        "tools/call",
        json!({"name": "hello_greet", "arguments": {"name": "x"}, "_meta": modern_meta()}),
    );
    let headers = |name: &'static str, method: &'static str, version: &'static str| {
        vec![
            BOTH,
            ("mcp-protocol-version", version),
            ("mcp-method", method),
            ("mcp-name", name),
        ]
    };
    for (h, which) in [
        (
            headers("other_tool", "tools/call", "2026-07-28"),
            "Mcp-Name",
        ),
        (
            headers("hello_greet", "tools/list", "2026-07-28"),
            "Mcp-Method",
        ),
        (
            headers("hello_greet", "tools/call", "2025-11-25"),
            "MCP-Protocol-Version",
        ),
    ] {
        let r = http.post("/mcp", &h, &body).await;
        assert_eq!(r.status, 400, "{which}");
        assert_eq!(r.json()["error"]["code"], -32020);
        assert_eq!(r.json()["error"]["data"]["header"], which);
    }
    // The name may come base64-encoded.
    let r = http
        .post(
            "/mcp",
            &headers("=?base64?aGVsbG9fZ3JlZXQ=?=", "tools/call", "2026-07-28"),
            &body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A stray session id is ignored.
    let mut h = headers("hello_greet", "tools/call", "2026-07-28");
    h.push(("mcp-session-id", "whatever"));
    assert_eq!(http.post("/mcp", &h, &body).await.status, 200);

    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let r = http
        .post(
            "/mcp",
            &headers("hello_greet", "tools/call", "2099-01-01"),
            &body,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32022);
    for method in ["no/such", "ping", "initialize"] {
        let r = modern(&http, 3, method, json!({})).await;
        assert_eq!(r.status, 404, "{method}");
        assert_eq!(r.json()["error"]["code"], -32601);
    }
    // A modern client without _meta is told so, with a modern error.
    let r = http
        .post(
            "/mcp",
            &[
                BOTH,
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
            &rpc(4, "tools/list", json!({})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32602);
    assert_eq!(http.get("/mcp", &[BOTH]).await.status, 405);
    assert_eq!(http.delete("/mcp", &[]).await.status, 405);
}

#[tokio::test]
async fn modern_handles_carry_state_across_stateless_requests() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let open = modern(
        &http,
        1,
        "tools/call",
        json!({"name": "berth_session_open", "arguments": {}}),
    )
    .await;
    let handle = open.json()["result"]["structuredContent"]["session"]
        .as_str()
        .unwrap()
        .to_owned();
    for expected in ["1", "2"] {
        let r = modern(
            &http,
            2,
            "tools/call",
            json!({"name": "counter_increment", "arguments": {"session": handle}}),
        )
        .await;
        assert_eq!(text(&r.json()["result"]), expected);
    }
    let r = modern(
        &http,
        3,
        "tools/call",
        json!({"name": "counter_increment", "arguments": {}}),
    )
    .await;
    assert_eq!(r.json()["result"]["isError"], true);
}

#[tokio::test]
async fn foreign_origins_and_hosts_are_refused_and_bodies_are_bounded() {
    let cfg = config("[http]\nmax_body_bytes = 1024\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    let r = http
        .post(
            "/mcp",
            &[BOTH, ("origin", "http://evil.example.com")],
            &init,
        )
        .await;
    assert_eq!(r.status, 403);
    let r = http
        .post("/mcp", &[BOTH, ("host", "evil.example.com")], &init)
        .await;
    assert_eq!(r.status, 403);
    let own = format!("http://{}", server.addr);
    let r = http.post("/mcp", &[BOTH, ("origin", &own)], &init).await;
    assert_eq!(r.status, 200);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2048)
    );
    assert_eq!(http.post_raw("/mcp", &[BOTH], big).await.status, 413);
    let r = http.post_raw("/mcp", &[BOTH], "{oops".to_owned()).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32700);
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn session_limits_are_enforced_with_a_clear_error() {
    let cfg = config("[sessions]\nmax_sessions = 2\n");
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    open_session(&http, "2025-11-25").await;
    let second = open_session(&http, "2025-11-25").await;
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    let r = http.post("/mcp", &[BOTH], &init).await;
    assert_eq!(r.status, 503);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many sessions")
    );
    assert_eq!(
        http.delete("/mcp", &[("mcp-session-id", &second)])
            .await
            .status,
        204
    );
    assert_eq!(http.post("/mcp", &[BOTH], &init).await.status, 200);
    std::fs::remove_file(cfg).unwrap();
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    assert_eq!(http.get("/healthz", &[]).await.body, "ok\n");
    assert!(
        http.get("/readyz", &[])
            .await
            .body
            .starts_with("ready: 4 plugins")
    );
    open_session(&http, "2025-11-25").await;
    modern(
        &http,
        1,
        "tools/call",
        json!({"name": "hello_greet", "arguments": {"name": "m"}}),
    )
    .await;
    let m = http.get("/metrics", &[]).await;
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    for line in [
        r#"berth_sessions{state="ready",transport="streamable_http"} 1"#,
        "berth_sessions_created_total 1",
        r#"berth_tool_calls_total{plugin="hello",tool="hello_greet",outcome="ok"} 1"#,
        "berth_tool_call_seconds_count 1",
    ] {
        assert!(m.body.contains(line), "missing {line:?} in\n{}", m.body);
    }
}

#[tokio::test]
async fn shutdown_drains_calls_in_flight_then_exits() {
    // The real binary: SIGTERM is a process's business.
    let mut server = Served::start(&[], &[dist()]).await;
    let http = server.client();
    let call = tokio::spawn(async move {
        modern(
            &http,
            1,
            "tools/call",
            json!({"name": "slow_work", "arguments": {"steps": 10, "step_ms": 50}}),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = server.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let r = call.await.unwrap();
    assert_eq!(text(&r.json()["result"]), "done: 10 steps");
    let exit = tokio::time::timeout(kit::WAIT, server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success());
}

#[tokio::test]
async fn every_request_is_authenticated_and_sessions_are_bound_to_their_owner() {
    let alice_hash = berth::auth::hash_key("alice-key");
    let bob_hash = berth::auth::hash_key("bob-key");
    let cfg = config(&format!(
        "[[auth.api_keys]]\nsubject = \"alice\"\ntenant = \"acme\"\nsha256 = \"{alice_hash}\"\n\
         [[auth.api_keys]]\nsubject = \"bob\"\ntenant = \"acme\"\nsha256 = \"{bob_hash}\"\n"
    ));
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    let r = http.post("/mcp", &[BOTH], &init).await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(
        http.post("/mcp", &[BOTH, ("authorization", "Bearer nope")], &init)
            .await
            .status,
        401
    );
    let alice = [BOTH, ("authorization", "Bearer alice-key")];
    let r = http.post("/mcp", &alice, &init).await;
    assert_eq!(r.status, 200);
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let call = rpc(2, "tools/call", json!({"name": "counter_increment"}));
    let as_alice = [
        JSON_ONLY,
        ("authorization", "Bearer alice-key"),
        ("mcp-session-id", sid.as_str()),
    ];
    assert_eq!(
        text(&http.post("/mcp", &as_alice, &call).await.json()["result"]),
        "1"
    );
    // Bob presenting Alice's session id finds nothing.
    let as_bob = [
        JSON_ONLY,
        ("authorization", "Bearer bob-key"),
        ("mcp-session-id", sid.as_str()),
    ];
    assert_eq!(http.post("/mcp", &as_bob, &call).await.status, 404);
    assert_eq!(http.delete("/mcp", &as_bob[1..]).await.status, 404);
    // ... and the session is still Alice's.
    assert_eq!(
        text(&http.post("/mcp", &as_alice, &call).await.json()["result"]),
        "2"
    );
    // Operational endpoints stay open.
    assert_eq!(http.get("/healthz", &[]).await.status, 200);
    std::fs::remove_file(cfg).unwrap();
}
