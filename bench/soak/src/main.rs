//! `berth-soak`: healthy callers beside hostile ones.
//!
//! ```text
//! berth-soak --url http://127.0.0.1:8080/mcp [--secs 20] [--healthy 4]
//!            [--abandoned-per-sec 64] [--slowloris 300] [--misbehaving-per-sec 6]
//! ```
//!
//! Phase 1 measures `--healthy` callers alone: each makes sequential
//! 2026-07-28 `tools/call`s of `hello_greet` on its own keep-alive
//! connection for `--secs`. Phase 2 repeats that while hostile clients run:
//! `--abandoned-per-sec` legacy `slow_work` calls (2 s each, answered as
//! SSE, from 4 sessions) whose connection is dropped right after sending;
//! `--slowloris` connections that send one header byte every 5 s; and
//! `--misbehaving-per-sec` calls of the `loop`, `hog` and `trap` fixtures
//! (serve `plugins/dist` and `plugins/dist/fixtures`). It prints both
//! phases (calls, errors, median, p99) and a `RESULT` line with the p99
//! ratio. Bounded: it stops after 2 × `--secs` plus set-up.
//!
//! `--healthy-key K` and `--hostile-key K` send `Authorization: Bearer K`
//! (serve berth with both keys in `[[auth.api_keys]]`, as two users), so
//! the two loads are two principals, as they would be in production.
//!
//! `--deadline-probe N` instead makes N sequential calls of `slow_work`
//! that sleep 10 s in one host call, against a berth whose deadline is
//! shorter (e.g. `[limits] deadline_ms = 500`), and prints how long each
//! took to come back with its deadline error.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: SocketAddr,
    path: String,
    secs: u64,
    healthy: usize,
    abandoned_per_sec: u64,
    slowloris: usize,
    misbehaving_per_sec: u64,
    deadline_probe: usize,
    healthy_auth: Option<String>,
    hostile_auth: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut url = "http://127.0.0.1:8080/mcp".to_owned();
    let mut args = Args {
        addr: ([127, 0, 0, 1], 8080).into(),
        path: String::new(),
        secs: 20,
        healthy: 4,
        abandoned_per_sec: 64,
        slowloris: 300,
        misbehaving_per_sec: 6,
        deadline_probe: 0,
        healthy_auth: None,
        hostile_auth: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().context("flag needs a value");
        match flag.as_str() {
            "--url" => url = value()?,
            "--secs" => args.secs = value()?.parse()?,
            "--healthy" => args.healthy = value()?.parse()?,
            "--abandoned-per-sec" => args.abandoned_per_sec = value()?.parse()?,
            "--slowloris" => args.slowloris = value()?.parse()?,
            "--misbehaving-per-sec" => args.misbehaving_per_sec = value()?.parse()?,
            "--deadline-probe" => args.deadline_probe = value()?.parse()?,
            "--healthy-key" => args.healthy_auth = Some(format!("Bearer {}", value()?)),
            "--hostile-key" => args.hostile_auth = Some(format!("Bearer {}", value()?)),
            other => bail!("unknown flag {other}"),
        }
    }
    let rest = url
        .strip_prefix("http://")
        .context("--url must be http://HOST:PORT/PATH")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, "mcp"));
    args.addr = authority.parse().context("--url needs an IP:PORT")?;
    args.path = format!("/{path}");
    Ok(args)
}

fn modern_meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientCapabilities": {}})
}

/// A request's bytes.
fn request(args: &Args, headers: &[(&str, &str)], body: &str, keep_alive: bool) -> Vec<u8> {
    let mut r = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
        args.path,
        args.addr,
        body.len()
    );
    if !keep_alive {
        r.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// Reads one response with a `Content-Length` body: (status, headers, body).
async fn response(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, String, String)> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before a response");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .context("status line")?
        .parse()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed in a body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Ok((status, head, body))
}

#[derive(Default)]
struct Phase {
    latencies_us: Vec<u64>,
    errors: u64,
}

