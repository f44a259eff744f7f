//! Plugins in every language berth builds, end to end: `berth new` and
//! `berth build` make a project that serves, and each language's example
//! `hello` and `counter` pass the same checks as the Rust ones (tools/list,
//! a call, a log message, the counter 1, 2, 3 in a legacy session and
//! through a modern handle). A deliberate error reaches the client; any
//! other failure is masked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::{Client, InProcess, modern_call, run_berth, scratch, text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Where `berth build` compiles Rust projects in these tests: shared, so a
/// warm run does not compile the SDK's dependencies again.
fn rust_target() -> String {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("projects-target")
        .to_string_lossy()
        .into_owned()
}

/// The examples of `language` (`rust`: the workspace's; others: built by
/// `berth build` into `plugins/dist/<language>`), and their names.
fn examples(language: &str) -> (PathBuf, String, String) {
    if language == "rust" {
        let dist = kit::dist().to_path_buf();
        return (dist, "hello".to_owned(), "counter".to_owned());
    }
    let dist = kit::language_dist(language);
    let suffix = match language {
        "python" => "py",
        other => other,
    };
    (dist, format!("hello-{suffix}"), format!("counter-{suffix}"))
}

fn logs(c: &Client) -> Vec<String> {
    c.notifications
        .iter()
        .filter(|n| n["method"] == "notifications/message")
        .map(|n| n["params"]["data"].to_string())
        .collect()
}

/// The same checks for every language's `hello` and `counter`.
async fn examples_serve(language: &str) {
    let (dir, hello, counter) = examples(language);
    let mut c = InProcess::stdio(kit::config("", &[&dir]));
    c.initialize("2025-11-25").await;
    c.ok("logging/setLevel", json!({"level": "debug"})).await;
    let list = c.ok("tools/list", json!({})).await;
    let names = kit::tool_names(&list);
    for tool in [
        format!("{hello}_greet"),
        format!("{counter}_increment"),
        format!("{counter}_get"),
        format!("{counter}_reset"),
    ] {
        assert!(
            names.contains(&tool.as_str()),
            "{language}: {tool} in {names:?}"
        );
    }
    let greet = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == format!("{hello}_greet"))
        .unwrap();
    assert_eq!(
        greet["inputSchema"]["properties"]["name"]["type"], "string",
        "{greet}"
    );
    let r = c
        .tool(&format!("{hello}_greet"), json!({"name": "Ada"}))
        .await;
    assert_eq!(text(&r), "Hello, Ada!", "{language}");
    assert!(
        logs(&c).iter().any(|l| l.contains("Ada")),
        "{language}: a log message about Ada: {:?}",
        c.notifications
    );
    for expected in ["1", "2", "3"] {
        let r = c.tool(&format!("{counter}_increment"), json!({})).await;
        assert_eq!(text(&r), expected, "{language}: {r}");
    }
    assert_eq!(
        text(&c.tool(&format!("{counter}_get"), json!({})).await),
        "3"
    );
    assert_eq!(
        text(&c.tool(&format!("{counter}_reset"), json!({})).await),
        "0"
    );
    assert!(c.finish().await.success());

    let mut m = InProcess::stdio(kit::config("", &[&dir]));
    let handle = m.open_handle().await;
    for expected in ["1", "2", "3"] {
        let r = m
            .ok(
                "tools/call",
                modern_call(&format!("{counter}_increment"), json!({"session": handle})),
            )
            .await;
        assert_eq!(text(&r), expected, "{language}: {r}");
    }
    assert!(m.finish().await.success());
}

