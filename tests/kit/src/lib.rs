//! What berth's tests share (package `berth-testkit`, a dev-dependency of
//! `berth`): the test plugins, built once outside the source tree
//! ([`paths`]); a stdio client ([`Client`]) and an HTTP client
//! ([`http::Http`]); hosts to talk to, either the real `berth` binary
//! ([`Client::serve`], [`http::Served`]) or berth in this process
//! ([`InProcess`]); a local origin server for plugins' outbound requests
//! ([`origin`]); and [`WAIT`], the bound of every wait.
//!
//! Test code: panicking on what should not happen is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod http;
mod inprocess;
pub mod origin;
pub mod paths;
mod stdio;

pub use inprocess::{InProcess, InProcessHttp, config, config_file};
pub use paths::{berth_bin, dist, fixtures, language_dist, scratch};
pub use stdio::{Client, Exit};

use serde_json::{Value, json};

use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How long any single wait for the server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The `berth` binary under test, as a command.
pub fn berth() -> Command {
    let mut cmd = Command::new(berth_bin());
    // Compiled-code cache entries are per file version, so tests may share
    // one; it lives in cargo's scratch directory, not the user's cache.
    cmd.env("BERTH_CACHE_DIR", paths::cache_dir());
    cmd.env("BERTH_LOG", "info");
    cmd
}

/// How a `berth` command ended and what it printed.
pub struct Run {
    /// Its exit code (`None`: ended by a signal).
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for assertion messages.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `berth <args>` with `env` added to its environment and no input,
/// within [`WAIT`].
pub async fn run_berth(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = berth();
    cmd.args(args).envs(env.iter().copied());
    run(cmd).await
}

/// Runs `cmd` with no input, within [`WAIT`].
pub async fn run(cmd: Command) -> Run {
    run_within(cmd, WAIT).await
}

/// Runs `cmd` with no input, within `limit`.
pub async fn run_within(mut cmd: Command, limit: Duration) -> Run {
    cmd.stdin(Stdio::null());
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The params of a modern-era (2026-07-28) `tools/call` of `name`.
pub fn modern_call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments, "_meta": modern_meta()})
}

/// The `_meta` of a modern request.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "berth-tests", "version": "1"}
    })
}

/// The `Mcp-Param-*` headers a conforming 2026-07-28 client sends with a
/// `tools/call` of the example plugins: their `x-mcp-header` arguments.
pub fn mirrored_headers(params: &Value) -> Vec<(&'static str, String)> {
    const MIRRORED: [(&str, &str, &str); 3] = [
        ("notes_write", "mcp-param-note-id", "id"),
        ("notes_delete", "mcp-param-note-id", "id"),
        ("test_mirrored_header", "mcp-param-region", "region"),
    ];
    MIRRORED
        .iter()
        .filter(|(tool, ..)| params["name"] == *tool)
        .filter_map(|(_, header, arg)| {
            params["arguments"][arg]
                .as_str()
                .map(|v| (*header, v.to_owned()))
        })
        .collect()
}

/// The first text block of a tool result.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result}"))
}

/// Compares `actual` with `tests/golden/<name>.json`; with
/// `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &Value) {
    let path = paths::root()
        .join("tests/golden")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        pretty,
        expected,
        "{name} differs from {} (UPDATE_GOLDEN=1 refreshes it deliberately)",
        path.display()
    );
}

/// The names in a `tools/list` result, in order.
pub fn tool_names(list: &Value) -> Vec<&str> {
    list["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}
