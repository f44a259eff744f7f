//! Hostile input on stdio: bad lines get their error and the session goes
//! on; a shutdown answers every call in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{Client, dist};
use serde_json::json;

fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_bad_line_gets_its_error_and_the_session_goes_on() {
    let mut c = Client::examples();
    c.initialize("2025-11-25").await;
    // Not UTF-8: a parse error, then the next line is served.
    c.send_bytes(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\xff\xfe\"}\n")
        .await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32700, "{r}");
    assert_eq!(r["id"], json!(null));
    let hello = c.tool("hello_greet", json!({"name": "after"})).await;
    assert!(
        hello["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("after")
    );
    // Over the 16 MiB limit, in pieces: an invalid request, and on.
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..17 {
        c.send_bytes(&chunk).await;
    }
    c.send_bytes(b"\n").await;
    let r = c.recv().await;
    assert_eq!(r["error"]["code"], -32600, "{r}");
    let hello = c.tool("hello_greet", json!({"name": "again"})).await;
    assert!(
        hello["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("again")
    );
    assert!(c.finish().await.success());
}

#[tokio::test]
async fn sigterm_answers_every_call_in_flight_and_exits_cleanly() {
    let mut c = Client::serve(&[dist()]);
    c.initialize("2025-11-25").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            c.start(
                "tools/call",
                json!({"name": "slow_work", "arguments": {"steps": 4, "step_ms": 250},
                       "_meta": {"progressToken": "p"}}),
            )
            .await,
        );
    }
    // Let the calls start, then ask berth to stop.
    let first = c.notification("notifications/progress").await;
    assert!(first.is_object());
    sigterm(c.pid());
    let mut answered = Vec::new();
    while answered.len() < ids.len() {
        let r = c.recv().await;
        if r.get("method").is_some() {
            continue;
        }
        assert!(ids.contains(&r["id"]), "{r}");
        assert_eq!(
            r["result"]["content"][0]["text"], "done: 4 steps",
            "a call in flight finishes during the drain: {r}"
        );
        answered.push(r["id"].clone());
    }
    assert!(c.exit().await.success());
}

#[tokio::test]
async fn calls_still_running_when_the_drain_ends_are_answered_with_an_error() {
    let dir = kit::scratch("drain");
    let config = dir.join("berth.toml");
    std::fs::write(&config, "[http]\ndrain_timeout_secs = 1\n").unwrap();
    let mut c = Client::serve_with(&["--config", config.to_str().unwrap()], &[dist()]);
    c.initialize("2025-11-25").await;
    let id = c
        .start(
            "tools/call",
            json!({"name": "slow_work", "arguments": {"steps": 100, "step_ms": 100},
                   "_meta": {"progressToken": "p"}}),
        )
        .await;
    let _ = c.notification("notifications/progress").await;
    sigterm(c.pid());
    let r = c.response(&id).await;
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{r}"
    );
    assert!(c.exit().await.success());
}

#[tokio::test]
async fn closing_input_ends_what_waits_for_the_client_and_berth_exits() {
    let mut c = Client::serve(&[&dist().join("conformance")]);
    c.initialize_with("2025-11-25", json!({"elicitation": {}}))
        .await;
    // A call that asks the client a question, which never gets answered.
    let asking = c
        .start(
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "name?"}}),
        )
        .await;
    let question = c.recv().await;
    assert_eq!(question["method"], "elicitation/create", "{question}");
    // A modern subscription, which only the client could end.
    let listen = c
        .start(
            "subscriptions/listen",
            json!({"_meta": kit::modern_meta(), "notifications": {"toolsListChanged": true}}),
        )
        .await;
    let ack = c
        .notification("notifications/subscriptions/acknowledged")
        .await;
    assert!(ack.is_object());
    c.close_input().await;
    let (mut asked, mut ended) = (None, None);
    while asked.is_none() || ended.is_none() {
        let msg = c.recv().await;
        if msg["id"] == asking {
            asked = Some(msg);
        } else if msg["id"] == listen {
            ended = Some(msg);
        }
    }
    let asked = asked.unwrap();
    assert_eq!(asked["result"]["isError"], true, "{asked}");
    assert_eq!(ended.unwrap()["result"]["resultType"], "complete");
    assert!(c.exit().await.success());
}

#[tokio::test]
async fn requests_over_the_in_flight_limit_are_refused_and_reading_goes_on() {
    let mut c = Client::examples();
    // 256 subscriptions that only the client can end fill every place.
    let mut listens = Vec::new();
    for _ in 0..256 {
        listens.push(
            c.start(
                "subscriptions/listen",
                json!({"_meta": kit::modern_meta(), "notifications": {"toolsListChanged": true}}),
            )
            .await,
        );
    }
    // One more request is refused at once, not queued behind them.
    let refused = c
        .call("tools/list", json!({"_meta": kit::modern_meta()}))
        .await;
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many requests in flight")
    );
    // The reader still reads: a cancellation frees a place for the next.
    c.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": listens[0]}}),
    )
    .await;
    let mut listed = None;
    for _ in 0..50 {
        let r = c
            .call("tools/list", json!({"_meta": kit::modern_meta()}))
            .await;
        if r.get("result").is_some() {
            listed = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.is_some(), "a freed place is used");
    assert!(c.finish().await.success());
}
