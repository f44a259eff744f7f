//! berth embedded in process through `berth::Host`: mounted in an axum
//! application of the test's own with a custom authenticator and a custom
//! key-value store, and shut down with calls in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as support;

use berth::auth::{AuthError, AuthFuture, Authenticate, Principal, TenantId};
use berth::config::{Config, Overrides, RawConfig};
use berth::kv::{KvFuture, KvStore, MemoryStore, Namespace, ScopeKey};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::dist;
use support::http::{BOTH, Http, JSON_ONLY, rpc, text};
use tokio_util::sync::CancellationToken;

fn config(toml: &str, cache: &str) -> Config {
    RawConfig::from_toml(toml)
        .unwrap()
        .resolve(Overrides {
            plugin_dirs: vec![dist().to_owned()],
            cache_dir: Some(std::env::temp_dir().join(cache)),
            http_listen: None,
        })
        .unwrap()
}

/// Lets in `X-Team: <name>` (any name but `outsiders`), as a member of
/// that team, and counts its decisions.
#[derive(Default)]
struct TeamHeader {
    decided: AtomicUsize,
}

impl Authenticate for TeamHeader {
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a> {
        Box::pin(async move {
            self.decided.fetch_add(1, Ordering::SeqCst);
            let team = headers.get("x-team").ok_or(AuthError::Missing)?;
            let team = team.to_str().map_err(|_| AuthError::Invalid)?;
            if team == "outsiders" {
                return Err(AuthError::Invalid);
            }
            Ok(Principal::new(
                &format!("{team}-member"),
                TenantId::new(team),
                Vec::new(),
            ))
        })
    }
}

/// The memory store, counting writes and remembering their namespaces.
struct Counting {
    inner: MemoryStore,
    sets: AtomicUsize,
    tenants: std::sync::Mutex<Vec<String>>,
}

impl KvStore for Counting {
    fn get<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        self.inner.get(ns, key)
    }
    fn set<'a>(
        &'a self,
        ns: &'a Namespace,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> KvFuture<'a, ()> {
        self.sets.fetch_add(1, Ordering::SeqCst);
        self.tenants
            .lock()
            .unwrap()
            .push(ns.scope.tenant.as_str().to_owned());
        self.inner.set(ns, key, value, ttl)
    }
    fn delete<'a>(&'a self, ns: &'a Namespace, key: &'a str) -> KvFuture<'a, bool> {
        self.inner.delete(ns, key)
    }
    fn list<'a>(
        &'a self,
        ns: &'a Namespace,
        prefix: &'a str,
        limit: usize,
    ) -> KvFuture<'a, Vec<String>> {
        self.inner.list(ns, prefix, limit)
    }
    fn drop_scope<'a>(&'a self, scope: &'a ScopeKey) -> KvFuture<'a, usize> {
        self.inner.drop_scope(scope)
    }
    fn purge_expired(&self) -> KvFuture<'_, usize> {
        self.inner.purge_expired()
    }
}

/// initialize + initialized at `path` as `team`; the session id.
async fn open_session(http: &Http, path: &str, team: &str) -> String {
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "embed-test", "version": "1"}}),
    );
    let r = http.post(path, &[BOTH, ("x-team", team)], &init).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = http
        .post(
            path,
            &[BOTH, ("x-team", team), ("mcp-session-id", &sid)],
            &done,
        )
        .await;
    assert_eq!(r.status, 202);
    sid
}

