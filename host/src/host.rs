//! The library's front door: [`HostBuilder`] assembles the layers (kv
//! store, authenticator, plugin runtime, handles, protocol server) into a
//! [`Host`], which serves them over HTTP or stdio, or as a router to mount
//! in an existing axum application.
//!
//! The host owns every task it or its transports spawn, through one task
//! tracker: the plugin watcher, the maintenance sweep, and what the HTTP
//! and stdio transports spawn per request. [`Host::shutdown`] (which
//! [`Host::serve_http`] and [`Host::serve_stdio`] end with) stops them and
//! waits for them, bounded by the drain timeout.

use crate::auth::{Authenticate, Principal};
use crate::config::{Config, ConfigError, Overrides, RawConfig};
use crate::kv::{MemoryStore, SharedKv};
use crate::level::LogLevel;
use crate::plugin::{LoadError, PluginHost, RuntimeError};
use crate::protocol::era::{self, Meta};
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::params::{CallToolParams, InitializeParams, SetLevelParams};
use crate::protocol::{Connection, Message, Method, Outbound, Request, Server};
use crate::session::{CloseReason, HandleStore, TransportKind};
use crate::transport::http::{HttpOptions, HttpRouter};
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long tasks may still take after the calls in flight were stopped
/// (their answers are being written); then shutdown stops waiting.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why the host cannot start, serve, or call a tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The default configuration could not be resolved.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugin runtime could not be created.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A plugin directory could not be read, or a plugin file loaded.
    #[error(transparent)]
    Plugins(#[from] LoadError),
    /// A transport failed (reading stdin, writing stdout).
    #[error("transport failed")]
    Io(#[from] std::io::Error),
    /// A call was answered with a JSON-RPC error (an unknown tool,
    /// invalid arguments, the host shutting down).
    #[error("error {code}: {message}")]
    Call {
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
}

/// Builds a [`Host`]; see [`Host::builder`].
#[derive(Default)]
#[must_use]
pub struct HostBuilder {
    config: Option<Config>,
    kv: Option<SharedKv>,
    authenticator: Option<Arc<dyn Authenticate>>,
    plugin_dirs: Option<Vec<PathBuf>>,
    quiet: bool,
}

impl HostBuilder {
    /// The configuration (default: berth's defaults, as an empty
    /// `berth.toml` gives).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The key-value store plugins keep their state in (default: the
    /// in-memory store, bounded by the configuration's `[state]`).
    pub fn kv(mut self, kv: SharedKv) -> Self {
        self.kv = Some(kv);
        self
    }

    /// How HTTP callers are authenticated (default: the configuration's
    /// API keys, or none).
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticate>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// The plugin directories (default: the configuration's).
    pub fn plugins<I, P>(mut self, dirs: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.plugin_dirs = Some(dirs.into_iter().map(Into::into).collect());
        self
    }

    /// Starts no maintenance sweep and no watcher, for tests that pause
    /// time (a sleeping sweep would make Tokio jump to its next tick) and
    /// sweep themselves. Not a stable API.
    #[doc(hidden)]
    pub fn without_background_tasks(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Creates the runtime, loads every plugin in the plugin directories,
    /// and starts the maintenance sweep and (if configured, and there are
    /// directories) the plugin watcher. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// [`HostError`] when the runtime cannot start or a directory cannot
    /// be listed; a single bad plugin is only reported in
    /// [`Host::load_errors`].
    pub async fn build(self) -> Result<Host, HostError> {
        let mut config = match self.config {
            Some(config) => config,
            None => RawConfig::default().resolve(Overrides::default())?,
        };
        if let Some(dirs) = self.plugin_dirs {
            config.plugin_dirs = dirs;
        }
        if let Some(authenticator) = self.authenticator {
            config.http.auth = authenticator;
        }
        let kv = self
            .kv
            .unwrap_or_else(|| Arc::new(MemoryStore::new(config.kv.clone())));
        let plugins = Arc::new(PluginHost::new(config.runtime.clone(), kv.clone())?);
        let load_errors = plugins.load_dirs(&config.plugin_dirs).await?;
        let handles = HandleStore::new(config.handles.clone(), kv.clone());
        let server = Arc::new(Server::new(
            plugins,
            kv,
            handles,
            config.sessions.clone(),
            config.server.clone(),
        ));
        let host = Host {
            server,
            http: config.http,
            load_errors,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
        };
        if !self.quiet {
            host.spawn_maintenance();
        }
        if let Some(every) = config.watch
            && !config.plugin_dirs.is_empty()
            && !self.quiet
        {
            host.spawn_watcher(config.plugin_dirs, every);
        }
        Ok(host)
    }
}

/// A running berth: plugins loaded, ready to serve MCP.
///
/// Serve it on a listener of its own ([`Host::serve_http`]), on stdio
/// ([`Host::serve_stdio`]), or mount [`Host::router`] in an existing
/// axum application:
///
/// ```no_run
/// use std::sync::Arc;
/// use tokio_util::sync::CancellationToken;
///
/// # async fn embed() -> Result<(), Box<dyn std::error::Error>> {
/// let config = berth::config::RawConfig::from_toml("[plugins]\ndirs = [\"plugins\"]\n")?
///     .resolve(berth::config::Overrides::default())?;
/// let host = Arc::new(
///     berth::Host::builder()
///         .config(config)
///         .authenticator(Arc::new(berth::auth::Anonymous))
///         .build()
///         .await?,
/// );
/// for e in host.load_errors() {
///     eprintln!("not served: {e}");
/// }
/// // MCP at /tools/mcp (and /tools/sse, /tools/healthz...), beside the
/// // application's own routes.
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my application" }))
///     .nest("/tools", host.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let stop = CancellationToken::new();
/// let signal = stop.clone();
/// axum::serve(listener, app)
///     .with_graceful_shutdown(async move { signal.cancelled().await })
///     .await?;
/// host.shutdown().await; // drains calls, stops background tasks
/// # Ok(())
/// # }
/// ```
pub struct Host {
    server: Arc<Server>,
    http: HttpOptions,
    load_errors: Vec<LoadError>,
    tasks: TaskTracker,
    /// Cancelled at shutdown (or when the host is dropped): stops the
    /// background tasks and ends listen streams.
    stop: CancellationToken,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("load_errors", &self.load_errors)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

/// A plugin loaded by [`Host::load_plugin`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadedPlugin {
    /// The plugin's name.
    pub name: String,
    /// Its tools: (the name clients see, the plugin's own name).
    pub tools: Vec<(String, String)>,
}

impl Host {
    /// A builder; every part is optional.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// Plugins that failed to load (the rest are served).
    pub fn load_errors(&self) -> &[LoadError] {
        &self.load_errors
    }

    /// The key-value store plugins keep their state in.
    pub fn kv(&self) -> &SharedKv {
        self.server.kv()
    }

    /// How many plugins are served.
    pub fn plugin_count(&self) -> usize {
        self.server.plugins().registry().plugins().len()
    }

    /// How many tools clients are offered.
    pub fn tool_count(&self) -> usize {
        self.server.listed_tool_count()
    }

    /// Tasks the host owns that are still running (background tasks, and
    /// calls and streams the transports spawned); 0 after shutdown.
    pub fn running_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Loads the plugin at `path` and serves it beside the others (it
    /// replaces one of the same name). When the host watches its plugin
    /// directories, a plugin from elsewhere is dropped at the next change.
    ///
    /// # Errors
    /// [`HostError::Plugins`] when it cannot be loaded or registered.
    pub async fn load_plugin(&self, path: &Path) -> Result<LoadedPlugin, HostError> {
        let plugin = self.server.plugins().load_file(path).await?;
        let loaded = LoadedPlugin {
            name: plugin.name().to_owned(),
            tools: plugin
                .tools()
                .iter()
                .map(|t| (plugin.exposed_name(&t.name), t.name.clone()))
                .collect(),
        };
        self.server.plugins().register(plugin)?;
        Ok(loaded)
    }

    /// The HTTP endpoints as an axum router: Streamable HTTP at the
    /// configured path (`/mcp`), the HTTP+SSE transport (`/sse`,
    /// `/messages`), and `/healthz`, `/readyz`, `/metrics`. The
    /// application serving it owns connections and their limits; call
    /// [`Host::shutdown`] when it stops.
    pub fn router(&self) -> HttpRouter {
        crate::transport::http::router(
            self.server.clone(),
            self.http.clone(),
            self.tasks.clone(),
            self.stop.child_token(),
        )
    }

    /// Serves HTTP on `listener` (bounded connections and timeouts) until
    /// `shutdown` is cancelled, then stops accepting, lets calls in flight
    /// finish for up to the drain timeout (`[http] drain_timeout_secs`),
    /// stops the rest (each is answered with a "shutting down" error), and
    /// shuts the host down ([`Host::shutdown`]).
    ///
    /// # Errors
    /// None today: a failed accept is logged and retried.
    pub async fn serve_http(
        &self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), HostError> {
        let stop = self.linked(&shutdown);
        let served = crate::transport::http::serve(
            listener,
            self.server.clone(),
            self.http.clone(),
            self.tasks.clone(),
            stop.clone(),
        )
        .await;
        stop.cancel();
        self.shutdown().await;
        Ok(served?)
    }

    /// Serves one client on `input` and `output` (newline-delimited
    /// JSON-RPC) until input ends or `shutdown` is cancelled, then drains
    /// as [`Host::serve_http`] does and shuts the host down.
    ///
    /// # Errors
    /// [`HostError::Io`] when reading `input` or writing `output` fails.
    pub async fn serve_stdio<R, W>(
        &self,
        input: R,
        output: W,
        shutdown: CancellationToken,
    ) -> Result<(), HostError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let stop = self.linked(&shutdown);
        let served = crate::transport::stdio::serve(
            self.server.clone(),
            input,
            output,
            stop.clone(),
            self.http.drain_timeout,
            &self.tasks,
        )
        .await;
        stop.cancel();
        self.shutdown().await;
        Ok(served?)
    }

    /// Stops the host: ends listen streams and background tasks, waits up
    /// to the drain timeout for calls in flight, stops those still running
    /// (each is answered with a "shutting down" error), waits a little
    /// more for their answers, and closes every session. Idempotent.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.tasks.close();
        let drain = self.http.drain_timeout;
        if tokio::time::timeout(drain, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.len(),
                "tasks still running after the drain timeout; stopping their calls"
            );
            self.server.stop_calls();
            if tokio::time::timeout(STOP_GRACE, self.tasks.wait())
                .await
                .is_err()
            {
                tracing::warn!(
                    tasks = self.tasks.len(),
                    "tasks still running after their calls were stopped; not waiting for them"
                );
            }
        }
        self.server
            .sessions()
            .close_all(CloseReason::Shutdown)
            .await;
    }

    /// Calls the tool clients know as `name` with `arguments`, as
    /// `principal`, in a session of its own (closed after the call).
    ///
    /// # Errors
    /// [`HostError::Call`] when the call is answered with a JSON-RPC
    /// error. A tool that fails is a result with `is_error` set.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        principal: Principal,
    ) -> Result<CallToolResult, HostError> {
        self.call(name, arguments, principal, None).await
    }

    /// [`Host::call_tool`], sending what the call reports while it runs
    /// (progress, and log messages down to `debug`) to `notifications`,
    /// each as the JSON-RPC notification a client would receive.
    ///
    /// # Errors
    /// As [`Host::call_tool`].
    pub async fn call_tool_observed(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        principal: Principal,
        notifications: tokio::sync::mpsc::Sender<Value>,
    ) -> Result<CallToolResult, HostError> {
        self.call(name, arguments, principal, Some(notifications))
            .await
    }

    async fn call(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        principal: Principal,
        notifications: Option<tokio::sync::mpsc::Sender<Value>>,
    ) -> Result<CallToolResult, HostError> {
        let server = &self.server;
        let conn = Arc::new(Connection::new(
            principal,
            TransportKind::Stdio,
            server.kv().clone(),
        ));
        let observed = notifications.is_some();
        let out = match notifications {
            None => Outbound::Discard,
            Some(to) => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
                self.tasks.spawn(async move {
                    while let Some(line) = rx.recv().await {
                        let message = serde_json::from_str(&line).unwrap_or(Value::String(line));
                        if to.send(message).await.is_err() {
                            break;
                        }
                    }
                });
                Outbound::new(tx)
            }
        };
        // The same typed requests a client's messages become.
        let message = |id: i64, method: Method, meta: Meta| {
            Message::Request(Box::new(Request {
                id: RequestId::Number(id),
                meta,
                method,
                modern: None,
            }))
        };
        let initialize = Method::Initialize(Ok(InitializeParams {
            protocol_version: Some(era::LEGACY_VERSIONS[0].to_owned()),
            capabilities: json!({}),
            client_info: json!({"name": "berth", "version": env!("CARGO_PKG_VERSION")}),
        }));
        server
            .handle_message(&conn, message(0, initialize, Meta::default()), &out)
            .await;
        let mut meta = Meta::default();
        if observed {
            let level = Method::SetLevel(Ok(SetLevelParams {
                level: LogLevel::Debug,
            }));
            server
                .handle_message(&conn, message(1, level, Meta::default()), &out)
                .await;
            meta.progress_token = Some(json!("berth-call"));
        }
        let call = Method::CallTool(Ok(CallToolParams {
            name: name.to_owned(),
            arguments,
            retry: None,
        }));
        let reply = server
            .handle_message(&conn, message(2, call, meta), &out)
            .await;
        drop(out);
        server.disconnect(&conn, CloseReason::TransportClosed).await;
        let Some(reply) = reply else {
            return Err(HostError::Call {
                code: -32603,
                message: "the call was cancelled".to_owned(),
            });
        };
        if let Some(error) = reply.error {
            let wire = error.to_wire();
            return Err(HostError::Call {
                code: error.code(),
                message: wire["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let mut response: Value = serde_json::from_str(&reply.body).unwrap_or_default();
        serde_json::from_value(response["result"].take()).map_err(|e| HostError::Call {
            code: -32603,
            message: format!("the result is not a tool result: {e}"),
        })
    }

    /// A token cancelled when `shutdown` is, or when the host stops.
    fn linked(&self, shutdown: &CancellationToken) -> CancellationToken {
        let stop = self.stop.child_token();
        let (outer, inner) = (shutdown.clone(), stop.clone());
        self.tasks.spawn(async move {
            tokio::select! {
                () = outer.cancelled() => inner.cancel(),
                () = inner.cancelled() => {}
            }
        });
        stop
    }

    /// Reloads the plugin directories every `every`, so added, changed
    /// and removed plugins are served without a restart.
    fn spawn_watcher(&self, dirs: Vec<PathBuf>, every: Duration) {
        let (server, stop) = (self.server.clone(), self.stop.clone());
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match server.plugins().reload(&dirs).await {
                    Ok(reloaded) => {
                        for e in reloaded.errors {
                            tracing::error!("{e}");
                        }
                    }
                    Err(e) => tracing::warn!("cannot look for plugin changes: {e}"),
                }
            }
        });
    }

    /// Sweeps idle sessions, expired handles and kv entries every
    /// `sessions.cleanup_interval`.
    fn spawn_maintenance(&self) {
        let (server, stop) = (self.server.clone(), self.stop.clone());
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(server.sessions().limits().cleanup_interval);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {
                        let sessions = server.sessions().expire_idle().await;
                        let handles = server.handles().purge_expired().await;
                        let entries = server.kv().purge_expired().await.unwrap_or(0);
                        if sessions + handles + entries > 0 {
                            tracing::debug!(sessions, handles, entries, "expired state reclaimed");
                        }
                    }
                }
            }
        });
    }

    /// The protocol server, for benchmarks and tests that reach below the
    /// host. Not a stable API.
    #[doc(hidden)]
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }
}

impl Drop for Host {
    /// Stops the background tasks (without waiting for them).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