/// A tool appended to the template of each language: fails on purpose
/// with a user-facing error for "user", and raises otherwise.
fn failing_tool(language: &str) -> (&'static str, &'static str) {
    match language {
        "rust" => (
            "src/lib.rs",
            r#"
#[derive(Deserialize, JsonSchema)]
struct FailArgs {
    how: String,
}

fn fail(args: FailArgs) -> ToolResult {
    if args.how == "user" {
        return Err(Error::InvalidParams("how must be polite".into()));
    }
    panic!("secret detail");
}
"#,
        ),
        "python" => (
            "app.py",
            r#"

from berth import InvalidParams


@tool
def fail(how: str) -> str:
    """Fails."""
    if how == "user":
        raise InvalidParams("how must be polite")
    raise RuntimeError("secret detail")
"#,
        ),
        "js" => (
            "plugin.js",
            r#"
import { UserError as FailUserError } from "berth";

tool({
  name: "fail",
  description: "Fails",
  inputSchema: { type: "object", properties: { how: { type: "string" } }, required: ["how"] },
}, ({ how }) => {
  if (how === "user") throw new FailUserError("how must be polite");
  throw new Error("secret detail");
});
"#,
        ),
        "c" => (
            "plugin.c",
            r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(berth_call *c) {
    if (strcmp(berth_arg_str(c, "how", ""), "user") == 0) {
        berth_fail(c, BERTH_INVALID_PARAMS, "how must be polite");
        return;
    }
    fprintf(stderr, "secret detail\n");
    abort();
}
"#,
        ),
        "cpp" => (
            "plugin.cpp",
            r#"
#include <cstdio>
#include <cstdlib>

static void fail(berth::Call &c) {
    if (c.arg("how") == "user") {
        c.fail(berth::Error::InvalidParams, "how must be polite");
        return;
    }
    std::fprintf(stderr, "secret detail\n");
    std::abort();
}
"#,
        ),
        "zig" => (
            "plugin.zig",
            r#"
fn fail(c: *berth.Call) !void {
    if (@import("std").mem.eql(u8, c.arg("how") orelse "", "user")) {
        return c.fail(.invalid_params, "how must be polite", .{});
    }
    @panic("secret detail");
}
"#,
        ),
        other => panic!("no failing tool for {other}"),
    }
}

/// Lists the failing tool in the template's table of tools.
fn register_failing_tool(language: &str, source: &str) -> String {
    let (anchor, entry) = match language {
        // A decorator or a `tool(...)` call registers it where it is.
        "python" | "js" => return source.to_owned(),
        "rust" => (
            "berth_plugin::tools![",
            "berth_plugin::tools![\n    tool(\"fail\", \"Fails\", fail),",
        ),
        "c" => (
            "BERTH_TOOLS(",
            "static void fail(berth_call *c);\nBERTH_TOOLS(\n    {\"fail\", \"Fails\", \"how: string\", fail},",
        ),
        "cpp" => (
            "BERTH_TOOLS(",
            "static void fail(berth::Call &c);\nBERTH_TOOLS(\n    berth::tool<fail>(\"fail\", \"Fails\", \"how: string\"),",
        ),
        "zig" => (
            "berth.tools(&.{",
            "berth.tools(&.{\n        .{ .name = \"fail\", .description = \"Fails\", .args = \"how: string\", .run = fail },",
        ),
        other => panic!("no tool table for {other}"),
    };
    assert_eq!(source.matches(anchor).count(), 1, "{language}: {anchor}");
    source.replace(anchor, entry)
}

/// `berth new` + `berth build` for `language`, with a failing tool added;
/// the tools serve, a deliberate error is shown, any other is masked.
async fn template_builds_and_serves(language: &str) {
    let parent = scratch(&format!("new-{language}"));
    let target = rust_target();
    let env = [("CARGO_TARGET_DIR", target.as_str())];
    let new = run_cmd(&parent, &["new", "--lang", language, "demo"], &env).await;
    assert_eq!(new.code, Some(0), "{}", new.all());
    let project = parent.join("demo");
    let (file, extra) = failing_tool(language);
    let mut source = std::fs::read_to_string(project.join(file)).unwrap();
    source.push_str(extra);
    std::fs::write(project.join(file), register_failing_tool(language, &source)).unwrap();
    let dir = project.to_str().unwrap();
    let built = run_cmd(&parent, &["build", dir], &env).await;
    assert_eq!(built.code, Some(0), "{}", built.all());
    assert!(built.stdout.contains("demo_greet"), "{}", built.all());

    let mut c = InProcess::stdio(kit::config("", &[&project]));
    c.initialize("2025-11-25").await;
    let r = c.tool("demo_greet", json!({"name": "Ada"})).await;
    assert!(text(&r).starts_with("Hello, Ada"), "{language}: {r}");
    for expected in [1, 2] {
        let r = c.tool("demo_count", json!({})).await;
        assert_eq!(count_of(&r), expected, "{language}: {r}");
    }
    let user = c.tool("demo_fail", json!({"how": "user"})).await;
    assert_eq!(user["isError"], true, "{language}: {user}");
    assert!(
        text(&user).contains("how must be polite"),
        "{language}: {user}"
    );
    let raised = c
        .call(
            "tools/call",
            json!({"name": "demo_fail", "arguments": {"how": "raise"}}),
        )
        .await;
    let shown = raised.to_string();
    assert!(
        !shown.contains("secret detail"),
        "{language}: masked: {shown}"
    );
    assert!(shown.contains("Internal error"), "{language}: {shown}");
    let r = c.tool("demo_count", json!({})).await;
    assert_eq!(
        count_of(&r),
        3,
        "{language}: the session survives a failed call"
    );
    assert!(c.finish().await.success());
    std::fs::remove_dir_all(&parent).unwrap();
}

