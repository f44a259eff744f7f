//! `berth-load`: a load generator for any MCP server over Streamable HTTP.
//!
//! ```text
//! berth-load --url http://127.0.0.1:8080/mcp [--era legacy|modern]
//!            [--clients 16] [--calls 2000] [--tool hello_greet]
//!            [--args '{"name":"load"}'] [--server-pid PID]
//!            [--mode calls|handshakes|idle] [--count N] [--expect-error]
//!            [--repeat N]
//! ```
//!
//! - `calls`: each client opens one keep-alive connection (and, in the legacy
//!   era, one session) and makes `--calls` sequential `tools/call`s after a
//!   warm-up. Prints calls/s, median and p99 latency, and with
//!   `--server-pid` the server's CPU time (utime+stime) per call.
//!   With `--expect-error` every call must instead be answered with a
//!   JSON-RPC error (e.g. `--tool nope`): the server's own path (framing,
//!   session lookup, dispatch) without running a tool. `--repeat N`
//!   measures N rounds on the same connections and reports each round and
//!   the medians: one round's CPU per call moves with the machine's noise.
//! - `handshakes`: `--count` legacy handshakes (initialize, initialized,
//!   DELETE) over the clients; prints handshakes/s and CPU per handshake.
//! - `idle`: opens `--count` legacy sessions and leaves them idle; with
//!   `--server-pid` prints the server's resident memory per session.
//!
//! Output ends with one `RESULT key=value …` line for scripts.

use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Era {
    Legacy,
    Modern,
}

#[derive(Clone, Debug)]
struct Args {
    addr: SocketAddr,
    path: String,
    era: Era,
    clients: usize,
    calls: usize,
    tool: String,
    arguments: Value,
    server_pid: Option<u32>,
    mode: String,
    count: usize,
    expect_error: bool,
    repeat: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        addr: "127.0.0.1:8080".parse()?,
        path: "/mcp".to_owned(),
        era: Era::Legacy,
        clients: 16,
        calls: 2000,
        tool: "hello_greet".to_owned(),
        arguments: json!({"name": "load"}),
        server_pid: None,
        mode: "calls".to_owned(),
        count: 10_000,
        expect_error: false,
        repeat: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => {
                let url = value()?;
                let rest = url
                    .strip_prefix("http://")
                    .ok_or_else(|| anyhow!("only http:// URLs"))?;
                let (host, path) = rest.split_once('/').unwrap_or((rest, "mcp"));
                let host = host.replace("localhost", "127.0.0.1");
                args.addr = host.parse().with_context(|| format!("address {host}"))?;
                args.path = format!("/{path}");
            }
            "--era" => {
                args.era = match value()?.as_str() {
                    "legacy" => Era::Legacy,
                    "modern" => Era::Modern,
                    other => bail!("unknown era {other}"),
                }
            }
            "--clients" => args.clients = value()?.parse()?,
            "--calls" => args.calls = value()?.parse()?,
            "--tool" => args.tool = value()?,
            "--args" => args.arguments = serde_json::from_str(&value()?)?,
            "--server-pid" => args.server_pid = Some(value()?.parse()?),
            "--mode" => args.mode = value()?,
            "--count" => args.count = value()?.parse()?,
            "--expect-error" => args.expect_error = true,
            "--repeat" => args.repeat = value()?.parse::<usize>()?.max(1),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

struct Resp {
    status: StatusCode,
    session: Option<String>,
    body: String,
    sse: bool,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Self> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<Resp> {
        self.sender.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = resp.status();
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let sse = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok(Resp {
            status,
            session,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            sse,
        })
    }
}

/// The JSON-RPC response in a JSON or SSE body.
fn response_of(resp: &Resp) -> Option<Value> {
    if !resp.sse {
        return serde_json::from_str(&resp.body).ok();
    }
    resp.body
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some() && v.get("method").is_none())
}

const LEGACY: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";

