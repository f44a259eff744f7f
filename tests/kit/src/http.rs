//! A small HTTP/1.1 client for the tests (one connection per request),
//! with a Server-Sent Events reader, and a `berth serve --http` launcher.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Child;

/// A running `berth serve --http 127.0.0.1:0`.
pub struct Served {
    /// The process.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything it logged so far.
    pub log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts the server with `global` args (e.g. `--config F`).
    pub async fn start(global: &[&str], dirs: &[&Path]) -> Self {
        let mut cmd = super::berth();
        cmd.args(global).args(["serve", "--http", "127.0.0.1:0"]);
        for d in dirs {
            cmd.arg("--plugins").arg(d);
        }
        Self::spawn(cmd).await
    }

    /// [`Served::start`] with `cmd` (a [`super::berth`] given its own
    /// environment or global args) instead of a plain `berth`.
    pub async fn start_command(mut cmd: tokio::process::Command, dirs: &[&Path]) -> Self {
        cmd.args(["serve", "--http", "127.0.0.1:0"]);
        for d in dirs {
            cmd.arg("--plugins").arg(d);
        }
        Self::spawn(cmd).await
    }

    /// [`Served::start`] with the open-file limit (`ulimit -n`) set to
    /// `fds` for the server.
    pub async fn start_with_fd_limit(fds: u32, global: &[&str], dirs: &[&Path]) -> Self {
        let plain = super::berth();
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {fds} && exec \"$0\" \"$@\""))
            .arg(plain.as_std().get_program());
        for (k, v) in plain.as_std().get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.args(global).args(["serve", "--http", "127.0.0.1:0"]);
        for d in dirs {
            cmd.arg("--plugins").arg(d);
        }
        Self::spawn(cmd).await
    }

    /// Whether the log so far contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().contains(text)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the server to exit.
    pub async fn exit(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(super::WAIT, self.child.wait())
            .await
            .expect("server exited in time")
            .unwrap()
    }

    async fn spawn(mut cmd: tokio::process::Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let addr = tokio::time::timeout(super::WAIT, async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .expect("server exited before listening");
                eprintln!("{line}");
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    return rest
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .parse::<SocketAddr>()
                        .unwrap();
                }
            }
        })
        .await
        .expect("server listened in time");
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, addr, log }
    }

    /// A client of it.
    pub fn client(&self) -> Http {
        Http { addr: self.addr }
    }
}

/// A response read in full.
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: hyper::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The header `name`, if there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One SSE event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

impl Event {
    /// The data as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// A response whose body is read as an SSE stream.
pub struct Stream {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: hyper::HeaderMap,
    body: Incoming,
    buf: String,
    /// Comment lines seen (keep-alives).
    pub comments: usize,
}

impl Stream {
    /// The next event; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = Event::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = Some(v.trim().to_owned());
                    }
                }
                if data.is_empty() && ev.id.is_none() && ev.event.is_none() {
                    continue;
                }
                ev.data = data.join("\n");
                return Some(ev);
            }
            let frame = tokio::time::timeout(super::WAIT, self.body.frame())
                .await
                .expect("event in time")?;
            let frame = frame.ok()?;
            if let Ok(bytes) = frame.into_data() {
                self.buf
                    .push_str(&String::from_utf8_lossy(&bytes).replace("\r\n", "\n"));
            }
        }
    }

    /// Events until the stream ends.
    pub async fn collect(mut self) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(e) = self.next().await {
            all.push(e);
        }
        all
    }
}

/// The client.
#[derive(Clone, Copy)]
pub struct Http {
    /// The server's address.
    pub addr: SocketAddr,
}

impl Http {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Response<Incoming> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req = req.header("host", self.addr.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let has_body = body.is_some();
        if has_body {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        tokio::time::timeout(super::WAIT, sender.send_request(req))
            .await
            .expect("response in time")
            .unwrap()
    }

    async fn full(resp: Response<Incoming>) -> Reply {
        let (parts, body) = resp.into_parts();
        let bytes = tokio::time::timeout(super::WAIT, body.collect())
            .await
            .expect("body in time")
            .unwrap()
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// POST a raw body and read the whole response.
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: String) -> Reply {
        Self::full(self.send(Method::POST, path, headers, Some(body)).await).await
    }

    /// POST JSON and read the whole response.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.post_raw(path, headers, body.to_string()).await
    }

