//! End to end over HTTP: a legacy client asked on its call's SSE stream,
//! resource updates reaching exactly their subscribers, with notes kept
//! apart per principal, and arguments mirrored into `Mcp-Param-*` headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::InProcess;
use kit::dist;
use kit::http::{BOTH, Http, JSON_ONLY, config, modern, modern_with, open_session, rpc, text};
use serde_json::{Value, json};

const MODERN: [(&str, &str); 2] = [BOTH, ("mcp-protocol-version", "2026-07-28")];

/// A modern request of `who` (an API key), with its headers.
async fn modern_as(http: &Http, who: &str, id: i64, method: &str, params: Value) -> Value {
    let auth = format!("Bearer {who}");
    modern_with(http, &[("authorization", &auth)], id, method, params)
        .await
        .json()
}

#[tokio::test]
async fn legacy_http_clients_are_asked_on_the_calls_stream() {
    let server = InProcess::http(kit::config("", &[&dist().join("conformance")])).await;
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
    let server = InProcess::http(kit::config_file(&cfg, &[dist()])).await;
    let http = server.client();
    let listen = |uri: &'static str| {
        let mut params = json!({"notifications": {"resourceSubscriptions": [uri]}});
        params["_meta"] = kit::modern_meta();
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

#[tokio::test]
async fn mirrored_arguments_must_travel_in_matching_headers() {
    let server = InProcess::http(kit::config("", &[dist()])).await;
    let http = server.client();
    let list = modern(&http, 1, "tools/list", json!({})).await.json();
    let write = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "notes_write")
        .unwrap();
    assert_eq!(
        write["inputSchema"]["properties"]["id"]["x-mcp-header"],
        "Note-Id"
    );
    // `modern` sends what a conforming client sends.
    let call = |id: &str| json!({"name": "notes_write", "arguments": {"id": id, "text": "x"}});
    let ok = modern(&http, 2, "tools/call", call("plan")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(text(&ok.json()["result"]), "Saved notes://plan.");
    // The same call with the header missing, different, or badly encoded.
    let raw = |header: Option<&'static str>, id: &'static str| {
        let http = &http;
        async move {
            let mut body = rpc(3, "tools/call", call(id));
            body["params"]["_meta"] = kit::modern_meta();
            let mut h = vec![
                MODERN[0],
                MODERN[1],
                ("mcp-method", "tools/call"),
                ("mcp-name", "notes_write"),
            ];
            if let Some(v) = header {
                h.push(("Mcp-Param-Note-Id", v));
            }
            http.post("/mcp", &h, &body).await
        }
    };
    let cases = [
        (
            None,
            "Mcp-Param-Note-Id header is missing, but arguments.id is \"ghost\"",
        ),
        (
            Some("plan"),
            "Mcp-Param-Note-Id header value 'plan' does not match body value 'ghost'",
        ),
        (Some("=?base64?Z2hvc3Q?="), "not valid =?base64?"),
        (Some("=?base64?Z2h!c3Q=?="), "not valid =?base64?"),
    ];
    for (header, message) in cases {
        let r = raw(header, "ghost").await;
        assert_eq!(r.status, 400, "{header:?}: {}", r.body);
        let e = &r.json()["error"];
        assert_eq!(e["code"], -32020, "{e}");
        assert_eq!(e["data"]["header"], "Mcp-Param-Note-Id");
        let got = e["message"].as_str().unwrap();
        assert!(got.contains(message), "{header:?}: {got}");
    }
    // None of them ran: there is no note `ghost`.
    let read = modern(&http, 4, "resources/read", json!({"uri": "notes://ghost"}))
        .await
        .json();
    assert_eq!(read["error"]["code"], -32602, "{read}");
    // The Base64 form of the right value is the right value.
    let encoded = raw(Some("=?base64?Z2hvc3Q=?="), "ghost").await;
    assert_eq!(encoded.status, 200, "{}", encoded.body);
    assert_eq!(text(&encoded.json()["result"]), "Saved notes://ghost.");
    // Legacy sessions predate the headers and need none.
    let sid = open_session(&http, "2025-11-25").await;
    let legacy = http
        .post(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid)],
            &rpc(5, "tools/call", call("old")),
        )
        .await;
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    assert_eq!(text(&legacy.json()["result"]), "Saved notes://old.");
}
