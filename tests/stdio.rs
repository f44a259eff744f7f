//! End to end over stdio: the real `berth` binary serving real plugins,
//! driven as an MCP client drives it, in both protocol eras.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{Client, InProcess, dist, fixtures, modern_call, modern_meta, text};
use serde_json::{Value, json};

#[tokio::test]
async fn legacy_counter_counts_per_session_and_a_new_session_starts_at_one() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    let init = c.initialize("2025-06-18").await;
    assert_eq!(init["protocolVersion"], "2025-06-18");
    assert_eq!(init["capabilities"]["tools"], json!({"listChanged": true}));
    assert!(
        init.get("resultType").is_none(),
        "legacy results carry no resultType"
    );
    let list = c.ok("tools/list", json!({})).await;
    let names = kit::tool_names(&list);
    assert_eq!(
        names,
        [
            "counter_get",
            "counter_increment",
            "counter_reset",
            "hello_greet",
            "notes_delete",
            "notes_write",
            "slow_work",
            "berth_session_open",
            "berth_session_close"
        ]
    );
    let increment = &list["tools"][1];
    assert_eq!(
        increment["inputSchema"]["properties"]["session"]["type"],
        "string"
    );
    for expected in ["1", "2", "3"] {
        let r = c.tool("counter_increment", json!({})).await;
        assert_eq!(text(&r), expected);
        assert!(
            r.get("resultType").is_none() && r.get("_meta").is_none(),
            "legacy tool results carry no resultType or serverInfo: {r}"
        );
    }
    assert!(c.finish().await.success());

    let mut second = InProcess::stdio(kit::config("", &[dist()]));
    second.initialize("2025-11-25").await;
    assert_eq!(
        text(&second.tool("counter_increment", json!({})).await),
        "1"
    );
    assert_eq!(text(&second.tool("counter_get", json!({})).await), "1");
}

#[tokio::test]
async fn modern_requests_are_stateless_and_state_lives_in_explicit_handles() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    let discover = c
        .ok("server/discover", json!({"_meta": modern_meta()}))
        .await;
    assert_eq!(discover["resultType"], "complete");
    assert_eq!(discover["supportedVersions"][0], "2026-07-28");
    assert!(
        discover["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2024-11-05"))
    );
    assert_eq!(
        discover["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "berth"
    );
    assert!(discover["ttlMs"].is_u64() && discover["cacheScope"].is_string());

    let list = c.ok("tools/list", json!({"_meta": modern_meta()})).await;
    assert_eq!(list["resultType"], "complete");
    assert!(list["ttlMs"].is_u64());

    let call = modern_call;
    // A stateful tool without a session is a tool error the model can act on.
    let refused = c
        .ok("tools/call", call("counter_increment", json!({})))
        .await;
    assert_eq!(refused["isError"], true);
    assert!(text(&refused).contains("berth_session_open"), "{refused}");

    let handle = c.open_handle().await;
    assert!(handle.len() >= 40);
    let other = c.open_handle().await;

    for expected in ["1", "2"] {
        let r = c
            .ok(
                "tools/call",
                call("counter_increment", json!({"session": handle})),
            )
            .await;
        assert_eq!(r["resultType"], "complete");
        assert_eq!(text(&r), expected);
    }
    let r = c
        .ok(
            "tools/call",
            call("counter_increment", json!({"session": other})),
        )
        .await;
    assert_eq!(text(&r), "1");

    let closed = c
        .ok(
            "tools/call",
            call("berth_session_close", json!({"session": handle})),
        )
        .await;
    assert_eq!(closed["isError"], false);
    let stale = c
        .ok(
            "tools/call",
            call("counter_get", json!({"session": handle})),
        )
        .await;
    assert_eq!(stale["isError"], true);
    assert!(text(&stale).contains("Unknown or expired"), "{stale}");
    let forged = c
        .ok(
            "tools/call",
            call("counter_get", json!({"session": "bs_forged"})),
        )
        .await;
    assert_eq!(forged["isError"], true);
}

#[tokio::test]
async fn modern_requests_with_bad_meta_get_the_spec_errors() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let r = c.call("tools/list", json!({"_meta": meta})).await;
    assert_eq!(r["error"]["code"], -32022);
    assert_eq!(r["error"]["data"]["requested"], "1900-01-01");
    assert_eq!(r["error"]["data"]["supported"], json!(["2026-07-28"]));
    let mut meta = modern_meta();
    meta.as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let r = c.call("tools/list", json!({"_meta": meta})).await;
    assert_eq!(r["error"]["code"], -32602);
    let r = c.call("server/discover", json!({})).await;
    assert_eq!(r["error"]["code"], -32602);
    // Neither initialized nor modern.
    let r = c.call("tools/list", json!({})).await;
    assert_eq!(r["error"]["code"], -32600);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize")
    );
    // Methods of the legacy era do not exist in the modern one.
    for method in ["ping", "initialize"] {
        let r = c.call(method, json!({"_meta": modern_meta()})).await;
        assert_eq!(r["error"]["code"], -32601, "{method}");
    }
    let r = c
        .call(
            "logging/setLevel",
            json!({"level": "debug", "_meta": modern_meta()}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32601);
}

