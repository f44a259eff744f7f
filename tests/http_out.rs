//! Outbound HTTP from plugins, end to end: the real binary runs the
//! `fetch` example against an HTTP server this test starts on 127.0.0.1,
//! which counts the connections it accepts. Granted host and port answer;
//! anything else is refused inside the plugin with nothing sent; private
//! addresses need the operator's `[sandbox] allow_private_hosts`; plain
//! http needs `allow_plain_http`; timeouts, the call's deadline and the
//! response cap hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::origin::Origin;
use kit::{Run, dist, run_berth, scratch};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The local server: `/hello`, `/slow`, `/huge`, `/redirect?to=<url>`
/// (tests/kit/src/origin.rs), counting the connections it accepts.
async fn server() -> Origin {
    Origin::start("hello from the test server").await
}

/// `fetch.wasm` in `dir` with `manifest` beside it, and `config` as
/// berth.toml. Returns (wasm, berth.toml).
fn setup(dir: &Path, manifest: &str, config: &str) -> (PathBuf, PathBuf) {
    let wasm = dir.join("fetch.wasm");
    std::fs::copy(dist().join("fetch").join("fetch.wasm"), &wasm).unwrap();
    std::fs::write(dir.join("fetch.toml"), manifest).unwrap();
    let cfg = dir.join("berth.toml");
    std::fs::write(&cfg, config).unwrap();
    (wasm, cfg)
}

/// Runs `berth --config <config> <args>`.
async fn berth_run(config: &Path, args: &[&str]) -> Run {
    let global = ["--config", config.to_str().unwrap()];
    run_berth(&[&global[..], args].concat(), &[]).await
}

/// `berth call fetch.wasm get --args <args>`.
async fn get(config: &Path, wasm: &Path, args: serde_json::Value) -> Run {
    let args = args.to_string();
    berth_run(
        config,
        &["call", wasm.to_str().unwrap(), "get", "--args", &args],
    )
    .await
}

const LOCAL: &str = "[sandbox]\nallow_private_hosts = [\"127.0.0.1\"]\nallow_plain_http = true\n";

#[tokio::test]
async fn a_granted_host_and_port_answers() {
    let server = server().await;
    let dir = scratch("granted");
    let manifest = format!("[grants]\nhttp = [\"127.0.0.1:{}\"]\n", server.port);
    let (wasm, cfg) = setup(&dir, &manifest, LOCAL);
    let url = format!("http://127.0.0.1:{}/hello", server.port);
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("hello from the test server"),
        "{}",
        r.all()
    );
    assert_eq!(server.connections(), 1);
    // inspect shows the grant and what is granted.
    let r = berth_run(&cfg, &["inspect", wasm.to_str().unwrap()]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let host = format!("127.0.0.1:{}", server.port);
    assert_eq!(report["manifest"]["http"], json!([host]));
    assert_eq!(report["granted"]["http"], json!([host]));
    let imports = report["imports"].as_array().unwrap();
    let http = imports
        .iter()
        .find(|i| i["interface"] == "wasi:http")
        .expect("fetch imports wasi:http");
    assert!(http["access"].as_str().unwrap().contains(&host), "{http}");
}

