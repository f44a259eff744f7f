//! Host-side overhead of a plugin's outgoing HTTP request, in one run:
//!
//! - `native`: GET of a small body from a local HTTP server by a native
//!   Rust client (hyper, a new connection per request, as `fetch` makes);
//! - `hello`: `tools/call` of `hello` (the cost of any call);
//! - `fetch`: `tools/call` of the `fetch` example for the same URL (the
//!   call, plus berth's policy check, DNS-free connect to the checked
//!   address, wasi-http and the guest's client);
//! - `refused`: the same call for a port not granted (the call, the
//!   guest's work and the policy check; nothing sent).
//!
//! The figure: the request's share of a `fetch` call, `fetch - refused`
//! (wasi-http, connect, request, body), as a ratio to `native` (goal: at
//! most 1.3); `fetch - hello` is shown too (it also counts the guest's
//! larger instance and its argument handling). In process, no transport.
//! Run with `cargo bench -p berth --bench http_out [-- <samples>]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use xtask::plugins;

mod common;

use berth::config::{Overrides, RawConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::convert::Infallible;
use std::path::Path;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn serve() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"hello from the bench server",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

async fn native_get(port: u16) -> usize {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get("/hello")
        .header("host", format!("127.0.0.1:{port}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    resp.into_body().collect().await.unwrap().to_bytes().len()
}

async fn run(dist: &Path, samples: usize) {
    let port = serve().await;
    let dir = std::env::temp_dir().join(format!("berth-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        dist.join("fetch").join("fetch.wasm"),
        dir.join("fetch.wasm"),
    )
    .unwrap();
    std::fs::copy(dist.join("hello.wasm"), dir.join("hello.wasm")).unwrap();
    std::fs::write(
        dir.join("fetch.toml"),
        format!("[grants]\nhttp = [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let config = RawConfig::from_toml(
        "[sandbox]\nallow_private_hosts = [\"127.0.0.1\"]\nallow_plain_http = true\n",
    )
    .unwrap()
    .resolve(Overrides {
        plugin_dirs: vec![dir.clone()],
        cache_dir: Some(dir.join("cache")),
        http_listen: None,
    })
    .unwrap();
    let app = common::start(&config).await.unwrap();
    let server = app.server().clone();
    let (conn, out) = common::legacy_session(&server, false).await;
    let url = format!("http://127.0.0.1:{port}/hello");
    let fetch = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch_get","arguments":{"url":url}}}).to_string();
    let refused = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fetch_get","arguments":{"url":format!("http://127.0.0.1:{}/hello", port.wrapping_add(1))}}}).to_string();
    let hello = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hello_greet","arguments":{"name":"bench"}}}).to_string();
    let warm = samples / 10 + 1;
    let mut native = Vec::new();
    let mut hellos = Vec::new();
    let mut fetches = Vec::new();
    let mut refusals = Vec::new();
    // Interleaved, so drift on a shared machine affects all three alike.
    for i in 0..warm + samples {
        let t = Instant::now();
        assert!(native_get(port).await > 0);
        let n = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        let r = server.handle(&conn, &hello, &out).await.unwrap();
        let h = t.elapsed().as_secs_f64() * 1e6;
        assert!(r.contains("Hello, bench!"), "{r}");
        let t = Instant::now();
        let r = server.handle(&conn, &fetch, &out).await.unwrap();
        let f = t.elapsed().as_secs_f64() * 1e6;
        assert!(r.contains("hello from the bench server"), "{r}");
        let t = Instant::now();
        let r = server.handle(&conn, &refused, &out).await.unwrap();
        let d = t.elapsed().as_secs_f64() * 1e6;
        assert!(r.contains("HttpRequestDenied"), "{r}");
        if i >= warm {
            refusals.push(d);
            native.push(n);
            hellos.push(h);
            fetches.push(f);
        }
    }
    let (n, h, f, d) = (
        median(native),
        median(hellos),
        median(fetches),
        median(refusals),
    );
    println!("native GET (new connection)       median {n:>9.1} µs");
    println!("tools/call hello                  median {h:>9.1} µs");
    println!("tools/call fetch (one GET)        median {f:>9.1} µs");
    println!("tools/call fetch (refused)        median {d:>9.1} µs");
    println!(
        "outgoing request in berth (fetch - refused) {:>9.1} µs = {:.2}x native",
        f - d,
        (f - d) / n
    );
    println!(
        "fetch - hello                               {:>9.1} µs = {:.2}x native ({samples} samples)",
        f - h,
        (f - h) / n
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let samples = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(2000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dist = plugins::build(root, &plugins::source_dist(root)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(&dist, samples));
}