async fn handshake(conn: &mut Conn, path: &str) -> Result<String> {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name":"berth-load","version":"1"}}});
    let r = conn.send("POST", path, &[], init.to_string()).await?;
    if r.status != StatusCode::OK {
        bail!("initialize: {} {}", r.status, r.body);
    }
    let sid = r
        .session
        .ok_or_else(|| anyhow!("initialize returned no Mcp-Session-Id"))?;
    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    let r = conn
        .send(
            "POST",
            path,
            &[("mcp-session-id", &sid), ("mcp-protocol-version", LEGACY)],
            note.to_string(),
        )
        .await?;
    if !r.status.is_success() {
        bail!("initialized: {} {}", r.status, r.body);
    }
    Ok(sid)
}

async fn call(conn: &mut Conn, args: &Args, session: Option<&str>, id: u64) -> Result<()> {
    let mut params = json!({"name": args.tool, "arguments": args.arguments});
    let body;
    let r = match (args.era, session) {
        (Era::Legacy, Some(sid)) => {
            body =
                json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params}).to_string();
            conn.send(
                "POST",
                &args.path,
                &[("mcp-session-id", sid), ("mcp-protocol-version", LEGACY)],
                body,
            )
            .await?
        }
        _ => {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "berth-load", "version": "1"}
            });
            body =
                json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params}).to_string();
            conn.send(
                "POST",
                &args.path,
                &[
                    ("mcp-protocol-version", MODERN),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", &args.tool),
                ],
                body,
            )
            .await?
        }
    };
    let response = response_of(&r)
        .ok_or_else(|| anyhow!("no JSON-RPC response in {} {}", r.status, r.body))?;
    let failed = response.get("error").is_some() || response["result"]["isError"] == json!(true);
    if failed != args.expect_error {
        bail!("call failed: {response}");
    }
    Ok(())
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start at ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or(&stat);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    let ticks = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Ok((utime + stime) / ticks)
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("VmRSS")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmRSS value")?
        .parse()?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One measured round of `run_calls`.
struct Round {
    rate: f64,
    p50: f64,
    p99: f64,
    cpu_us: Option<f64>,
    errors: usize,
}