    /// POST JSON and read the response as a stream.
    pub async fn post_stream(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Stream {
        let resp = self
            .send(Method::POST, path, headers, Some(body.to_string()))
            .await;
        stream(resp)
    }

    /// GET and read the whole response.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        Self::full(self.send(Method::GET, path, headers, None).await).await
    }

    /// GET and read the response as a stream.
    pub async fn get_stream(&self, path: &str, headers: &[(&str, &str)]) -> Stream {
        stream(self.send(Method::GET, path, headers, None).await)
    }

    /// DELETE and read the whole response.
    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        Self::full(self.send(Method::DELETE, path, headers, None).await).await
    }
}

fn stream(resp: Response<Incoming>) -> Stream {
    let (parts, body) = resp.into_parts();
    Stream {
        status: parts.status,
        headers: parts.headers,
        body,
        buf: String::new(),
        comments: 0,
    }
}

// Helpers shared by the HTTP test files.

/// `Accept` for JSON or a stream.
pub const BOTH: (&str, &str) = ("accept", "application/json, text/event-stream");
/// `Accept` for JSON only.
pub const JSON_ONLY: (&str, &str) = ("accept", "application/json");

/// A JSON-RPC request.
pub fn rpc(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The first text block of a tool result.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result}"))
}

/// Writes `toml` to a fresh file (in the system's temporary directory); its path, for `--config`.
pub fn config(toml: &str) -> std::path::PathBuf {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!("berth-http-{}-{n}.toml", std::process::id()));
    std::fs::write(&path, toml).unwrap();
    path
}

/// initialize + notifications/initialized; returns the session id.
pub async fn open_session(http: &Http, version: &str) -> String {
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "berth-tests", "version": "1"}}),
    );
    let r = http.post("/mcp", &[BOTH], &init).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["protocolVersion"], version);
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    let ok = http
        .post(
            "/mcp",
            &[BOTH, ("mcp-session-id", &sid)],
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;
    assert_eq!(ok.status, 202);
    sid
}

/// A modern request with the headers the 2026-07-28 transport requires.
pub async fn modern(http: &Http, id: i64, method: &str, params: Value) -> Reply {
    modern_with(http, &[], id, method, params).await
}

/// [`modern`] with `extra` headers too (e.g. `authorization`).
pub async fn modern_with(
    http: &Http,
    extra: &[(&str, &str)],
    id: i64,
    method: &str,
    mut params: Value,
) -> Reply {
    params["_meta"] = super::modern_meta();
    let name = params["name"]
        .as_str()
        .or(params["uri"].as_str())
        .map(str::to_owned);
    let mut headers = vec![
        BOTH,
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = &name {
        headers.push(("mcp-name", name));
    }
    let mirrored = super::mirrored_headers(&params);
    headers.extend(mirrored.iter().map(|(h, v)| (*h, v.as_str())));
    headers.extend_from_slice(extra);
    http.post("/mcp", &headers, &rpc(id, method, params)).await
}

/// A raw HTTP/1.1 connection, for what the client above cannot do: send
/// a request slowly or in pieces, keep a connection idle, watch for
/// `100 Continue`, or notice the server closing the connection.
pub struct Raw {
    /// The connection.
    pub tcp: TcpStream,
}

impl Raw {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            tcp: TcpStream::connect(addr).await.unwrap(),
        }
    }

    /// Sends `bytes` as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.tcp.write_all(bytes).await.unwrap();
    }

    /// Reads one response head (status line and headers) and, when it
    /// has a `Content-Length`, its body; returns them as text.
    pub async fn response(&mut self) -> String {
        tokio::time::timeout(super::WAIT, self.read_response())
            .await
            .expect("a response in time")
    }

    /// [`Raw::response`] if one starts within `wait`.
    pub async fn response_within(&mut self, wait: std::time::Duration) -> Option<String> {
        tokio::time::timeout(wait, self.read_response()).await.ok()
    }

    async fn read_response(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            let n = self.tcp.read(&mut byte).await.unwrap();
            assert_eq!(n, 1, "the connection closed mid-response: {got:?}");
            got.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&got).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        self.tcp.read_exact(&mut body).await.unwrap();
        head + &String::from_utf8_lossy(&body)
    }

    /// Waits (up to [`super::WAIT`]) for the server to close the
    /// connection; anything it still sends is discarded. False if it did
    /// not.
    pub async fn closed_by_server(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        tokio::time::timeout(super::WAIT, async {
            loop {
                match self.tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    }
}
