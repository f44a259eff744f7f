//! Plugins per language, in process (no transport): for each language's
//! `hello` example,
//!
//! - compile time on a cache miss and start-up from the compiled cache
//!   (one plugin; and ten copies, as a host with ten plugins restarts);
//! - `tools/call` of `greet` in a legacy session, warm: latency (median,
//!   p99) and the process's CPU time per call, from one caller and from 16
//!   at once.
//!
//! Run with `cargo xtask bench languages` (which builds the examples
//! first). Optional arguments: languages to run (default: all built).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use xtask::plugins;

use berth::config::{Overrides, RawConfig};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn pct(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn config(dir: &Path, cache: &Path) -> berth::config::Config {
    RawConfig::default()
        .resolve(Overrides {
            plugin_dirs: vec![dir.to_owned()],
            cache_dir: Some(cache.to_owned()),
            http_listen: None,
        })
        .unwrap()
}

/// A directory holding `copies` copies of `wasm` (`p0.wasm`, ...).
fn copies(wasm: &Path, copies: usize, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-bench-lang-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..copies {
        std::fs::copy(wasm, dir.join(format!("p{i}.wasm"))).unwrap();
    }
    dir
}

async fn start_ms(dir: &Path, cache: &Path) -> f64 {
    let t = Instant::now();
    let app = common::start(&config(dir, cache)).await.unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(app.load_errors().is_empty(), "{:?}", app.load_errors());
    ms
}

async fn language(name: &str, wasm: &Path) {
    let cache = std::env::temp_dir().join(format!("berth-bench-lang-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let size = std::fs::metadata(wasm).unwrap().len() as f64 / 1e6;
    let one = copies(wasm, 1, name);
    let compile = start_ms(&one, &cache).await;
    let mut cached = Vec::new();
    for _ in 0..10 {
        cached.push(start_ms(&one, &cache).await);
    }
    let ten = copies(wasm, 10, &format!("{name}10"));
    start_ms(&ten, &cache).await;
    let mut cached10 = Vec::new();
    for _ in 0..5 {
        cached10.push(start_ms(&ten, &cache).await);
    }
    println!(
        "{name:<8} {size:>6.2} MB  compile {compile:>8.1} ms   start cached: 1 plugin {:>6.2} ms, 10 plugins {:>7.2} ms (medians)",
        pct(&mut cached, 0.5),
        pct(&mut cached10, 0.5)
    );

    let app = common::start(&config(&one, &cache)).await.unwrap();
    let server = app.server().clone();
    let (conn, out) = common::legacy_session(&server, true).await;
    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"p0_greet","arguments":{"name":"bench"}}}).to_string();
    let calls = if size > 5.0 { 2_000 } else { 10_000 };
    for _ in 0..calls / 10 {
        let r = server.handle(&conn, &call, &out).await.unwrap();
        assert!(r.contains("Hello, bench!"), "{r}");
    }
    let mut samples = Vec::with_capacity(calls);
    let cpu = common::cpu_seconds();
    for _ in 0..calls {
        let t = Instant::now();
        let r = server.handle(&conn, &call, &out).await;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(r.is_some());
    }
    let cpu_per_call = (common::cpu_seconds() - cpu) / calls as f64 * 1e6;
    let (median, p99) = (pct(&mut samples, 0.5), pct(&mut samples, 0.99));
    let (_, parallel) = common::concurrent(&server, &conn, &call, "Hello", 16, calls / 16).await;
    println!(
        "{name:<8} tools/call greet: median {median:>8.1} µs  p99 {p99:>8.1} µs  CPU {cpu_per_call:>8.1} µs/call (1 caller), {parallel:>8.1} µs/call (16 callers)"
    );
    drop(app);
    for dir in [one, ten, cache] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let dist = plugins::build(&root, &plugins::source_dist(&root)).unwrap();
    let mut examples = vec![("rust".to_owned(), dist.join("hello.wasm"))];
    for (language, names) in plugins::LANGUAGE_EXAMPLES {
        let hello = names.iter().find(|n| n.starts_with("hello")).unwrap();
        examples.push((
            (*language).to_owned(),
            dist.join(language).join(format!("{hello}.wasm")),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, wasm) in examples {
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        if !wasm.exists() {
            println!(
                "{name:<8} not built ({}): run `cargo xtask plugins`",
                wasm.display()
            );
            continue;
        }
        rt.block_on(language(&name, &wasm));
    }
}
