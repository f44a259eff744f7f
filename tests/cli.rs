//! The `berth` command line: `call`, `inspect`, configuration errors, and
//! what `serve` reports about plugins it cannot load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::process::{Output, Stdio};
use support::{berth, dist, fixtures};

async fn run(args: &[&str]) -> Output {
    let mut cmd = berth();
    cmd.args(args).stdin(Stdio::null());
    tokio::time::timeout(support::WAIT, cmd.output())
        .await
        .unwrap()
        .unwrap()
}

fn path(p: std::path::PathBuf) -> String {
    p.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn call_runs_one_tool_and_prints_its_text() {
    let out = run(&[
        "call",
        &path(dist().join("hello.wasm")),
        "greet",
        "--args",
        r#"{"name":"Ada"}"#,
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, Ada!\n");
    // Stateful tools get a session of their own.
    let out = run(&["call", &path(dist().join("counter.wasm")), "increment"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    // A tool error exits 1; an unknown tool names the ones there are.
    let out = run(&["call", &path(fixtures().join("trap.wasm")), "explode"]).await;
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["call", &path(dist().join("hello.wasm")), "nope"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("it has: greet"));
}

#[tokio::test]
async fn inspect_shows_exports_tools_schemas_and_limits() {
    let out = run(&["inspect", &path(dist().join("counter.wasm"))]).await;
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["plugin"], "counter");
    assert_eq!(report["exports"], serde_json::json!(["tools"]));
    assert_eq!(report["tools"][0]["name"], "counter_increment");
    assert_eq!(report["tools"][0]["stateful"], true);
    assert_eq!(report["tools"][0]["inputSchema"]["type"], "object");
    assert_eq!(report["limits"]["memoryMb"], 64);
    let out = run(&["inspect", &path(fixtures().join("loop.wasm"))]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["limits"]["deadlineMs"], 300);
}

#[tokio::test]
async fn a_component_of_the_wrong_world_is_refused_by_name() {
    let out = run(&["inspect", &path(fixtures().join("wrong-world.wasm"))]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a berth plugin"), "{err}");
    assert!(err.contains("wasi:cli/run"), "{err}");
}

#[tokio::test]
async fn unknown_config_keys_are_errors_that_name_the_key() {
    let file = std::env::temp_dir().join(format!("berth-bad-{}.toml", std::process::id()));
    std::fs::write(&file, "[limits]\nmemroy_mb = 3\n").unwrap();
    let out = run(&[
        "--config",
        &path(file.clone()),
        "serve",
        "--plugins",
        &path(dist().to_owned()),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("memroy_mb"));
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn serve_reports_plugins_it_cannot_load_and_serves_the_rest() {
    let out = run(&["serve", "--stdio", "--plugins", &path(fixtures())]).await;
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrong-world.wasm: not a berth plugin"),
        "{err}"
    );
    // hog_eat, loop_spin, shapes_area, shapes_broken, trap_explode, trap_recurse.
    assert!(err.contains("tools=6"), "{err}");
}
