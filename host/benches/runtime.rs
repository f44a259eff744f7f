//! Benchmarks of the hot paths, in process (no transport):
//!
//! - `tools/call` of `hello` and `resources/read` of a small text resource
//!   (the conformance plugin's) through dispatch and the plugin runtime, in a
//!   legacy session and as a modern stateless request;
//! - the same `hello` call from 16 callers at once on the runtime's worker
//!   threads (calls/s and the process's CPU time per call);
//! - key-value `get` and `set` in the in-memory store;
//! - host start-up with 10 plugins whose compiled code is cached;
//! - session lookup among 100,000 open sessions.
//!
//! Each prints the median and p99 (the concurrent one, calls/s and CPU).
//! Run with `cargo xtask bench` (which builds the plugins first). Optional
//! argument: a filter on the names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use xtask::plugins;

use berth::auth::{Principal, TenantId};
use berth::config::{Overrides, RawConfig};
use berth::internals::Connection;
use berth::kv::{KvLimits, MemoryStore, Namespace, ScopeId, ScopeKey};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The served binary's allocator (see src/main.rs), so that figures with
// several threads are the binary's, not the system allocator's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn report(name: &str, unit: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<40} median {:>9.2} {unit}   p99 {:>9.2} {unit}   ({} samples)",
        pct(0.5),
        pct(0.99),
        samples.len()
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn config(dirs: Vec<PathBuf>, cache: &Path) -> berth::config::Config {
    RawConfig::default()
        .resolve(Overrides {
            plugin_dirs: dirs,
            cache_dir: Some(cache.to_owned()),
            http_listen: None,
        })
        .unwrap()
}

async fn tools_call(dist: &Path, cache: &Path) {
    let app = common::start(&config(
        vec![dist.to_owned(), dist.join("conformance")],
        cache,
    ))
    .await
    .unwrap();
    let server = app.server().clone();
    let (conn, out) = common::legacy_session(&server, true).await;
    let legacy = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hello_greet","arguments":{"name":"bench"}}}).to_string();
    let modern = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"hello_greet","arguments":{"name":"bench"},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}).to_string();
    let read = json!({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"test://static-text"}}).to_string();
    let read_modern = json!({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"test://static-text",
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}).to_string();
    for (name, request, expect) in [
        (
            "tools/call hello (legacy session)",
            &legacy,
            "Hello, bench!",
        ),
        (
            "tools/call hello (modern stateless)",
            &modern,
            "Hello, bench!",
        ),
        (
            "resources/read small text (legacy session)",
            &read,
            "static text resource",
        ),
        (
            "resources/read small text (modern stateless)",
            &read_modern,
            "static text resource",
        ),
    ] {
        for _ in 0..500 {
            let r = server.handle(&conn, request, &out).await.unwrap();
            assert!(r.contains(expect), "{r}");
        }
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let t = Instant::now();
            let r = server.handle(&conn, request, &out).await;
            samples.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(r.is_some());
        }
        report(name, "µs", samples);
    }
    concurrent(&server, &conn, &legacy).await;
}

/// 16 callers at once on the runtime's worker threads, as over HTTP but
/// without a transport: calls/s and the process's CPU time per call.
async fn concurrent(server: &Arc<berth::internals::Server>, conn: &Arc<Connection>, request: &str) {
    const CALLERS: usize = 16;
    const CALLS: usize = 2000;
    common::concurrent(server, conn, request, "Hello", CALLERS, 100).await;
    let (rate, cpu) = common::concurrent(server, conn, request, "Hello", CALLERS, CALLS).await;
    println!(
        "{:<40} {:>9.0} calls/s   CPU {:>9.2} µs/call",
        format!("tools/call hello, {CALLERS} callers"),
        rate,
        cpu
    );
}

