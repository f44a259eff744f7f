//! Grants, end to end with the real binary: secrets (granted, absent
//! without a grant, never in the log at debug), environment variables
//! (exactly those granted), directories (read-only vs writable, `..` and
//! symlink escapes refused, a missing directory a load error), the
//! operator's `[sandbox]` policy, the CPU budget, and the `files` example.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{InProcess, Run, dist, fixtures, run_berth, scratch};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `plugin`.wasm from the fixtures copied into `dir`, with `manifest`
/// beside it (none if empty). Returns the wasm's path.
fn plugin_in(dir: &Path, plugin: &str, manifest: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let wasm = dir.join(format!("{plugin}.wasm"));
    let source = fixtures().join(format!("{plugin}.wasm"));
    let source = if source.exists() {
        source
    } else {
        dist().join(format!("{plugin}.wasm"))
    };
    std::fs::copy(source, &wasm).unwrap();
    if !manifest.is_empty() {
        std::fs::write(dir.join(format!("{plugin}.toml")), manifest).unwrap();
    }
    wasm
}

/// Runs `berth --log debug --config <config> <args>` with `env` added to
/// its environment.
async fn berth_run(config: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let config = config.to_str().unwrap();
    let global = ["--log", "debug", "--config", config];
    run_berth(&[&global[..], args].concat(), env).await
}

/// `berth call <wasm> <tool> --args <args>`.
async fn call(
    config: &Path,
    env: &[(&str, &str)],
    wasm: &Path,
    tool: &str,
    args: serde_json::Value,
) -> Run {
    let args = args.to_string();
    berth_run(
        config,
        env,
        &["call", wasm.to_str().unwrap(), tool, "--args", &args],
    )
    .await
}

fn config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("berth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn reversed(s: &str) -> String {
    s.chars().rev().collect()
}

const SECRET: &str = "s3cret-value-Qz81-never-logged";