fn logs(c: &Client) -> Vec<(String, String)> {
    c.notifications
        .iter()
        .filter(|n| n["method"] == "notifications/message")
        .map(|n| {
            (
                n["params"]["level"].as_str().unwrap().to_owned(),
                n["params"]["data"].to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn log_messages_arrive_only_at_or_above_the_requested_level() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    c.initialize("2025-11-25").await;
    c.ok("logging/setLevel", json!({"level": "info"})).await;
    c.tool("hello_greet", json!({"name": "Ada"})).await;
    assert_eq!(
        logs(&c),
        [("info".to_owned(), "\"greeting Ada\"".to_owned())]
    );
    c.notifications.clear();
    c.ok("logging/setLevel", json!({"level": "debug"})).await;
    c.tool("hello_greet", json!({"name": "Bo"})).await;
    assert_eq!(logs(&c).len(), 2);
    assert_eq!(logs(&c)[0].0, "debug");
    c.notifications.clear();
    c.ok("logging/setLevel", json!({"level": "error"})).await;
    c.tool("hello_greet", json!({"name": "Cy"})).await;
    assert!(logs(&c).is_empty());
    let bad = c.call("logging/setLevel", json!({"level": "loud"})).await;
    assert_eq!(bad["error"]["code"], -32602);

    // Modern: the level rides each request; without one, nothing is sent.
    c.notifications.clear();
    let greet =
        |meta: Value| json!({"name": "hello_greet", "arguments": {"name": "Di"}, "_meta": meta});
    c.ok("tools/call", greet(modern_meta())).await;
    assert!(logs(&c).is_empty());
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/logLevel"] = json!("debug");
    c.ok("tools/call", greet(meta)).await;
    assert_eq!(logs(&c).len(), 2);
}

#[tokio::test]
async fn progress_arrives_with_a_token_and_never_without() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    c.initialize("2025-11-25").await;
    let args = json!({"steps": 3, "step_ms": 10});
    let r = c
        .ok(
            "tools/call",
            json!({"name": "slow_work", "arguments": args}),
        )
        .await;
    assert_eq!(text(&r), "done: 3 steps");
    assert!(
        c.notifications
            .iter()
            .all(|n| n["method"] != "notifications/progress")
    );
    c.ok(
        "tools/call",
        json!({"name": "slow_work", "arguments": args, "_meta": {"progressToken": "p-1"}}),
    )
    .await;
    let progress: Vec<&Value> = c
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| &n["params"])
        .collect();
    assert_eq!(progress.len(), 3);
    assert!(
        progress
            .iter()
            .all(|p| p["progressToken"] == "p-1" && p["total"] == 3.0)
    );
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
    // Integer tokens keep their type.
    c.notifications.clear();
    let mut meta = modern_meta();
    meta["progressToken"] = json!(42);
    c.ok(
        "tools/call",
        json!({"name": "slow_work", "arguments": {"steps": 1, "step_ms": 1}, "_meta": meta}),
    )
    .await;
    assert_eq!(c.notifications[0]["params"]["progressToken"], 42);
}

#[tokio::test]
async fn a_cancelled_call_stops_gets_no_response_and_the_host_keeps_serving() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    c.initialize("2025-11-25").await;
    c.ok("logging/setLevel", json!({"level": "notice"})).await;
    let id = c
        .start(
            "tools/call",
            json!({"name": "slow_work", "arguments": {"steps": 200, "step_ms": 50},
                                    "_meta": {"progressToken": "slow"}}),
        )
        .await;
    // Wait until it is really running.
    loop {
        let msg = c.recv().await;
        if msg["method"] == "notifications/progress" {
            break;
        }
    }
    c.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": id, "reason": "user changed their mind"}}),
    )
    .await;
    let hello = c.tool("hello_greet", json!({"name": "after"})).await;
    assert_eq!(text(&hello), "Hello, after!");
    // The plugin noticed the cancellation and said so (at notice level).
    let mut saw_stop = c
        .notifications
        .iter()
        .any(|n| n["params"]["data"].to_string().contains("cancelled after"));
    while !saw_stop {
        let msg = c.recv().await;
        assert_ne!(
            msg.get("id"),
            Some(&id),
            "a cancelled request must get no response"
        );
        saw_stop = msg["params"]["data"]
            .to_string()
            .contains("cancelled after");
    }
    // Nothing more for the cancelled id: the next response is for a new request.
    let ping = c.call("ping", json!({})).await;
    assert_eq!(ping["result"], json!({}));
}

