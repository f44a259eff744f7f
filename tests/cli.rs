//! The `berth` command line: `call`, `inspect`, configuration errors, and
//! what `serve` reports about plugins it cannot load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{berth, dist, fixtures, scratch};
use serde_json::Value;
use std::process::{Output, Stdio};

async fn run(args: &[&str]) -> Output {
    let mut cmd = berth();
    cmd.args(args).stdin(Stdio::null());
    tokio::time::timeout(kit::WAIT, cmd.output())
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("it has: hello_greet (greet)"));
    // The name clients see works as well as the plugin's own.
    let out = run(&[
        "call",
        &path(dist().join("hello.wasm")),
        "hello_greet",
        "--args",
        r#"{"name":"Bo"}"#,
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, Bo!\n");
}

#[tokio::test]
async fn inspect_shows_exports_tools_schemas_and_limits() {
    let out = run(&["inspect", &path(dist().join("counter.wasm"))]).await;
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["plugin"], "counter");
    assert_eq!(report["exports"], serde_json::json!(["tools"]));
    assert_eq!(report["tools"][0]["name"], "counter_increment");
    assert_eq!(report["tools"][0]["pluginName"], "increment");
    assert_eq!(report["tools"][0]["stateful"], true);
    assert_eq!(report["tools"][0]["inputSchema"]["type"], "object");
    assert_eq!(report["limits"]["memoryMb"], 64);
    let out = run(&["inspect", &path(fixtures().join("loop.wasm"))]).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["limits"]["deadlineMs"], 300);
}

#[tokio::test]
async fn inspect_groups_imports_once_each_and_shows_what_is_asked_and_granted() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-inspect-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let wasm = dir.join("probe.wasm");
    std::fs::copy(fixtures().join("probe.wasm"), &wasm).unwrap();
    std::fs::write(
        dir.join("probe.toml"),
        "[grants]\nenv = [\"CLI_INSPECT_VAR\"]\nsecrets = [\"TOKEN\"]\ndirs = [{ host = \"data\", guest = \"/data\" }]\n",
    )
    .unwrap();
    let config = dir.join("berth.toml");
    std::fs::write(
        &config,
        "[sandbox]\nallow_env = [\"CLI_INSPECT_VAR\"]\n[secrets]\nTOKEN = { env = \"CLI_INSPECT_TOKEN\" }\n",
    )
    .unwrap();
    let mut cmd = berth();
    cmd.args(["--config", &path(config), "inspect", &path(wasm)])
        .env("CLI_INSPECT_TOKEN", "tok-value-9f2")
        .env("CLI_INSPECT_VAR", "v")
        .stdin(Stdio::null());
    let out = tokio::time::timeout(kit::WAIT, cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("tok-value-9f2"), "{text}");
    assert!(!text.contains("not granted by berth"), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let groups = report["imports"].as_array().unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["interface"].as_str().unwrap())
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "each interface once: {names:?}");
    let access = |name: &str| {
        groups
            .iter()
            .find(|g| g["interface"] == name)
            .unwrap_or_else(|| panic!("{name} in {names:?}"))["access"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(access("wasi:sockets").contains("denied"));
    assert!(access("wasi:filesystem").contains("/data"));
    assert!(access("wasi:filesystem").contains("read-only"));
    assert!(access("wasi:cli").contains("CLI_INSPECT_VAR"));
    assert!(access("wasi:cli").contains("TOKEN"));
    assert!(access("berth:plugin/types").contains("provided"));
    assert_eq!(report["manifest"]["secrets"], serde_json::json!(["TOKEN"]));
    assert_eq!(report["manifest"]["dirs"][0]["host"], "data");
    assert_eq!(report["granted"]["secrets"], serde_json::json!(["TOKEN"]));
    assert_eq!(
        report["granted"]["env"],
        serde_json::json!(["CLI_INSPECT_VAR"])
    );
    assert_eq!(
        report["granted"]["dirs"][0]["host"],
        path(std::fs::canonicalize(dir.join("data")).unwrap())
    );
    // A grant the policy forbids: inspect says which, and why.
    let out = run(&["inspect", &path(dir.join("probe.wasm"))]).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("grants.env"), "{err}");
    assert!(err.contains("allow_env"), "{err}");
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
    // hog_eat, hostile_{announce,flood,huge}, loop_spin,
    // probe_{connect,env,read,write}, shapes_area, shapes_broken,
    // trap_explode, trap_recurse.
    assert!(err.contains("tools=13"), "{err}");
}

#[tokio::test]
async fn files_that_are_not_components_say_what_they_are_and_what_to_do() {
    let dir = scratch("not-components");
    let text = dir.join("notes.wasm");
    std::fs::write(&text, "# not wasm at all\n".repeat(100)).unwrap();
    let out = run(&["inspect", &path(text)]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a WebAssembly file"), "{err}");
    assert!(err.contains("wasm32-wasip2"), "{err}");
    assert!(err.lines().count() <= 2, "no byte dump: {err}");
    // The smallest core module: header only.
    let core = dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let out = run(&["inspect", &path(core)]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("core WebAssembly module, not a component"),
        "{err}"
    );
    assert!(err.contains("wasm32-wasip2"), "{err}");
}

#[tokio::test]
async fn manifest_errors_give_line_and_column() {
    let dir = scratch("manifest");
    std::fs::copy(dist().join("hello.wasm"), dir.join("hello.wasm")).unwrap();
    std::fs::write(dir.join("hello.toml"), "[limits]\nmemory_mb = \"lots\"\n").unwrap();
    let out = run(&["inspect", &path(dir.join("hello.wasm"))]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2, column 13"), "{err}");
}

#[tokio::test]
async fn a_missing_config_file_is_named_once() {
    let missing = "/nonexistent/berth.toml";
    let out = run(&[
        "--config",
        missing,
        "serve",
        "--plugins",
        &path(dist().to_owned()),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches(missing).count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[tokio::test]
async fn an_error_and_its_cause_are_each_printed_once() {
    // A plugin directory that cannot be listed: the error keeps the I/O
    // error as its source and shows it in its message.
    let missing = "/nonexistent/berth-plugins";
    let out = run(&["serve", "--stdio", "--plugins", missing]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("error: {missing}: cannot read: No such file")),
        "{err}"
    );
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    // A setting the auth layer refuses, named by the config layer.
    let file = scratch("bad-key").join("berth.toml");
    std::fs::write(
        &file,
        "[[auth.api_keys]]\nsubject = \"alice\"\nsha256 = \"abc\"\n",
    )
    .unwrap();
    let out = run(&[
        "--config",
        &path(file),
        "serve",
        "--plugins",
        &path(dist().to_owned()),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        "error: invalid setting auth.api_keys: the key of alice must be given as 64 hex digits of its SHA-256"
    );
}

#[tokio::test]
async fn serving_no_tools_is_a_warning_that_names_the_directory() {
    let dir = scratch("empty");
    let out = run(&["serve", "--stdio", "--plugins", &path(dir.clone())]).await;
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARN"), "{err}");
    assert!(err.contains("no tools to serve"), "{err}");
    assert!(err.contains(&path(dir)), "{err}");
    assert!(err.contains("berth stopped"), "one line at shutdown: {err}");
}

#[tokio::test]
async fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `berth inspect x.wasm | head -0`: the pipe is closed before berth
    // writes; berth stops without a panic and reports success.
    let mut cmd = kit::berth();
    cmd.arg("inspect")
        .arg(dist().join("counter.wasm"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    let out = tokio::time::timeout(kit::WAIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