/// `args.healthy` callers for `secs`, each on one keep-alive connection.
async fn healthy(args: Arc<Args>) -> Result<Phase> {
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let mut tasks = Vec::new();
    for n in 0..args.healthy {
        let args = args.clone();
        tasks.push(tokio::spawn(async move {
            let mut phase = Phase::default();
            let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": "hello_greet", "arguments": {"name": "soak"}, "_meta": modern_meta()}})
            .to_string();
            let mut headers = vec![
                ("MCP-Protocol-Version", "2026-07-28"),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "hello_greet"),
            ];
            if let Some(auth) = &args.healthy_auth {
                headers.push(("Authorization", auth));
            }
            let req = request(&args, &headers, &body, true);
            let mut tcp: Option<TcpStream> = None;
            let mut buf = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let outcome = async {
                    if tcp.is_none() {
                        let s = TcpStream::connect(args.addr).await?;
                        s.set_nodelay(true)?;
                        tcp = Some(s);
                    }
                    let s = tcp.as_mut().context("connected")?;
                    s.write_all(&req).await?;
                    let (status, _, body) =
                        tokio::time::timeout(Duration::from_secs(30), response(s, &mut buf))
                            .await
                            .context("no answer within 30 s")??;
                    let ok = status == 200 && body.contains("Hello, soak!");
                    anyhow::ensure!(ok, "status {status}: {body}");
                    Ok::<_, anyhow::Error>(())
                }
                .await;
                match outcome {
                    Ok(()) => phase
                        .latencies_us
                        .push(started.elapsed().as_micros() as u64),
                    Err(e) => {
                        phase.errors += 1;
                        eprintln!("healthy caller {n}: {e:#}");
                        tcp = None;
                    }
                }
            }
            phase
        }));
    }
    let mut all = Phase::default();
    for t in tasks {
        let p = t.await?;
        all.latencies_us.extend(p.latencies_us);
        all.errors += p.errors;
    }
    Ok(all)
}

fn report(name: &str, phase: &mut Phase) -> u64 {
    phase.latencies_us.sort_unstable();
    let n = phase.latencies_us.len();
    let at = |q: f64| {
        phase
            .latencies_us
            .get(((n as f64 * q) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let (p50, p99) = (at(0.5), at(0.99));
    println!(
        "{name}: {n} calls, {} errors, median {p50} µs, p99 {p99} µs",
        phase.errors
    );
    p99
}

/// Opens a legacy session; returns its id.
async fn open_session(args: &Args) -> Result<String> {
    let mut tcp = TcpStream::connect(args.addr).await?;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "berth-soak", "version": "1"}}})
    .to_string();
    let auth: Vec<(&str, &str)> = args
        .hostile_auth
        .as_deref()
        .map(|a| ("Authorization", a))
        .into_iter()
        .collect();
    tcp.write_all(&request(args, &auth, &init, true)).await?;
    let mut buf = Vec::new();
    let (status, head, _) = response(&mut tcp, &mut buf).await?;
    anyhow::ensure!(status == 200, "initialize: {status}");
    let id = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_owned())
        })
        .context("no Mcp-Session-Id")?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let mut headers = vec![
        ("Mcp-Session-Id", id.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    headers.extend(auth);
    tcp.write_all(&request(args, &headers, &note, true)).await?;
    let _ = response(&mut tcp, &mut buf).await?;
    Ok(id)
}

/// Runs every hostile client until `stop`.
async fn hostile(args: Arc<Args>, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> Result<()> {
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(open_session(&args).await?);
    }
    // Slowloris: one header byte every 5 s.
    for _ in 0..args.slowloris {
        let (args, stop) = (args.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(mut tcp) = TcpStream::connect(args.addr).await else {
                return;
            };
            let head = format!(
                "POST {} HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
                args.path, args.addr
            );
            for b in head.bytes().chain(std::iter::repeat(b'a')) {
                if stop.load(Ordering::Relaxed) || tcp.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
    }
    // Abandoned streamed calls and misbehaving plugins, at their rates.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut n: u64 = 0;
    let mut owed_abandoned = 0.0f64;
    let mut owed_bad = 0.0f64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        owed_abandoned += args.abandoned_per_sec as f64 / 10.0;
        owed_bad += args.misbehaving_per_sec as f64 / 10.0;
        while owed_abandoned >= 1.0 {
            owed_abandoned -= 1.0;
            n += 1;
            let session = sessions[(n % 4) as usize].clone();
            let args = args.clone();
            let sent = sent.clone();
            tokio::spawn(async move {
                let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
                    "name": "slow_work", "arguments": {"steps": 20, "step_ms": 100},
                    "_meta": {"progressToken": n}}})
                .to_string();
                let mut headers = vec![
                    ("Mcp-Session-Id", session.as_str()),
                    ("MCP-Protocol-Version", "2025-11-25"),
                ];
                if let Some(auth) = &args.hostile_auth {
                    headers.push(("Authorization", auth));
                }
                if let Ok(mut tcp) = TcpStream::connect(args.addr).await
                    && tcp
                        .write_all(&request(&args, &headers, &body, true))
                        .await
                        .is_ok()
                {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                // Dropped here: the client is gone.
            });
        }
        while owed_bad >= 1.0 {
            owed_bad -= 1.0;
            n += 1;
            let tool = ["loop_spin", "hog_eat", "trap_explode"][(n % 3) as usize];
            let args = args.clone();
            tokio::spawn(async move {
                let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                    "params": {"name": tool, "arguments": {}, "_meta": modern_meta()}})
                .to_string();
                let mut headers = vec![
                    ("MCP-Protocol-Version", "2026-07-28"),
                    ("Mcp-Method", "tools/call"),
                    ("Mcp-Name", tool),
                ];
                if let Some(auth) = &args.hostile_auth {
                    headers.push(("Authorization", auth));
                }
                if let Ok(mut tcp) = TcpStream::connect(args.addr).await
                    && tcp
                        .write_all(&request(&args, &headers, &body, false))
                        .await
                        .is_ok()
                {
                    let mut buf = Vec::new();
                    let _ =
                        tokio::time::timeout(Duration::from_secs(30), response(&mut tcp, &mut buf))
                            .await;
                }
            });
        }
    }
    Ok(())
}

