//! What the host's benchmarks share: a started berth, an in-process legacy
//! session on it (through `berth::internals`, which reaches below the
//! `Host`), the process's CPU time, and 16 callers at once.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth::auth::Principal;
use berth::internals::TransportKind;
use berth::internals::{Connection, Outbound, Server};
use serde_json::json;
use std::sync::Arc;

/// A host over `config`, as `berth serve` starts one.
pub async fn start(config: &berth::config::Config) -> Result<berth::Host, berth::HostError> {
    berth::Host::builder().config(config.clone()).build().await
}

/// A legacy session on `server` (initialized, logs off) and where its
/// notifications go (drained and dropped).
pub async fn legacy_session(server: &Arc<Server>, quiet: bool) -> (Arc<Connection>, Outbound) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let out = Outbound::new(tx);
    let conn = Arc::new(Connection::new(
        Principal::anonymous(),
        TransportKind::Stdio,
        server.kv().clone(),
    ));
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}});
    server.handle(&conn, &init.to_string(), &out).await.unwrap();
    if quiet {
        // Logs off: measure the call, not notification traffic.
        let level = json!({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"emergency"}});
        server
            .handle(&conn, &level.to_string(), &out)
            .await
            .unwrap();
    }
    (conn, out)
}

/// utime + stime of this process (all threads), in seconds.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // USER_HZ is 100 on every Linux this runs on.
    ticks / 100.0
}

/// `callers` tasks on the runtime's worker threads each send `request`
/// (whose `"id":2` each replaces with its own) `each` times over `conn`;
/// every response must contain `expect`. Returns (calls/s, CPU µs per
/// call).
pub async fn concurrent(
    server: &Arc<Server>,
    conn: &Arc<Connection>,
    request: &str,
    expect: &'static str,
    callers: usize,
    each: usize,
) -> (f64, f64) {
    let cpu = cpu_seconds();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let (server, conn) = (server.clone(), conn.clone());
            // Ids must be unique among the connection's calls in flight.
            let request = request.replace("\"id\":2", &format!("\"id\":\"c{caller}\""));
            tokio::spawn(async move {
                let (tx, mut rx) = tokio::sync::mpsc::channel(16);
                tokio::spawn(async move { while rx.recv().await.is_some() {} });
                let out = Outbound::new(tx);
                for _ in 0..each {
                    let r = server.handle(&conn, &request, &out).await.unwrap();
                    assert!(r.contains(expect), "{r}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let calls = (callers * each) as f64;
    (
        calls / started.elapsed().as_secs_f64(),
        (cpu_seconds() - cpu) / calls * 1e6,
    )
}
