//! [`Client`]: an MCP client speaking newline-delimited JSON-RPC over
//! stdio, to the real `berth serve --stdio` (a child process) or to berth
//! in this process over an in-memory pipe ([`crate::InProcess::stdio`]).

use crate::{WAIT, dist, modern_call};
use serde_json::{Value, json};
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, Lines};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, DropGuard};

/// The server's end of the pipe: a process, or berth in this process.
enum Server {
    Process(Child),
    InProcess {
        /// The result of `serve`, once it returns.
        done: oneshot::Receiver<std::io::Result<()>>,
        /// Stops the host when the client is dropped.
        _shutdown: DropGuard,
    },
}

/// How the server ended.
#[derive(Debug)]
pub enum Exit {
    /// The process exited with this status.
    Process(std::process::ExitStatus),
    /// The in-process server's `serve` returned this.
    InProcess(Result<(), String>),
}

impl Exit {
    /// Whether it ended cleanly (exit status 0, or `serve` returned `Ok`).
    pub fn success(&self) -> bool {
        match self {
            Self::Process(status) => status.success(),
            Self::InProcess(result) => result.is_ok(),
        }
    }
}

type Input = Pin<Box<dyn AsyncWrite + Send>>;
type Output = Lines<BufReader<Pin<Box<dyn AsyncRead + Send>>>>;

/// A client speaking newline-delimited JSON-RPC to `berth serve --stdio`.
pub struct Client {
    server: Server,
    stdin: Option<Input>,
    stdout: Output,
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
        let mut cmd = crate::berth();
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
        let stdin: Input = Box::pin(child.stdin.take().unwrap());
        let stdout: Pin<Box<dyn AsyncRead + Send>> = Box::pin(child.stdout.take().unwrap());
        Self::new(Server::Process(child), stdin, stdout)
    }

    /// A client of berth in this process, on the pipe `input`/`output`;
    /// `done` says how `serve` ended, `shutdown` stops it.
    pub(crate) fn in_process(
        input: Input,
        output: Pin<Box<dyn AsyncRead + Send>>,
        done: oneshot::Receiver<std::io::Result<()>>,
        shutdown: CancellationToken,
    ) -> Self {
        let server = Server::InProcess {
            done,
            _shutdown: shutdown.drop_guard(),
        };
        Self::new(server, input, output)
    }

    fn new(server: Server, stdin: Input, stdout: Pin<Box<dyn AsyncRead + Send>>) -> Self {
        Self {
            server,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
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

    /// The server's process id (to send it signals); only for a process.
    pub fn pid(&self) -> u32 {
        match &self.server {
            Server::Process(child) => child.id().unwrap(),
            Server::InProcess { .. } => panic!("an in-process server has no process id"),
        }
    }

    /// Closes the server's input; its output can still be read.
    pub async fn close_input(&mut self) {
        close(self.stdin.take()).await;
    }

    /// Waits for the server to exit, input left open.
    pub async fn exit(self) -> Exit {
        let Self { server, stdin, .. } = self;
        let exit = wait(server).await;
        drop(stdin);
        exit
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
    pub async fn finish(self) -> Exit {
        let Self { server, stdin, .. } = self;
        close(stdin).await;
        wait(server).await
    }
}

/// Ends the server's input: the end of a pipe to a process, or of the
/// in-memory one (whose other half, the output, stays open).
async fn close(stdin: Option<Input>) {
    if let Some(mut stdin) = stdin {
        let _ = stdin.shutdown().await;
    }
}

/// Waits (up to [`WAIT`]) for `server` to end.
async fn wait(mut server: Server) -> Exit {
    match &mut server {
        Server::Process(child) => Exit::Process(
            tokio::time::timeout(WAIT, child.wait())
                .await
                .expect("server exited in time")
                .unwrap(),
        ),
        Server::InProcess { done, .. } => Exit::InProcess(
            tokio::time::timeout(WAIT, done)
                .await
                .expect("server ended in time")
                .map_err(|_| "the server's thread ended without a result".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string())),
        ),
    }
}