/// The count a template's `count` tool returned: as text, or as
/// structured content `{"count": n}`.
fn count_of(result: &Value) -> u64 {
    if let Some(n) = result["structuredContent"]["count"].as_u64() {
        return n;
    }
    text(result)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no count in {result}"))
}

/// Runs berth in `dir`.
async fn run_cmd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> kit::Run {
    let mut cmd = kit::berth();
    cmd.current_dir(dir).args(args).envs(env.iter().copied());
    kit::run_within(cmd, BUILD_WAIT).await
}

/// Builds fetch toolchains and compile: far longer than a request.
const BUILD_WAIT: std::time::Duration = std::time::Duration::from_secs(900);

#[tokio::test]
async fn rust_examples_serve() {
    examples_serve("rust").await;
}

#[tokio::test]
async fn rust_template_builds_and_serves() {
    template_builds_and_serves("rust").await;
}

#[tokio::test]
async fn c_examples_serve() {
    examples_serve("c").await;
}

#[tokio::test]
async fn c_template_builds_and_serves() {
    template_builds_and_serves("c").await;
}

#[tokio::test]
async fn cpp_examples_serve() {
    examples_serve("cpp").await;
}

#[tokio::test]
async fn cpp_template_builds_and_serves() {
    template_builds_and_serves("cpp").await;
}

#[tokio::test]
async fn zig_examples_serve() {
    examples_serve("zig").await;
}

#[tokio::test]
async fn zig_template_builds_and_serves() {
    template_builds_and_serves("zig").await;
}

#[tokio::test]
async fn a_project_that_fails_to_build_shows_the_toolchains_error() {
    let parent = scratch("broken");
    let target = rust_target();
    let env = [("CARGO_TARGET_DIR", target.as_str())];
    let new = run_cmd(&parent, &["new", "--lang", "rust", "broken"], &env).await;
    assert_eq!(new.code, Some(0), "{}", new.all());
    let lib = parent.join("broken/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        source.replace("fn greet(", "fn greet(oops: NoSuchType, "),
    )
    .unwrap();
    let built = run_cmd(&parent, &["build", "broken"], &env).await;
    assert_eq!(built.code, Some(2), "{}", built.all());
    assert!(
        built.stderr.contains("NoSuchType"),
        "rustc's own error: {}",
        built.all()
    );
    assert!(built.stderr.contains("cargo build"), "{}", built.all());
    assert!(!parent.join("broken/broken.wasm").exists());
    let again = run_cmd(&parent, &["new", "--lang", "rust", "broken"], &env).await;
    assert_eq!(again.code, Some(2));
    assert!(again.stderr.contains("already exists"), "{}", again.all());
    let not = run_berth(&["build", parent.to_str().unwrap()], &[]).await;
    assert!(not.stderr.contains("not a plugin project"), "{}", not.all());
    std::fs::remove_dir_all(&parent).unwrap();
}

#[tokio::test]
async fn js_examples_serve() {
    examples_serve("js").await;
}

#[tokio::test]
async fn js_template_builds_and_serves() {
    template_builds_and_serves("js").await;
}

#[tokio::test]
async fn python_examples_serve() {
    examples_serve("python").await;
}

#[tokio::test]
async fn python_template_builds_and_serves() {
    template_builds_and_serves("python").await;
}

#[tokio::test]
async fn a_c_project_that_fails_to_compile_shows_the_compilers_error() {
    let parent = scratch("broken-c");
    let new = run_cmd(&parent, &["new", "--lang", "c", "broken"], &[]).await;
    assert_eq!(new.code, Some(0), "{}", new.all());
    let file = parent.join("broken/plugin.c");
    let source = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        source.replace(
            "static void greet(berth_call *c) {",
            "static void greet(berth_call *c) {\n    NoSuchType oops;",
        ),
    )
    .unwrap();
    let built = run_cmd(&parent, &["build", "broken"], &[]).await;
    assert_eq!(built.code, Some(2), "{}", built.all());
    assert!(
        built.stderr.contains("NoSuchType"),
        "clang's own error: {}",
        built.all()
    );
    assert!(built.stderr.contains("clang-19"), "{}", built.all());
    assert!(!parent.join("broken/broken.wasm").exists());
    std::fs::remove_dir_all(&parent).unwrap();
}
