//! End to end over HTTP: a legacy client asked on its call's SSE stream,
//! and resource updates reaching exactly their subscribers, with notes kept
//! apart per principal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::dist;
use support::http::{BOTH, Http, JSON_ONLY, Served, config, rpc, text};

const MODERN: [(&str, &str); 2] = [BOTH, ("mcp-protocol-version", "2026-07-28")];

/// A modern request of `who` (an API key), with its headers.
async fn modern_as(http: &Http, who: &str, id: i64, method: &str, mut params: Value) -> Value {
    params["_meta"] = support::modern_meta();
    let name = params["name"]
        .as_str()
        .or(params["uri"].as_str())
        .map(str::to_owned);
    let auth = format!("Bearer {who}");
    let mut h = vec![
        MODERN[0],
        MODERN[1],
        ("mcp-method", method),
        ("authorization", &auth),
    ];
    if let Some(name) = &name {
        h.push(("mcp-name", name));
    }
    http.post("/mcp", &h, &rpc(id, method, params)).await.json()
}

#[tokio::test]
async fn legacy_http_clients_are_asked_on_the_calls_stream() {
    let server = Served::start(&[], &[&dist().join("conformance")]).await;
    let http = server.client();
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
               "clientInfo": {"name": "berth-tests", "version": "1"}}),
    );
    let r = http.post("/mcp", &[BOTH], &init).await;
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let session = [BOTH, ("mcp-session-id", sid.as_str())];
    http.post(
        "/mcp",
        &session,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let mut stream = http
        .post_stream(
            "/mcp",
            &session,
            &rpc(
                2,
                "tools/call",
                json!({"name": "test_sampling", "arguments": {"prompt": "Capital of France?"}}),
            ),
        )
        .await;
    assert_eq!(stream.status, 200);
    let asked = stream.next().await.unwrap().json();
    assert_eq!(asked["method"], "sampling/createMessage");
    assert_eq!(
        asked["params"]["messages"][0]["content"]["text"],
        "Capital of France?"
    );
    // The answer is a POST of its own, accepted with 202.
    let answer = json!({"jsonrpc": "2.0", "id": asked["id"], "result":
        {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}});
    assert_eq!(http.post("/mcp", &session, &answer).await.status, 202);
    let done = stream.next().await.unwrap().json();
    assert_eq!(done["id"], 2);
    assert_eq!(text(&done["result"]), "LLM response: Paris");
    // Without SSE the question has nowhere to go: a clear error.
    let json_only = [JSON_ONLY, ("mcp-session-id", sid.as_str())];
    let refused = http
        .post(
            "/mcp",
            &json_only,
            &rpc(
                3,
                "tools/call",
                json!({"name": "test_sampling", "arguments": {"prompt": "x"}}),
            ),
        )
        .await
        .json();
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text/event-stream")
    );
}

#[tokio::test]
async fn resource_updates_reach_their_subscribers_and_notes_stay_with_their_owner() {
    let keys = ["alice-key", "bob-key"].map(berth::auth::hash_key);
    let cfg = config(&format!(
        "[[auth.api_keys]]\nsubject = \"alice\"\ntenant = \"acme\"\nsha256 = \"{}\"\n\
         [[auth.api_keys]]\nsubject = \"bob\"\ntenant = \"acme\"\nsha256 = \"{}\"\n",
        keys[0], keys[1]
    ));
    let server = Served::start(&["--config", cfg.to_str().unwrap()], &[dist()]).await;
    let http = server.client();
    let listen = |uri: &'static str| {
        let mut params = json!({"notifications": {"resourceSubscriptions": [uri]}});
        params["_meta"] = support::modern_meta();
        rpc(9, "subscriptions/listen", params)
    };
    let headers = [
        MODERN[0],
        MODERN[1],
        ("mcp-method", "subscriptions/listen"),
        ("authorization", "Bearer alice-key"),
    ];
    let mut mine = http
        .post_stream("/mcp", &headers, &listen("notes://plan"))
        .await;
    let mut other = http
        .post_stream("/mcp", &headers, &listen("notes://other"))
        .await;
    for s in [&mut mine, &mut other] {
        let ack = s.next().await.unwrap().json();
        assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    }
    let saved = modern_as(
        &http,
        "alice-key",
        1,
        "tools/call",
        json!({"name": "notes_write", "arguments": {"id": "plan", "text": "ship it"}}),
    )
    .await;
    assert_eq!(text(&saved["result"]), "Saved notes://plan.");
    let updated = mine.next().await.unwrap().json();
    assert_eq!(updated["method"], "notifications/resources/updated");
    assert_eq!(updated["params"]["uri"], "notes://plan");
    assert_eq!(
        updated["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        9
    );
    // Alice reads her note; Bob neither lists nor reads it.
    let read = modern_as(
        &http,
        "alice-key",
        2,
        "resources/read",
        json!({"uri": "notes://plan"}),
    )
    .await;
    assert_eq!(read["result"]["contents"][0]["text"], "ship it");
    let bobs = modern_as(&http, "bob-key", 3, "resources/list", json!({})).await;
    assert_eq!(bobs["result"]["resources"], json!([]));
    assert_eq!(bobs["result"]["cacheScope"], "private");
    let denied = modern_as(
        &http,
        "bob-key",
        4,
        "resources/read",
        json!({"uri": "notes://plan"}),
    )
    .await;
    assert_eq!(denied["error"]["code"], -32602);
    // The other subscription heard nothing: its next event is its own.
    modern_as(
        &http,
        "alice-key",
        5,
        "tools/call",
        json!({"name": "notes_write", "arguments": {"id": "other", "text": "x"}}),
    )
    .await;
    let next = other.next().await.unwrap().json();
    assert_eq!(next["params"]["uri"], "notes://other");
    std::fs::remove_file(cfg).unwrap();
}