#[tokio::test]
async fn a_host_mounted_in_an_axum_app_uses_the_embedders_authenticator_and_store() {
    let auth = Arc::new(TeamHeader::default());
    let cfg = config("", "berth-test-embed-cache");
    let kv = Arc::new(Counting {
        inner: MemoryStore::new(cfg.kv.clone()),
        sets: AtomicUsize::new(0),
        tenants: std::sync::Mutex::new(Vec::new()),
    });
    let host = berth::Host::builder()
        .config(cfg)
        .kv(kv.clone())
        .authenticator(auth.clone())
        .build()
        .await
        .unwrap();
    assert!(host.load_errors().is_empty(), "{:?}", host.load_errors());
    let app = axum::Router::new()
        .route(
            "/own",
            axum::routing::get(|| async { "the app's own route" }),
        )
        .nest("/api", host.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = Http {
        addr: listener.local_addr().unwrap(),
    };
    let stop = CancellationToken::new();
    let serving = {
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        })
    };

    let own = http.get("/own", &[]).await;
    assert_eq!(
        (own.status.as_u16(), own.body.as_str()),
        (200, "the app's own route")
    );
    // The embedder's authenticator decides: no header, a refused team.
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}}),
    );
    let refused = http.post("/api/mcp", &[BOTH], &init).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"berth\"")
    );
    let outsider = http
        .post("/api/mcp", &[BOTH, ("x-team", "outsiders")], &init)
        .await;
    assert_eq!(outsider.status, 401);
    assert_eq!(outsider.json()["error"]["message"], "invalid credentials");
    let decided = auth.decided.load(Ordering::SeqCst);
    assert_eq!(decided, 2);

    // A legacy session calls the counter; its state goes to the
    // embedder's store, under the team's tenant.
    let sid = open_session(&http, "/api/mcp", "rockets").await;
    let headers = [
        JSON_ONLY,
        ("x-team", "rockets"),
        ("mcp-session-id", sid.as_str()),
    ];
    for expected in ["1", "2"] {
        let r = http
            .post(
                "/api/mcp",
                &headers,
                &rpc(2, "tools/call", json!({"name": "counter_increment"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(text(&r.json()["result"]), expected);
    }
    assert!(auth.decided.load(Ordering::SeqCst) >= decided + 4);
    assert_eq!(kv.sets.load(Ordering::SeqCst), 2);
    assert!(kv.tenants.lock().unwrap().iter().all(|t| t == "rockets"));
    // The session belongs to its team: another team cannot use it.
    let stranger = http
        .post(
            "/api/mcp",
            &[
                JSON_ONLY,
                ("x-team", "pirates"),
                ("mcp-session-id", sid.as_str()),
            ],
            &rpc(3, "tools/call", json!({"name": "counter_increment"})),
        )
        .await;
    assert_ne!(stranger.status, 200);
    assert_eq!(kv.sets.load(Ordering::SeqCst), 2);

    // The typed call goes through the same store.
    let result = host
        .call_tool(
            "counter_increment",
            serde_json::Map::new(),
            Principal::new("direct", TenantId::new("direct"), Vec::new()),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    assert_eq!(kv.sets.load(Ordering::SeqCst), 3);
    let unknown = host
        .call_tool("nope", serde_json::Map::new(), Principal::anonymous())
        .await;
    assert!(
        matches!(unknown, Err(berth::HostError::Call { .. })),
        "{unknown:?}"
    );

    stop.cancel();
    serving.await.unwrap().unwrap();
    host.shutdown().await;
    assert_eq!(host.running_tasks(), 0);
}

/// Serves `host` on a port of its own until the returned token is
/// cancelled; the task ends with `serve_http`'s outcome.
async fn serve(
    host: &Arc<berth::Host>,
) -> (
    Http,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), berth::HostError>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = Http {
        addr: listener.local_addr().unwrap(),
    };
    let shutdown = CancellationToken::new();
    let serving = {
        let (host, shutdown) = (host.clone(), shutdown.clone());
        tokio::spawn(async move { host.serve_http(listener, shutdown).await })
    };
    (http, shutdown, serving)
}

/// Starts a slow call with progress on a legacy session and returns its
/// stream once the first progress has arrived (the call is running).
async fn slow_call(http: &Http, steps: u32) -> support::http::Stream {
    let sid = support::http::open_session(http, "2025-11-25").await;
    let call = rpc(
        2,
        "tools/call",
        json!({"name": "slow_work", "arguments": {"steps": steps, "step_ms": 100},
            "_meta": {"progressToken": "p"}}),
    );
    let mut stream = http
        .post_stream("/mcp", &[BOTH, ("mcp-session-id", &sid)], &call)
        .await;
    assert_eq!(stream.status, 200);
    let first = stream.next().await.unwrap().json();
    assert_eq!(first["method"], "notifications/progress");
    stream
}

/// The last message of a stream (its answer).
async fn answer(stream: support::http::Stream) -> Value {
    stream.collect().await.last().unwrap().json()
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish_and_empties_the_tracker() {
    let host = Arc::new(
        berth::Host::builder()
            .config(config("", "berth-test-embed-cache"))
            .build()
            .await
            .unwrap(),
    );
    let (http, shutdown, serving) = serve(&host).await;
    let stream = slow_call(&http, 10).await;
    shutdown.cancel();
    // The call finishes within the drain time and its answer arrives.
    let answer = answer(stream).await;
    assert_eq!(text(&answer["result"]), "done: 10 steps");
    tokio::time::timeout(support::WAIT, serving)
        .await
        .expect("serve_http returns")
        .unwrap()
        .unwrap();
    assert_eq!(host.running_tasks(), 0);
}

#[tokio::test]
async fn shutdown_stops_a_call_still_running_after_the_drain_time() {
    let host = Arc::new(
        berth::Host::builder()
            .config(config(
                "[http]\ndrain_timeout_secs = 1\n",
                "berth-test-embed-cache",
            ))
            .build()
            .await
            .unwrap(),
    );
    let (http, shutdown, serving) = serve(&host).await;
    // 1000 steps of 100 ms: far longer than the drain time.
    let stream = slow_call(&http, 1000).await;
    shutdown.cancel();
    let answer = answer(stream).await;
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{answer}"
    );
    tokio::time::timeout(support::WAIT, serving)
        .await
        .expect("serve_http returns")
        .unwrap()
        .unwrap();
    assert_eq!(host.running_tasks(), 0);
}