/// Each client makes `--calls` calls on its connection; the connections
/// come back for the next round.
async fn round(
    args: &Args,
    setups: Vec<(Conn, Option<String>)>,
    first_id: u64,
) -> Result<(Round, Vec<(Conn, Option<String>)>)> {
    let cpu_before = args.server_pid.map(cpu_seconds).transpose()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (mut conn, sid) in setups {
        let args = args.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(args.calls);
            let mut errors = 0usize;
            for i in 0..args.calls {
                let t = Instant::now();
                if call(&mut conn, &args, sid.as_deref(), first_id + i as u64)
                    .await
                    .is_err()
                {
                    errors += 1;
                }
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            (conn, sid, lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut setups = Vec::new();
    for t in tasks {
        let (conn, sid, lat, e) = t.await?;
        latencies.extend(lat);
        errors += e;
        setups.push((conn, sid));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (args.server_pid, cpu_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len() as f64;
    let r = Round {
        rate: n / wall,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        cpu_us: cpu.map(|c| c / n * 1e6),
        errors,
    };
    println!(
        "{:?} tools/call: {} calls by {} clients in {wall:.2} s = {:.0} calls/s; latency median {:.3} ms, p99 {:.3} ms; errors {errors}{}",
        args.era,
        latencies.len(),
        args.clients,
        r.rate,
        r.p50,
        r.p99,
        r.cpu_us
            .map(|c| format!("; server CPU {c:.1} µs/call"))
            .unwrap_or_default()
    );
    Ok((r, setups))
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

async fn run_calls(args: &Args) -> Result<()> {
    let warmup = (args.calls / 10).min(200);
    let mut setups = Vec::new();
    for _ in 0..args.clients {
        let mut conn = Conn::open(args.addr).await?;
        let sid = match args.era {
            Era::Legacy => Some(handshake(&mut conn, &args.path).await?),
            Era::Modern => None,
        };
        for i in 0..warmup {
            call(&mut conn, args, sid.as_deref(), i as u64).await?;
        }
        setups.push((conn, sid));
    }
    let mut rounds = Vec::new();
    for r in 0..args.repeat {
        let first_id = 1000 + (r * args.calls) as u64;
        let (measured, back) = round(args, setups, first_id).await?;
        setups = back;
        rounds.push(measured);
    }
    let errors: usize = rounds.iter().map(|r| r.errors).sum();
    let of = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let cpu_us = rounds
        .iter()
        .map(|r| r.cpu_us)
        .collect::<Option<Vec<f64>>>()
        .map(median);
    if rounds.len() > 1 {
        println!(
            "median of {} rounds: {:.0} calls/s; latency median {:.3} ms, p99 {:.3} ms{}",
            rounds.len(),
            of(|r| r.rate),
            of(|r| r.p50),
            of(|r| r.p99),
            cpu_us
                .map(|c| format!("; server CPU {c:.1} µs/call"))
                .unwrap_or_default()
        );
    }
    println!(
        "RESULT mode=calls era={:?} calls_per_s={:.0} p50_ms={:.3} p99_ms={:.3} cpu_us_per_call={} errors={errors} rounds={}",
        args.era,
        of(|r| r.rate),
        of(|r| r.p50),
        of(|r| r.p99),
        cpu_us
            .map(|c| format!("{c:.1}"))
            .unwrap_or_else(|| "na".to_owned()),
        rounds.len()
    );
    if errors > 0 {
        bail!("{errors} calls failed");
    }
    Ok(())
}

/// `per_client` legacy handshakes on each of the clients' connections,
/// each followed by DELETE when `delete`.
async fn handshakes(args: &Args, per_client: usize, delete: bool) -> Result<()> {
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let path = args.path.clone();
        let addr = args.addr;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            for _ in 0..per_client {
                let sid = handshake(&mut conn, &path).await?;
                if delete {
                    let r = conn
                        .send("DELETE", &path, &[("mcp-session-id", &sid)], String::new())
                        .await?;
                    if !r.status.is_success() {
                        bail!("DELETE: {}", r.status);
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn run_handshakes(args: &Args) -> Result<()> {
    let per_client = args.count.div_ceil(args.clients);
    let cpu_before = args.server_pid.map(cpu_seconds).transpose()?;
    let started = Instant::now();
    handshakes(args, per_client, true).await?;
    let wall = started.elapsed().as_secs_f64();
    let n = (per_client * args.clients) as f64;
    let cpu_us = match (args.server_pid, cpu_before) {
        (Some(pid), Some(before)) => Some((cpu_seconds(pid)? - before) / n * 1e6),
        _ => None,
    };
    println!(
        "legacy handshakes (initialize + initialized + DELETE): {n} in {wall:.2} s = {:.0}/s{}",
        n / wall,
        cpu_us
            .map(|c| format!("; server CPU {c:.1} µs/handshake"))
            .unwrap_or_default()
    );
    println!(
        "RESULT mode=handshakes per_s={:.0} cpu_us={}",
        n / wall,
        cpu_us
            .map(|c| format!("{c:.1}"))
            .unwrap_or_else(|| "na".to_owned())
    );
    Ok(())
}

async fn run_idle(args: &Args) -> Result<()> {
    let pid = args.server_pid.context("--mode idle needs --server-pid")?;
    let before = rss_kib(pid)?;
    let per_client = args.count.div_ceil(args.clients);
    handshakes(args, per_client, false).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid)?;
    let n = (per_client * args.clients) as f64;
    let per = (after - before) / n;
    println!(
        "{n} idle legacy sessions: RSS {before:.0} KiB -> {after:.0} KiB = {per:.2} KiB per session"
    );
    println!("RESULT mode=idle sessions={n} kib_per_session={per:.2}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    match args.mode.as_str() {
        "calls" => run_calls(&args).await,
        "handshakes" => run_handshakes(&args).await,
        "idle" => run_idle(&args).await,
        other => bail!("unknown mode {other}"),
    }
}