fn kv() {
    let store = MemoryStore::new(KvLimits::default());
    let ns = Namespace {
        scope: ScopeKey {
            tenant: TenantId::default_tenant(),
            scope: ScopeId::Session(Arc::from("bs_0123456789abcdef0123456789abcdef01234567")),
        },
        plugin: Arc::from("counter"),
    };
    // A realistically filled namespace: 1,000 keys.
    for i in 0..1000 {
        store
            .set_now(&ns, &format!("key-{i}"), b"12345".to_vec(), None)
            .unwrap();
    }
    const BATCH: usize = 1000;
    let mut get = Vec::new();
    let mut set = Vec::new();
    for round in 0..2000 {
        let t = Instant::now();
        for i in 0..BATCH {
            std::hint::black_box(store.get_now(&ns, &format!("key-{}", i % 1000)).unwrap());
        }
        get.push(t.elapsed().as_secs_f64() * 1e9 / BATCH as f64);
        let t = Instant::now();
        for i in 0..BATCH {
            store
                .set_now(
                    &ns,
                    &format!("key-{}", (i + round) % 1000),
                    b"67890".to_vec(),
                    None,
                )
                .unwrap();
        }
        set.push(t.elapsed().as_secs_f64() * 1e9 / BATCH as f64);
    }
    report("kv get (in memory, incl. key format)", "ns", get);
    report("kv set (in memory, incl. key format)", "ns", set);
}

async fn startup(dist: &Path, cache: &Path) {
    let dir = std::env::temp_dir().join(format!("berth-bench-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sources = ["hello", "counter", "slow"];
    for i in 0..10 {
        let src = sources[i % sources.len()];
        std::fs::copy(
            dist.join(format!("{src}.wasm")),
            dir.join(format!("p{i}.wasm")),
        )
        .unwrap();
    }
    let cfg = config(vec![dir.clone()], cache);
    // First start compiles and fills the cache.
    let app = common::start(&cfg).await.unwrap();
    assert_eq!(app.server().plugins().registry().plugins().len(), 10);
    drop(app);
    let mut samples = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let app = common::start(&cfg).await.unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(app.load_errors().is_empty());
        drop(app);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report("host start, 10 cached plugins", "ms", samples);
    std::fs::remove_dir_all(&dir).unwrap();
}

struct Idle;

impl berth::internals::SessionValue for Idle {
    async fn ended(self: Arc<Self>) {}
}

fn sessions() {
    use berth::internals::{SessionId, SessionLimits, SessionManager, TransportKind};
    let mut limits = SessionLimits::default();
    limits.max_sessions = 200_000;
    limits.max_per_principal = 200_000;
    let manager = SessionManager::new(limits);
    let owner = Principal::anonymous();
    let ids: Vec<SessionId> = (0..100_000)
        .map(|_| {
            let id = SessionId::generate().unwrap();
            manager
                .create(
                    id.clone(),
                    &owner,
                    TransportKind::StreamableHttp,
                    Arc::new(Idle),
                )
                .unwrap();
            id
        })
        .collect();
    // Look ids up as they arrive in headers: parsed from text each time.
    let texts: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
    const BATCH: usize = 1000;
    let mut samples = Vec::new();
    for round in 0..1000 {
        let t = Instant::now();
        for i in 0..BATCH {
            let text = &texts[(round * 7919 + i * 104_729) % texts.len()];
            let id = berth::internals::SessionId::parse(text).unwrap();
            std::hint::black_box(manager.get(&id, &owner).unwrap());
        }
        samples.push(t.elapsed().as_secs_f64() * 1e9 / BATCH as f64);
    }
    report("session lookup (100,000 open, incl. parse)", "ns", samples);
}

fn main() {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let dist = plugins::build(&root(), &plugins::source_dist(&root())).unwrap();
    let cache = std::env::temp_dir().join(format!("berth-bench-cache-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if "tools/call".contains(&filter) || "resources/read".contains(&filter) || filter.is_empty() {
        rt.block_on(tools_call(&dist, &cache));
    }
    if filter.is_empty() || "kv".contains(&filter) {
        kv();
    }
    if filter.is_empty() || "sessions".contains(&filter) {
        rt.block_on(async { sessions() });
    }
    if filter.is_empty() || "startup".contains(&filter) {
        rt.block_on(startup(&dist, &cache));
    }
    let _ = std::fs::remove_dir_all(&cache);
}
