//! Test support: builds the real plugins once per test binary, and drives
//! the real `berth` binary over stdio the way an MCP client does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../xtask/src/plugins.rs"]
mod plugins;

pub mod http;
pub mod origin;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long any single wait for the server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The plugin dist directory, built from source on first use.
pub fn dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        plugins::build(root).unwrap_or_else(|e| panic!("building test plugins: {e}"))
    })
}

/// `plugins/dist/<language>`: the examples of `language`, built with the
/// `berth` under test unless there already (`cargo xtask test` builds
/// them before the tests).
pub fn language_dist(language: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = dist().join(language);
    let (_, names) = plugins::LANGUAGE_EXAMPLES
        .iter()
        .find(|(l, _)| *l == language)
        .unwrap_or_else(|| panic!("no examples in {language}"));
    if names
        .iter()
        .any(|n| !dir.join(format!("{n}.wasm")).exists())
    {
        BUILT.get_or_init(|| {
            let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("berth-cache");
            plugins::build_languages(root, Path::new(env!("CARGO_BIN_EXE_berth")), Some(&cache))
                .unwrap_or_else(|e| panic!("building the language examples: {e}"));
        });
    }
    dir
}

/// The fixtures directory.
pub fn fixtures() -> PathBuf {
    dist().join("fixtures")
}

/// The `berth` binary under test.
pub fn berth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    // Compiled-code cache entries are per file version, so tests may share
    // one; it lives in cargo's scratch directory, not the user's cache.
    cmd.env(
        "BERTH_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("berth-cache"),
    );
    cmd.env("BERTH_LOG", "info");
    cmd
}

/// A fresh, empty directory for one test, under cargo's scratch
/// directory, named after the test binary, `name` and this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How a `berth` command ended and what it printed.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
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

/// A client speaking newline-delimited JSON-RPC to `berth serve --stdio`.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: i64,
    /// Notifications received so far, in order.
    pub notifications: Vec<Value>,
}

impl Client {
    /// Starts `berth serve --stdio` over `dirs`.
    pub fn serve(dirs: &[&Path]) -> Self {
        Self::serve_with(&[], dirs)
    }

    /// Starts `berth <global args> serve --stdio` over `dirs`.
    pub fn serve_with(global: &[&str], dirs: &[&Path]) -> Self {
        let mut cmd = berth();
        cmd.args(global).arg("serve").arg("--stdio");
        for d in dirs {
            cmd.arg("--plugins").arg(d);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin: Some(stdin),
            stdout,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    /// Serves the examples only.
    pub fn examples() -> Self {
        Self::serve(&[dist()])
    }

    /// Sends one raw line.
    pub async fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("input is open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Sends raw bytes as they are (no newline added).
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("input is open");
        stdin.write_all(bytes).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// The server's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Closes the server's input; its output can still be read.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// Waits for the server to exit, input left open.
    pub async fn exit(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("server exited in time")
            .unwrap()
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, msg: &Value) {
        self.send_raw(&msg.to_string()).await;
    }

    /// The next message from the server.
    pub async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("server answered in time")
            .unwrap()
            .expect("server still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout: {line:?}: {e}"))
    }

    /// Reads until the response with `id`, keeping notifications.
    pub async fn response(&mut self, id: &Value) -> Value {
        loop {
            let msg = self.recv().await;
            if msg.get("id") == Some(id) && msg.get("method").is_none() {
                return msg;
            }
            assert!(msg.get("method").is_some(), "unexpected message {msg}");
            self.notifications.push(msg);
        }
    }

    /// The next notification `method`: one kept while reading a response
    /// (taken out of `notifications`), else the next to arrive.
    pub async fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method)
        {
            return self.notifications.remove(i);
        }
        loop {
            let msg = self.recv().await;
            if msg["method"] == method {
                return msg;
            }
            self.notifications.push(msg);
        }
    }

    /// Sends a request with a fresh id and returns its id.
    pub async fn start(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Sends a request and returns the whole response.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.start(method, params).await;
        self.response(&id).await
    }

    /// Sends a request and returns its `result`, failing on an error.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// `initialize` + `notifications/initialized` (legacy era).
    pub async fn initialize(&mut self, version: &str) -> Value {
        self.initialize_with(version, json!({})).await
    }

    /// [`Client::initialize`], declaring the client's `capabilities`.
    pub async fn initialize_with(&mut self, version: &str, capabilities: Value) -> Value {
        let result = self
            .ok(
                "initialize",
                json!({"protocolVersion": version, "capabilities": capabilities,
                       "clientInfo": {"name": "berth-tests", "version": "1"}}),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        result
    }

    /// Opens a modern-era session handle (`berth_session_open`).
    pub async fn open_handle(&mut self) -> String {
        let opened = self
            .ok("tools/call", modern_call("berth_session_open", json!({})))
            .await;
        opened["structuredContent"]["session"]
            .as_str()
            .unwrap_or_else(|| panic!("no session handle in {opened}"))
            .to_owned()
    }

    /// Calls a tool (legacy era) and returns the result.
    pub async fn tool(&mut self, name: &str, args: Value) -> Value {
        self.ok("tools/call", json!({"name": name, "arguments": args}))
            .await
    }

    /// Ends input and waits for the server to exit.
    pub async fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin);
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("server exited in time")
            .unwrap()
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
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