#[tokio::test]
async fn a_secret_reaches_only_a_plugin_granted_it_and_never_the_log() {
    let root = scratch("secret-env");
    let cfg = config(
        &root,
        "[secrets]\nTOKEN = { env = \"GRANTS_TEST_TOKEN\" }\n",
    );
    let env = [("GRANTS_TEST_TOKEN", SECRET)];
    let granted = plugin_in(
        &root.join("a"),
        "probe",
        "[grants]\nsecrets = [\"TOKEN\"]\n",
    );
    let r = call(&cfg, &env, &granted, "env", json!({})).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(r.stdout.trim(), format!("TOKEN={}", reversed(SECRET)));
    assert!(!r.all().contains(SECRET), "the value leaked: {}", r.all());
    assert!(
        r.stderr.contains("DEBUG"),
        "the log ran at debug: {}",
        r.stderr
    );
    // Without the grant, nothing: not the secret, not the variable it
    // comes from.
    let plain = plugin_in(&root.join("b"), "probe", "");
    let r = call(&cfg, &env, &plain, "env", json!({})).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(r.stdout.trim(), "");
    // inspect names the secret, never its value.
    let r = berth_run(&cfg, &env, &["inspect", granted.to_str().unwrap()]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("TOKEN"), "{}", r.stdout);
    assert!(!r.all().contains(SECRET), "the value leaked: {}", r.all());
    // A manifest naming a secret berth.toml does not define: a load error
    // naming the file and the key.
    let unknown = plugin_in(
        &root.join("c"),
        "probe",
        "[grants]\nsecrets = [\"OTHER\"]\n",
    );
    let r = call(&cfg, &env, &unknown, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("probe.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("grants.secrets"), "{}", r.stderr);
    assert!(r.stderr.contains("OTHER"), "{}", r.stderr);
    // A secret whose variable is not set stops berth at start.
    let r = call(&cfg, &[], &plain, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("TOKEN"), "{}", r.stderr);
    assert!(r.stderr.contains("GRANTS_TEST_TOKEN"), "{}", r.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn a_secret_file_must_be_private_to_berth() {
    use std::os::unix::fs::PermissionsExt;
    let root = scratch("secret-file");
    let file = root.join("token");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = config(
        &root,
        &format!(
            "[secrets]\nTOKEN = {{ file = {:?} }}\n",
            file.to_str().unwrap()
        ),
    );
    let wasm = plugin_in(
        &root.join("p"),
        "probe",
        "[grants]\nsecrets = [\"TOKEN\"]\n",
    );
    let r = call(&cfg, &[], &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    // One trailing newline is not part of the value.
    assert_eq!(r.stdout.trim_end(), format!("TOKEN={}", reversed(SECRET)));
    assert!(!r.all().contains(SECRET), "the value leaked: {}", r.all());
    // Readable by group or others: refused at start, with the fix.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = call(&cfg, &[], &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    assert!(r.stderr.contains("TOKEN"), "{}", r.stderr);
    assert!(!r.all().contains(SECRET), "the value leaked: {}", r.all());
}

#[tokio::test]
async fn env_passes_exactly_the_granted_variables_the_policy_allows() {
    let root = scratch("env");
    let cfg = config(&root, "[sandbox]\nallow_env = [\"GRANTS_A\"]\n");
    let env = [("GRANTS_A", "alpha"), ("GRANTS_B", "beta")];
    let wasm = plugin_in(&root.join("p"), "probe", "[grants]\nenv = [\"GRANTS_A\"]\n");
    let r = call(&cfg, &env, &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(r.stdout.trim(), format!("GRANTS_A={}", reversed("alpha")));
    // A variable the operator does not allow: a load error naming the key
    // and the policy.
    let wasm = plugin_in(&root.join("q"), "probe", "[grants]\nenv = [\"GRANTS_B\"]\n");
    let r = call(&cfg, &env, &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("probe.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("grants.env"), "{}", r.stderr);
    assert!(r.stderr.contains("allow_env"), "{}", r.stderr);
    // No policy at all: no environment variable may be granted.
    let none = config(&root.join("q"), "");
    let r = call(&none, &env, &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("allow_env"), "{}", r.stderr);
}

#[tokio::test]
async fn directories_are_read_only_or_writable_as_granted_and_cannot_be_escaped() {
    let root = scratch("dirs");
    let ro = root.join("ro");
    let rw = root.join("rw");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::write(ro.join("inside.txt"), "inside").unwrap();
    std::fs::write(root.join("outside.txt"), "outside").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("outside.txt"), ro.join("link.txt")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&root, ro.join("up")).unwrap();
    let cfg = config(
        &root,
        &format!("[sandbox]\nallow_dirs = [{:?}]\n", root.to_str().unwrap()),
    );
    let manifest = format!(
        "[grants]\ndirs = [{{ host = {:?}, guest = \"/ro\" }}, {{ host = {:?}, guest = \"/rw\", writable = true }}]\n",
        ro.to_str().unwrap(),
        rw.to_str().unwrap()
    );
    let wasm = plugin_in(&root.join("p"), "probe", &manifest);
    let r = call(&cfg, &[], &wasm, "read", json!({"path": "/ro/inside.txt"})).await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (Some(0), "inside"),
        "{}",
        r.all()
    );
    // Read-only: a write fails inside the plugin and nothing is written.
    let r = call(
        &cfg,
        &[],
        &wasm,
        "write",
        json!({"path": "/ro/new.txt", "text": "x"}),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains("write /ro/new.txt"), "{}", r.all());
    assert!(!ro.join("new.txt").exists());
    // Writable: the write lands in the host directory.
    let r = call(
        &cfg,
        &[],
        &wasm,
        "write",
        json!({"path": "/rw/new.txt", "text": "written"}),
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(
        std::fs::read_to_string(rw.join("new.txt")).unwrap(),
        "written"
    );
    // Escapes: `..`, a symlink to a file outside, a symlink to a directory
    // outside, a path outside every grant.
    for path in [
        "/ro/../outside.txt",
        "/ro/../../outside.txt",
        "/rw/../ro/../outside.txt",
        "/ro/link.txt",
        "/ro/up/outside.txt",
        "/outside.txt",
        "/etc/passwd",
    ] {
        let r = call(&cfg, &[], &wasm, "read", json!({"path": path})).await;
        assert_eq!(r.code, Some(1), "{path}: {}", r.all());
        assert!(!r.stdout.contains("outside\n"), "{path}: {}", r.all());
        assert!(r.all().contains(&format!("read {path}")), "{}", r.all());
    }
    let r = call(
        &cfg,
        &[],
        &wasm,
        "write",
        json!({"path": "/rw/../escaped.txt", "text": "x"}),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(!root.join("escaped.txt").exists());
}

#[tokio::test]
async fn a_missing_directory_or_a_forbidden_grant_is_a_load_error_and_others_keep_serving() {
    let root = scratch("policy");
    let outside = scratch("policy-outside");
    let cfg = config(&root, "");
    // A host directory that does not exist.
    let wasm = plugin_in(
        &root.join("a"),
        "probe",
        "[grants]\ndirs = [{ host = \"no-such-dir\", guest = \"/data\" }]\n",
    );
    let r = call(&cfg, &[], &wasm, "env", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    for needle in [
        "probe.toml",
        "grants.dirs",
        "/data",
        "no-such-dir",
        "does not exist",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    // Default policy: read-only directories inside the plugin's own
    // directory only.
    std::fs::create_dir_all(root.join("b").join("data")).unwrap();
    std::fs::write(root.join("b").join("data").join("f.txt"), "ok").unwrap();
    let wasm = plugin_in(
        &root.join("b"),
        "probe",
        "[grants]\ndirs = [{ host = \"data\", guest = \"/data\" }]\n",
    );
    let r = call(&cfg, &[], &wasm, "read", json!({"path": "/data/f.txt"})).await;
    assert_eq!((r.code, r.stdout.trim()), (Some(0), "ok"), "{}", r.all());
    for (dir, grant) in [
        (
            "c",
            format!(
                "{{ host = {:?}, guest = \"/data\" }}",
                outside.to_str().unwrap()
            ),
        ),
        ("d", "{ host = \"..\", guest = \"/data\" }".to_owned()),
        (
            "e",
            "{ host = \"data\", guest = \"/data\", writable = true }".to_owned(),
        ),
    ] {
        std::fs::create_dir_all(root.join(dir).join("data")).unwrap();
        let wasm = plugin_in(
            &root.join(dir),
            "probe",
            &format!("[grants]\ndirs = [{grant}]\n"),
        );
        let r = call(&cfg, &[], &wasm, "env", json!({})).await;
        assert_eq!(r.code, Some(2), "{grant}: {}", r.all());
        assert!(r.stderr.contains("grants.dirs"), "{grant}: {}", r.stderr);
        assert!(r.stderr.contains("allow_dirs"), "{grant}: {}", r.stderr);
    }
    // With allow_dirs, directories under them are granted, others not.
    let allowing = config(
        &root.join("c"),
        &format!(
            "[sandbox]\nallow_dirs = [{:?}]\n",
            outside.to_str().unwrap()
        ),
    );
    let r = call(
        &allowing,
        &[],
        &root.join("c").join("probe.wasm"),
        "env",
        json!({}),
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let r = call(
        &allowing,
        &[],
        &root.join("b").join("probe.wasm"),
        "env",
        json!({}),
    )
    .await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("allow_dirs"), "{}", r.stderr);
    // Served beside a plugin whose grant is refused, the others serve.
    let mixed = root.join("mixed");
    plugin_in(&mixed, "hello", "");
    plugin_in(
        &mixed,
        "probe",
        &format!(
            "[grants]\ndirs = [{{ host = {:?}, guest = \"/data\" }}]\n",
            outside.to_str().unwrap()
        ),
    );
    let mut c = InProcess::stdio(kit::config_file(&cfg, &[&mixed]));
    c.initialize("2025-11-25").await;
    let list = c.ok("tools/list", json!({})).await;
    assert_eq!(kit::tool_names(&list), vec!["hello_greet"]);
    let r = c.tool("hello_greet", json!({"name": "Ada"})).await;
    assert_eq!(kit::text(&r), "Hello, Ada!");
}

#[tokio::test]
async fn the_network_is_never_granted() {
    let root = scratch("net");
    let cfg = config(&root, "");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let probe = fixtures().join("probe.wasm");
    let r = call(&cfg, &[], &probe, "connect", json!({ "addr": addr })).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains(&format!("connect {addr}")), "{}", r.all());
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing reached the listener");
}

#[tokio::test]
async fn a_cpu_budget_stops_a_busy_call_with_an_error_naming_it() {
    let root = scratch("fuel");
    let cfg = config(&root, "[limits]\ncpu_fuel = 20000000\n");
    let looping = fixtures().join("loop.wasm");
    let r = call(&cfg, &[], &looping, "spin", json!({})).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains("CPU budget"), "{}", r.all());
    assert!(r.all().contains("limits.cpu_fuel"), "{}", r.all());
    assert!(!r.all().contains("time limit"), "{}", r.all());
    // Ordinary calls fit in the budget.
    let r = call(
        &cfg,
        &[],
        &dist().join("hello.wasm"),
        "greet",
        json!({"name": "Ada"}),
    )
    .await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (Some(0), "Hello, Ada!"),
        "{}",
        r.all()
    );
    // A manifest may lower the budget, not raise it, and cannot ask for
    // one when this berth meters nothing.
    let lower = plugin_in(&root.join("a"), "loop", "[limits]\ncpu_fuel = 5000000\n");
    let r = call(&cfg, &[], &lower, "spin", json!({})).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains("CPU budget of 5000000 "), "{}", r.all());
    let higher = plugin_in(&root.join("b"), "hello", "[limits]\ncpu_fuel = 30000000\n");
    let r = call(&cfg, &[], &higher, "greet", json!({"name": "Ada"})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("limits.cpu_fuel"), "{}", r.stderr);
    let unmetered = config(&root.join("b"), "");
    let r = call(&unmetered, &[], &lower, "spin", json!({})).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stderr.contains("limits.cpu_fuel"), "{}", r.stderr);
    assert!(r.stderr.contains("meters no CPU"), "{}", r.stderr);
}

#[tokio::test]
async fn the_files_example_lists_and_reads_its_granted_directory_only() {
    let root = scratch("files");
    let cfg = config(&root, "");
    let files = dist().join("files").join("files.wasm");
    let r = call(&cfg, &[], &files, "list", json!({})).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("README.txt"), "{}", r.stdout);
    assert!(r.stdout.contains("notes/"), "{}", r.stdout);
    let r = call(
        &cfg,
        &[],
        &files,
        "read",
        json!({"path": "notes/hello.txt"}),
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(r.stdout.trim(), "Hello from a granted directory.");
    let r = call(
        &cfg,
        &[],
        &files,
        "read",
        json!({"path": "README.txt", "max_bytes": 10}),
    )
    .await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains("10-byte read limit"), "{}", r.all());
    let r = call(&cfg, &[], &files, "read", json!({"path": "missing.txt"})).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.all().contains("no such file"), "{}", r.all());
    // Its manifest sits one level up, outside the grant.
    let r = call(&cfg, &[], &files, "read", json!({"path": "../files.toml"})).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(!r.stdout.contains("[grants]"), "{}", r.all());
}
