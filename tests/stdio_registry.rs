//! End to end over stdio: the plugin registry as a client sees it. Name
//! collisions, `tools/list` paging, the golden handshake and list, plugins
//! changing while berth runs, and arguments and results checked against
//! the tools' schemas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{Client, InProcess, dist, fixtures, modern_meta, text};
use serde_json::{Value, json};

#[tokio::test]
async fn a_name_collision_skips_the_second_plugin_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("berth-collision-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(dist().join("hello.wasm"), dir.join("hello.wasm")).unwrap();
    std::fs::copy(dist().join("hello.wasm"), dir.join("hello2.wasm")).unwrap();
    std::fs::write(dir.join("hello2.toml"), "prefix = \"hello\"\n").unwrap();
    let mut c = InProcess::stdio(kit::config("", &[&dir]));
    c.initialize("2025-11-25").await;
    let list = c.ok("tools/list", json!({})).await;
    assert_eq!(list["tools"].as_array().unwrap().len(), 1);
    assert_eq!(
        text(&c.tool("hello_greet", json!({"name": "x"})).await),
        "Hello, x!"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn tools_list_pages_through_every_tool_with_opaque_cursors() {
    let file = std::env::temp_dir().join(format!("berth-pages-{}.toml", std::process::id()));
    std::fs::write(&file, "[protocol]\npage_size = 2\n").unwrap();
    let mut c = InProcess::stdio(kit::config_file(&file, &[dist()]));
    c.initialize("2025-11-25").await;
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let page = c.ok("tools/list", json!({"cursor": cursor})).await;
        pages += 1;
        assert!(page["tools"].as_array().unwrap().len() <= 2);
        names.extend(
            page["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        match page.get("nextCursor") {
            Some(next) => cursor = next.clone(),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(names.len(), 9);
    let bad = c
        .call("tools/list", json!({"cursor": "not-a-cursor"}))
        .await;
    assert_eq!(bad["error"]["code"], -32602);
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn handshake_discovery_and_tool_list_match_the_golden_files() {
    let mut c = InProcess::stdio(kit::config("", &[dist()]));
    let init = c.initialize("2025-11-25").await;
    kit::golden("initialize", &init);
    kit::golden("tools_list", &c.ok("tools/list", json!({})).await);
    kit::golden(
        "discover",
        &c.ok("server/discover", json!({"_meta": modern_meta()}))
            .await,
    );
    let unknown = c.call("tools/call", json!({"name": "nope"})).await;
    kit::golden("error_unknown_tool", &unknown["error"]);
}

/// Polls `tools/list` until `check` holds (bounded by `kit::WAIT`).
async fn wait_for_tools(c: &mut Client, check: impl Fn(&[&str]) -> bool) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + kit::WAIT;
    loop {
        let list = c.ok("tools/list", json!({})).await;
        let names = kit::tool_names(&list);
        if check(&names) {
            return names.iter().map(|n| (*n).to_owned()).collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tools never became right: {names:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn plugins_added_changed_and_removed_while_running_are_served_without_a_restart() {
    let root = std::env::temp_dir().join(format!("berth-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = root.join("berth.toml");
    std::fs::write(&cfg, "[plugins]\nwatch_interval_ms = 100\n").unwrap();
    // Files appear whole, as a deploy with rename does.
    let put = |from: &str, to: &str| {
        let tmp = dir.join(format!(".{to}.tmp"));
        std::fs::copy(dist().join(from), &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(to)).unwrap();
    };
    put("hello.wasm", "hello.wasm");
    put("slow.wasm", "slow.wasm");
    let mut c = InProcess::stdio(kit::config_file(&cfg, &[&dir]));
    c.initialize("2025-11-25").await;
    wait_for_tools(&mut c, |n| {
        n.contains(&"hello_greet") && n.contains(&"slow_work")
    })
    .await;

    // A call in flight finishes on the version it started with...
    let id = c
        .start(
            "tools/call",
            json!({"name": "slow_work", "arguments": {"steps": 10, "step_ms": 50}}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // ...while `slow.wasm` becomes another plugin and `counter` arrives.
    put("hello.wasm", "slow.wasm");
    put("counter.wasm", "counter.wasm");
    let done = c.response(&id).await;
    assert_eq!(text(&done["result"]), "done: 10 steps");
    let names = wait_for_tools(&mut c, |n| {
        n.contains(&"counter_increment") && n.contains(&"slow_greet")
    })
    .await;
    assert!(!names.contains(&"slow_work".to_owned()), "{names:?}");
    assert!(
        c.notifications
            .iter()
            .any(|n| n["method"] == "notifications/tools/list_changed")
    );
    assert_eq!(
        text(&c.tool("slow_greet", json!({"name": "new"})).await),
        "Hello, new!"
    );

    // A broken file is refused; everything else goes on being served.
    std::fs::write(dir.join("broken.wasm"), b"not a component").unwrap();
    std::fs::remove_file(dir.join("hello.wasm")).unwrap();
    wait_for_tools(&mut c, |n| !n.contains(&"hello_greet")).await;
    assert_eq!(text(&c.tool("counter_increment", json!({})).await), "1");
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn arguments_and_structured_results_are_checked_against_the_schemas() {
    let mut c = InProcess::stdio(kit::config("", &[dist(), &fixtures()]));
    c.initialize("2025-11-25").await;
    c.ok("logging/setLevel", json!({"level": "debug"})).await;
    // Arguments that do not fit never reach the plugin (it would log).
    let r = c
        .tool("hello_greet", json!({"name": 5, "extra": true}))
        .await;
    assert_eq!(r["isError"], true);
    assert!(
        text(&r).starts_with("Invalid arguments for hello_greet: at /name"),
        "{r}"
    );
    assert!(
        c.notifications
            .iter()
            .all(|n| n["method"] != "notifications/message")
    );
    let r = c.tool("hello_greet", json!({})).await;
    assert!(text(&r).contains("name"), "{r}");

    let good = c.tool("shapes_area", json!({"side": 3.0})).await;
    assert_eq!(good["isError"], false);
    assert_eq!(good["structuredContent"], json!({"area": 9.0}));
    let bad = c.tool("shapes_broken", json!({"side": 3.0})).await;
    assert_eq!(bad["isError"], true);
    assert_eq!(
        text(&bad),
        "Tool shapes_broken returned a result that does not match its output schema."
    );
    assert!(bad.get("structuredContent").is_none());
}
