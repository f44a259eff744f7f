//! Plugins that misbehave on purpose (fixture `hostile`): a log flood is
//! capped and said once, a huge result is refused with a clear tool error,
//! and an update of another plugin's resource is never announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{Client, InProcess, dist, fixtures};
use serde_json::{Value, json};

async fn client() -> Client {
    client_with("").await
}

/// A client of berth with `config` as its berth.toml.
async fn client_with(config: &str) -> Client {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "hostile-plugins-{}-{:x}.toml",
        std::process::id(),
        config.len()
    ));
    std::fs::write(&path, config).unwrap();
    let fixtures = fixtures();
    let mut c = InProcess::stdio(kit::config_file(&path, &[dist(), &fixtures]));
    c.initialize("2025-11-25").await;
    c
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// Sends two pings and returns once both are answered, keeping every
/// notification that arrived meanwhile.
async fn settle(c: &mut Client) {
    for _ in 0..2 {
        let _ = c.ok("ping", json!({})).await;
    }
}

#[tokio::test]
async fn a_log_flood_is_capped_per_call_and_the_cap_is_said_once() {
    let mut c = client_with("[limits]\nmax_log_messages = 50\n").await;
    c.ok("logging/setLevel", json!({"level": "debug"})).await;
    let r = c
        .tool("hostile_flood", json!({"count": 5000, "size": 100}))
        .await;
    assert_eq!(text(&r), "logged 5000 messages");
    settle(&mut c).await;
    let logs: Vec<&Value> = c
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/message")
        .collect();
    assert_eq!(logs.len(), 51, "50 messages and one notice");
    let notices = logs
        .iter()
        .filter(|n| n["params"]["data"].to_string().contains("log limit"))
        .count();
    assert_eq!(notices, 1);
    // The next call has a budget of its own.
    c.notifications.clear();
    c.tool("hostile_flood", json!({"count": 3, "size": 10}))
        .await;
    settle(&mut c).await;
    assert_eq!(c.notifications.len(), 3, "{:?}", c.notifications);
}

#[tokio::test]
async fn a_result_over_the_limit_is_a_clear_tool_error_and_the_host_goes_on() {
    let mut c = client().await;
    let r = c.tool("hostile_huge", json!({"bytes": 9 << 20})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(text(&r).contains("limits.max_result_kb"), "{r}");
    let r = c.tool("hostile_huge", json!({"bytes": 1 << 20})).await;
    assert_eq!(text(&r).len(), 1 << 20);
    assert!(c.finish().await.success());
}

#[tokio::test]
async fn a_plugin_cannot_announce_another_plugins_resource() {
    let mut c = client().await;
    c.ok("resources/subscribe", json!({"uri": "notes://groceries"}))
        .await;
    c.tool("hostile_announce", json!({"uri": "notes://groceries"}))
        .await;
    settle(&mut c).await;
    c.tool("notes_write", json!({"id": "groceries", "text": "eggs"}))
        .await;
    let updated = c.notification("notifications/resources/updated").await;
    assert_eq!(updated["params"]["uri"], "notes://groceries");
    settle(&mut c).await;
    let more = c
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/resources/updated")
        .count();
    assert_eq!(more, 0, "only the owner's update was announced");
}

#[tokio::test]
async fn a_plugin_waiting_in_a_host_call_is_stopped_at_its_deadline() {
    let mut c = client_with("[limits]\ndeadline_ms = 500\n").await;
    let started = std::time::Instant::now();
    // One step that sleeps 10 s: the sleep is a host call, where the
    // epoch deadline cannot reach.
    let r = c
        .tool("slow_work", json!({"steps": 1, "step_ms": 10000}))
        .await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(text(&r).contains("time limit"), "{r}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "stopped at the deadline, not after the sleep"
    );
    // The host goes on serving.
    let hello = c.tool("hello_greet", json!({"name": "next"})).await;
    assert_eq!(text(&hello), "Hello, next!");
}
