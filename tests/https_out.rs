//! Outbound https from plugins, end to end: the `fetch` example calls a
//! TLS server this test starts on 127.0.0.1 with a certificate from its own
//! certificate authority. With that authority among berth's roots
//! (`SSL_CERT_FILE`, which berth reads as the system's roots) the call
//! answers; with the system's roots alone the handshake fails, the tool
//! reports it, and no request reaches the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use berth_testkit as kit;

use kit::origin::Origin;
use kit::{Run, dist, run_berth, scratch};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;

/// A certificate authority and a server certificate it signed for
/// `localhost` and 127.0.0.1: (CA PEM, server chain, server key).
fn certificates() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "berth test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    (ca.pem(), vec![cert.der().clone()], der)
}

/// The local server over TLS with `chain` and `key`
/// (tests/kit/src/origin.rs), counting the requests that got through the
/// handshake.
fn tls_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
}

async fn fetch(dir: &Path, url: &str, roots: Option<&Path>) -> Run {
    let (wasm, cfg) = (dir.join("fetch.wasm"), dir.join("berth.toml"));
    let args = json!({ "url": url }).to_string();
    let roots = roots.map(|p| p.to_str().unwrap().to_owned());
    let env: Vec<(&str, &str)> = match &roots {
        Some(file) => vec![("SSL_CERT_FILE", file.as_str())],
        None => Vec::new(),
    };
    let cmd = [
        "--config",
        cfg.to_str().unwrap(),
        "call",
        wasm.to_str().unwrap(),
        "get",
        "--args",
        &args,
    ];
    run_berth(&cmd, &env).await
}

#[tokio::test]
async fn https_answers_with_a_trusted_root_and_fails_cleanly_without() {
    let (ca, chain, key) = certificates();
    let origin = Origin::start_tls("hello over tls", tls_config(chain, key)).await;
    let port = origin.port;
    let dir = scratch("https");
    std::fs::copy(
        dist().join("fetch").join("fetch.wasm"),
        dir.join("fetch.wasm"),
    )
    .unwrap();
    std::fs::write(
        dir.join("fetch.toml"),
        format!("[grants]\nhttp = [\"localhost:{port}\", \"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    // Only the loopback exception; https needs no allow_plain_http.
    std::fs::write(
        dir.join("berth.toml"),
        "[sandbox]\nallow_private_hosts = [\"127.0.0.1\", \"::1\"]\n",
    )
    .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();

    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}/hello");
        let r = fetch(&dir, &url, Some(&ca_file)).await;
        assert_eq!(r.code, Some(0), "{url}: {}", r.all());
        assert!(r.stdout.contains("hello over tls"), "{url}: {}", r.all());
    }
    assert_eq!(origin.requests(), 2);

    // The system's roots do not know the test authority.
    let url = format!("https://localhost:{port}/hello");
    let r = fetch(&dir, &url, None).await;
    assert_eq!(r.code, Some(1), "a tool error, not a crash: {}", r.all());
    assert!(
        r.all().to_lowercase().contains("tls") || r.all().contains("certificate"),
        "says why: {}",
        r.all()
    );
    assert_eq!(origin.requests(), 2, "nothing sent without trust");

    // Plain http to the same granted port is still refused by policy.
    let r = fetch(
        &dir,
        &format!("http://localhost:{port}/hello"),
        Some(&ca_file),
    )
    .await;
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(r.all().contains("HttpRequestDenied"), "{}", r.all());
    assert_eq!(origin.requests(), 2);
}