/// Calls that block in a host call past their deadline: how long each
/// takes to come back.
async fn deadline_probe(args: &Args) -> Result<()> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "slow_work", "arguments": {"steps": 1, "step_ms": 10000}, "_meta": modern_meta()}})
    .to_string();
    let req = request(
        args,
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "slow_work"),
        ],
        &body,
        true,
    );
    let mut tcp = TcpStream::connect(args.addr).await?;
    tcp.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut took = Vec::new();
    for _ in 0..args.deadline_probe {
        let started = Instant::now();
        tcp.write_all(&req).await?;
        let (status, _, body) = response(&mut tcp, &mut buf).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status == 200 && body.contains("time limit"),
            "expected a deadline error, got {status}: {body}"
        );
        took.push(ms);
    }
    took.sort_by(f64::total_cmp);
    let n = took.len();
    println!(
        "RESULT mode=deadline calls={n} min_ms={:.1} median_ms={:.1} max_ms={:.1}",
        took[0],
        took[n / 2],
        took[n - 1]
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Arc::new(parse_args()?);
    if args.deadline_probe > 0 {
        return deadline_probe(&args).await;
    }
    // Warm up (compiled code, connections), then measure alone.
    let warm = Arc::new(Args {
        secs: 2,
        ..parse_args()?
    });
    healthy(warm).await?;
    let mut alone = healthy(args.clone()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let attack = tokio::spawn(hostile(args.clone(), stop.clone(), sent.clone()));
    // Let the backlog build before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut attacked = healthy(args.clone()).await?;
    stop.store(true, Ordering::Relaxed);
    attack.await??;
    let p99_alone = report("healthy callers alone", &mut alone);
    let p99_attacked = report("healthy callers under attack", &mut attacked);
    println!(
        "hostile load: {} abandoned streamed calls sent, {} slowloris connections, {} misbehaving calls/s",
        sent.load(Ordering::Relaxed),
        args.slowloris,
        args.misbehaving_per_sec
    );
    let ratio = p99_attacked as f64 / p99_alone.max(1) as f64;
    println!(
        "RESULT mode=soak errors_alone={} errors_attacked={} p99_alone_us={p99_alone} p99_attacked_us={p99_attacked} p99_ratio={ratio:.2}",
        alone.errors, attacked.errors
    );
    Ok(())
}