#[tokio::test]
async fn an_ungranted_port_or_host_is_refused_and_nothing_is_sent() {
    let server = server().await;
    let dir = scratch("ungranted");
    // Granted: another port on the same address.
    let other = server.port.wrapping_add(1).max(1);
    let manifest = format!("[grants]\nhttp = [\"127.0.0.1:{other}\"]\n");
    let (wasm, cfg) = setup(&dir, &manifest, LOCAL);
    for url in [
        format!("http://127.0.0.1:{}/hello", server.port),
        format!("http://localhost:{}/hello", server.port),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let r = get(&cfg, &wasm, json!({ "url": url })).await;
        assert_ne!(r.code, Some(0), "{url}: {}", r.all());
        assert!(r.all().contains("HttpRequestDenied"), "{url}: {}", r.all());
        // The host log names plugin, tool and target.
        assert!(
            r.stderr.contains("outbound HTTP request refused"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("plugin=\"fetch\" tool=\"get\""),
            "{}",
            r.stderr
        );
        let target = url.split('/').take(3).collect::<Vec<_>>().join("/");
        assert!(
            r.stderr.contains(&format!("target={target}")),
            "{target}: {}",
            r.stderr
        );
    }
    assert_eq!(
        server.connections(),
        0,
        "a refused request reached the server"
    );
}

#[tokio::test]
async fn private_addresses_need_the_operators_allowance() {
    let server = server().await;
    let dir = scratch("private");
    let plain_only = "[sandbox]\nallow_plain_http = true\n";
    // A name that resolves to loopback: refused when the request is made.
    let manifest = format!("[grants]\nhttp = [\"localhost:{}\"]\n", server.port);
    let (wasm, cfg) = setup(&dir, &manifest, plain_only);
    let url = format!("http://localhost:{}/hello", server.port);
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(r.all().contains("DestinationIpProhibited"), "{}", r.all());
    assert!(r.stderr.contains("allow_private_hosts"), "{}", r.stderr);
    assert_eq!(server.connections(), 0);
    // A literal private address in a manifest: a load error naming the
    // file and the key.
    for literal in ["127.0.0.2", "[::1]", "169.254.169.254", "10.0.0.1:8080"] {
        let manifest = format!("[grants]\nhttp = [\"{literal}\"]\n");
        let (wasm, cfg) = setup(&dir, &manifest, plain_only);
        let r = get(&cfg, &wasm, json!({ "url": "http://example.org/" })).await;
        assert_ne!(r.code, Some(0), "{literal}: {}", r.all());
        assert!(r.all().contains("grants.http"), "{literal}: {}", r.all());
        assert!(r.all().contains("fetch.toml"), "{literal}: {}", r.all());
    }
    // A malformed pattern, too.
    let (wasm, cfg) = setup(&dir, "[grants]\nhttp = [\"https://x.org/\"]\n", plain_only);
    let r = get(&cfg, &wasm, json!({ "url": "https://x.org/" })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(r.all().contains("grants.http"), "{}", r.all());
}

#[tokio::test]
async fn plain_http_needs_the_operators_allowance() {
    let server = server().await;
    let dir = scratch("plain");
    let manifest = format!("[grants]\nhttp = [\"127.0.0.1:{}\"]\n", server.port);
    let (wasm, cfg) = setup(
        &dir,
        &manifest,
        "[sandbox]\nallow_private_hosts = [\"127.0.0.1\"]\n",
    );
    let url = format!("http://127.0.0.1:{}/hello", server.port);
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(r.all().contains("HttpRequestDenied"), "{}", r.all());
    assert!(r.stderr.contains("allow_plain_http"), "{}", r.stderr);
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_redirect_is_checked_again_at_the_next_hop() {
    let server = server().await;
    let dir = scratch("redirect");
    let manifest = format!("[grants]\nhttp = [\"127.0.0.1:{}\"]\n", server.port);
    let (wasm, cfg) = setup(&dir, &manifest, LOCAL);
    // A redirect within the grant is followed.
    let url = format!("http://127.0.0.1:{}/redirect?to=/hello", server.port);
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("hello from the test server"),
        "{}",
        r.all()
    );
    assert_eq!(server.connections(), 2);
    // One to the cloud metadata address or to another loopback address is
    // refused at the second hop.
    for to in [
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://127.0.0.2:{}/hello", server.port),
        format!("http://[::1]:{}/hello", server.port),
    ] {
        let url = format!("http://127.0.0.1:{}/redirect?to={to}", server.port);
        let before = server.connections();
        let r = get(&cfg, &wasm, json!({ "url": url })).await;
        assert_ne!(r.code, Some(0), "{to}: {}", r.all());
        assert!(r.all().contains("HttpRequestDenied"), "{to}: {}", r.all());
        assert_eq!(
            server.connections(),
            before + 1,
            "only the first hop was sent"
        );
    }
}

#[tokio::test]
async fn a_slow_server_hits_the_first_byte_timeout_and_the_calls_deadline() {
    let server = server().await;
    let dir = scratch("slow");
    let manifest = format!(
        "[limits]\ndeadline_ms = 3000\n[grants]\nhttp = [\"127.0.0.1:{}\"]\n",
        server.port
    );
    let (wasm, cfg) = setup(&dir, &manifest, LOCAL);
    let url = format!("http://127.0.0.1:{}/slow", server.port);
    // The guest's own first-byte timeout.
    let r = get(&cfg, &wasm, json!({ "url": url, "timeout_ms": 300 })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(r.all().contains("HttpResponseTimeout"), "{}", r.all());
    // No timeout of its own: the call's deadline ends it.
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(
        r.all().contains("exceeded its 3000 ms time limit"),
        "{}",
        r.all()
    );
}

#[tokio::test]
async fn a_huge_response_hits_the_cap() {
    let server = server().await;
    let dir = scratch("huge");
    let manifest = format!("[grants]\nhttp = [\"127.0.0.1:{}\"]\n", server.port);
    let config = format!("{LOCAL}[limits]\nmax_http_response_kb = 64\n");
    let (wasm, cfg) = setup(&dir, &manifest, &config);
    let url = format!("http://127.0.0.1:{}/huge", server.port);
    let r = get(&cfg, &wasm, json!({ "url": url })).await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(
        r.all().contains("body size exceeds limit: 65536 bytes"),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("over 64 KiB"), "{}", r.stderr);
}