#[tokio::test]
async fn misbehaving_plugins_are_stopped_masked_and_the_host_keeps_serving() {
    // The real binary: what plugins print must not reach its stdout.
    let mut c = Client::serve(&[dist(), &fixtures()]);
    c.initialize("2025-11-25").await;
    let list = c.ok("tools/list", json!({})).await;
    let names = kit::tool_names(&list);
    assert!(names.contains(&"loop_spin") && names.contains(&"hello_greet"));
    assert!(
        !names.iter().any(|n| n.starts_with("wrong")),
        "the wrong-world fixture must not load"
    );

    for (tool, says) in [
        ("loop_spin", "300 ms time limit"),
        ("hog_eat", "32 MiB memory limit"),
        ("trap_explode", "Internal error in tool trap_explode."),
        // Plugins are built with a 128 KiB stack (plugins/.cargo/config.toml):
        // running past it is a clean trap, not corrupted memory.
        ("trap_recurse", "Internal error in tool trap_recurse."),
    ] {
        let r = c.tool(tool, json!({})).await;
        assert_eq!(r["isError"], true, "{r}");
        assert!(text(&r).contains(says), "{tool}: {r}");
        assert!(
            !r.to_string().contains("hunter2"),
            "trap detail leaked: {r}"
        );
        let hello = c.tool("hello_greet", json!({"name": tool})).await;
        assert_eq!(text(&hello), format!("Hello, {tool}!"));
    }
    // Every line on stdout was JSON-RPC (Client::recv parses each one), so
    // the trap fixture's println! went to the log, not to the client.
}

#[tokio::test]
async fn bad_input_gets_the_right_json_rpc_errors_and_loses_nothing() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    c.initialize("2025-11-25").await;
    c.send_raw("{this is not json").await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32700);
    assert_eq!(r["id"], Value::Null);
    c.send_raw(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"x"}"#)
        .await;
    assert_eq!(c.response(&json!(7)).await["error"]["code"], -32602);
    c.send_raw("[1,2]").await;
    assert_eq!(c.recv().await["error"]["code"], -32600);

    assert_eq!(
        c.call("no/such/method", json!({})).await["error"]["code"],
        -32601
    );
    let unknown = c
        .call("tools/call", json!({"name": "nope", "arguments": {}}))
        .await;
    assert_eq!(unknown["error"]["code"], -32602);
    assert_eq!(unknown["error"]["message"], "Unknown tool: nope");
    let bad_name = c.call("tools/call", json!({"name": 5})).await;
    assert_eq!(bad_name["error"]["code"], -32602);
    let bad_args = c
        .call(
            "tools/call",
            json!({"name": "hello_greet", "arguments": [1]}),
        )
        .await;
    assert_eq!(bad_args["error"]["code"], -32602);
    // Arguments of the wrong type for the tool: a tool error the model can fix.
    let wrong = c.tool("hello_greet", json!({"name": 5})).await;
    assert_eq!(wrong["isError"], true);
    assert!(text(&wrong).starts_with("Invalid arguments"), "{wrong}");
    let again = c
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
        )
        .await;
    assert_eq!(again["error"]["code"], -32600);
    // After all that, the session still works.
    assert_eq!(
        text(&c.tool("hello_greet", json!({"name": "ok"})).await),
        "Hello, ok!"
    );
}

#[tokio::test]
async fn legacy_versions_are_negotiated() {
    for (asked, got) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2099-01-01", "2025-11-25"),
    ] {
        let mut c = InProcess::stdio(kit::config("", &[dist()]));
        assert_eq!(c.initialize(asked).await["protocolVersion"], got);
        assert_eq!(c.call("ping", json!({})).await["result"], json!({}));
    }
}

#[tokio::test]
async fn a_modern_subscription_is_acknowledged_and_ends_when_cancelled() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    let id = c
        .start(
            "subscriptions/listen",
            json!({"_meta": modern_meta(), "notifications": {"toolsListChanged": true, "promptsListChanged": true, "futureListChanged": true}}),
        )
        .await;
    let ack = c.recv().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        id
    );
    // Only what berth can deliver is acknowledged.
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "promptsListChanged": true})
    );
    c.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id}}))
        .await;
    // The next message answers a new request: the subscription sent no response.
    let ping = c.call("ping", json!({})).await;
    assert_eq!(ping["result"], json!({}));
}
