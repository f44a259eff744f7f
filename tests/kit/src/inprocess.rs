//! berth in the test's own process: [`InProcess::http`] serves HTTP on a
//! 127.0.0.1 listener, [`InProcess::stdio`] speaks stdio over an
//! in-memory pipe. The only place the tests build a host from berth's
//! library, so a change to that API is one edit here.
//!
//! Each host runs on a runtime of its own, on a thread of its own (two
//! workers, as a small server would have): a plugin that hogs its thread,
//! or a test that blocks, slows neither the other, as with a process.

use crate::http::Http;
use crate::stdio::Client;
use crate::{WAIT, paths};
use berth::Host;
use berth::config::{Config, Overrides, RawConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The configuration `berth --config <a file holding toml> serve --plugins
/// <dirs>` would run with (the tests' compiled-code cache; HTTP on a free
/// 127.0.0.1 port).
pub fn config(toml: &str, dirs: &[&Path]) -> Config {
    RawConfig::from_toml(toml)
        .unwrap_or_else(|e| panic!("test config: {e}"))
        .resolve(Overrides {
            plugin_dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
            cache_dir: Some(paths::cache_dir()),
            http_listen: Some("127.0.0.1:0".to_owned()),
        })
        .unwrap_or_else(|e| panic!("test config: {e}"))
}

/// [`config`] from the TOML file at `path` (as `--config path`).
pub fn config_file(path: &Path, dirs: &[&Path]) -> Config {
    let toml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    config(&toml, dirs)
}

/// Starts berth in this process.
pub struct InProcess;

/// berth serving HTTP in this process; stopped (drained) when dropped.
pub struct InProcessHttp {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    done: Option<oneshot::Receiver<std::io::Result<()>>>,
}

impl InProcessHttp {
    /// A client of it.
    pub fn client(&self) -> Http {
        Http { addr: self.addr }
    }

    /// Starts shutdown (what SIGTERM does to `berth serve`) and waits for
    /// the drain to end; true if serving ended cleanly.
    pub async fn stop(&mut self) -> bool {
        self.shutdown.cancel();
        let done = self.done.take().expect("stopped once");
        tokio::time::timeout(WAIT, done)
            .await
            .expect("server stopped in time")
            .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for InProcessHttp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl InProcess {
    /// Serves `config` over HTTP on a 127.0.0.1 listener, as `berth serve
    /// --http 127.0.0.1:0` would.
    pub async fn http(config: Config) -> InProcessHttp {
        let (ready, listening) = oneshot::channel();
        let (shutdown, done) = host(config, move |host, shutdown| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let _ = ready.send(listener.local_addr()?);
            host.serve_http(listener, shutdown)
                .await
                .map_err(std::io::Error::other)
        });
        let addr = tokio::time::timeout(WAIT, listening)
            .await
            .expect("server listened in time")
            .expect("server started");
        InProcessHttp {
            addr,
            shutdown,
            done: Some(done),
        }
    }

    /// Serves `config` over stdio on an in-memory pipe, as `berth serve
    /// --stdio` would; the client's end of it.
    pub fn stdio(config: Config) -> Client {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (from_server, to_server) = tokio::io::split(client);
        let (shutdown, done) = host(config, move |host, shutdown| async move {
            let (input, output) = tokio::io::split(server);
            host.serve_stdio(input, output, shutdown)
                .await
                .map_err(std::io::Error::other)
        });
        Client::in_process(Box::pin(to_server), Box::pin(from_server), done, shutdown)
    }
}

/// Builds the host for `config` (its plugins, maintenance and watcher, as
/// `berth serve` does) on a runtime and thread of its own, then runs
/// `serve` on it; stops when the returned token is cancelled or `serve`
/// returns, whose result the receiver gets.
fn host<F, Fut>(
    config: Config,
    serve: F,
) -> (CancellationToken, oneshot::Receiver<std::io::Result<()>>)
where
    F: FnOnce(Arc<Host>, CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = std::io::Result<()>>,
{
    let shutdown = CancellationToken::new();
    let (result, done) = oneshot::channel();
    let token = shutdown.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = rt.block_on(async move {
            let host = Host::builder()
                .config(config)
                .build()
                .await
                .map_err(std::io::Error::other)?;
            for e in host.load_errors() {
                eprintln!("plugin not loaded: {e}");
            }
            let host = Arc::new(host);
            let served = serve(host.clone(), token.clone()).await;
            token.cancel();
            host.shutdown().await;
            served
        });
        rt.shutdown_background();
        let _ = result.send(outcome);
    });
    (shutdown, done)
}
