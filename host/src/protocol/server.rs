//! The protocol engine: classifies each message once (modern `_meta` or
//! legacy session), dispatches it to the same handlers, and shapes the
//! result for its era.

use super::connection::{Connection, Outbound};
use super::era::{self, Era, RequestCx};
use super::error::RpcError;
use super::events::RequestEvents;
use super::jsonrpc::{self, Incoming, RequestId};
use super::metrics::{CallMetrics, SubscriberMetrics};
use super::seal::{self, SealKey};
use super::subscriptions;
use crate::kv::{ScopeId, ScopeKey, SharedKv};
use crate::level::LogLevel;
use crate::plugin::{CallContext, CallScopes, PluginHost};
use crate::session::{
    CloseReason, HandleStore, LegacySession, SessionId, SessionLimits, SessionManager,
    TransportKind,
};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// Settings of the protocol engine.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Name reported to clients.
    pub name: String,
    /// Version reported to clients.
    pub version: String,
    /// Items per page of list results.
    pub page_size: usize,
    /// How long clients may cache list results (modern `ttlMs`).
    pub list_ttl_ms: u64,
    /// The key that signs `requestState` (share it between nodes).
    pub input_key: SealKey,
    /// How long a modern client has to retry with its answers.
    pub input_ttl: Duration,
    /// How long a legacy client has to answer a question.
    pub input_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            name: "berth".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            page_size: 100,
            list_ttl_ms: 60_000,
            input_key: seal::random_key().unwrap_or_else(|e| {
                tracing::error!(error = %e, "no OS randomness for the requestState key; using a key derived from the clock");
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                use sha2::Digest as _;
                sha2::Sha256::digest(format!("{nanos}:{}", std::process::id())).into()
            }),
            input_ttl: super::input::DEFAULT_INPUT_TTL,
            input_timeout: Duration::from_secs(300),
        }
    }
}

/// The MCP server: plugins, state and handles behind one dispatcher.
pub struct Server {
    pub(super) plugins: Arc<PluginHost>,
    pub(super) metrics: CallMetrics,
    pub(super) subscribers: SubscriberMetrics,
    pub(super) sessions: SessionManager<Connection>,
    pub(super) handles: HandleStore,
    pub(super) kv: SharedKv,
    pub(super) options: ServerOptions,
    /// Cancelled by [`Server::stop_calls`]: the parent of every request's
    /// cancellation token.
    stop: CancellationToken,
    /// `requestState`s already used.
    pub(super) spent: seal::Spent,
}

/// A response to send, with its error when it is one (the HTTP transport
/// maps some errors to statuses).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The JSON-RPC response.
    pub body: String,
    /// The error, for an error response.
    pub error: Option<RpcError>,
}

impl Reply {
    fn error(id: &RequestId, e: &RpcError) -> Self {
        Self {
            body: jsonrpc::error(Some(id), e),
            error: Some(e.clone()),
        }
    }
}

/// What a handler answers with.
pub(super) enum Output {
    /// A JSON value; [`Server::request`] adds what its era requires.
    Value(Value),
    /// A tool's result, already shaped for its era by the handler and
    /// serialised straight into the response: the `tools/call` hot path
    /// skips building a `Value` only to write it out again.
    Tool {
        /// The result.
        result: Box<CallToolResult>,
        /// Write `_meta` with `serverInfo` next to it (a modern result
        /// that has no `_meta` of its own).
        server_info: bool,
    },
}

/// A modern tool result and the `_meta` the server adds, written without
/// building the map.
#[derive(Serialize)]
struct WithServerInfo<'a> {
    #[serde(flatten)]
    result: &'a CallToolResult,
    #[serde(rename = "_meta")]
    meta: ServerMeta<'a>,
}

#[derive(Serialize)]
struct ServerMeta<'a> {
    #[serde(rename = "io.modelcontextprotocol/serverInfo")]
    server_info: ServerInfo<'a>,
}

#[derive(Serialize)]
struct ServerInfo<'a> {
    name: &'a str,
    version: &'a str,
}

/// The per-request inputs of a handler.
pub(super) struct Request<'a> {
    pub id: &'a RequestId,
    pub conn: &'a Arc<Connection>,
    pub cx: RequestCx,
    pub params: Map<String, Value>,
    pub out: &'a Outbound,
    pub cancel: &'a CancellationToken,
}

impl Server {
    /// A server over loaded plugins.
    pub fn new(
        plugins: Arc<PluginHost>,
        kv: SharedKv,
        handles: HandleStore,
        sessions: SessionLimits,
        options: ServerOptions,
    ) -> Self {
        Self {
            plugins,
            metrics: CallMetrics::default(),
            subscribers: SubscriberMetrics::default(),
            sessions: SessionManager::new(sessions),
            handles,
            kv,
            options,
            stop: CancellationToken::new(),
            spent: seal::Spent::default(),
        }
    }

    /// Stops every request in flight, on every connection, and refuses new
    /// ones: each gets an error response saying the server is shutting
    /// down (unlike a client's cancellation, which gets none). Transports
    /// call this when their drain time is up.
    pub fn stop_calls(&self) {
        self.stop.cancel();
    }

    /// The plugin host.
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.plugins
    }

    /// The key-value store.
    pub fn kv(&self) -> &SharedKv {
        &self.kv
    }

    /// The modern-era handles.
    pub fn handles(&self) -> &HandleStore {
        &self.handles
    }

    /// Plugin call metrics.
    pub fn metrics(&self) -> &CallMetrics {
        &self.metrics
    }

    /// What subscribers that fell behind lost.
    pub fn subscriber_metrics(&self) -> &SubscriberMetrics {
        &self.subscribers
    }

    /// The legacy sessions of every transport.
    pub fn sessions(&self) -> &SessionManager<Connection> {
        &self.sessions
    }

    /// Ends a connection: closes its session (freeing its state) or, if it
    /// has none, cancels what it has in flight.
    pub async fn disconnect(&self, conn: &Arc<Connection>, reason: CloseReason) {
        match conn.session_id() {
            Some(id) if self.sessions.close(&id, reason).await => {}
            _ => conn.release().await,
        }
    }

    /// Handles one incoming message and returns the response to send, if
    /// any. Notifications and progress for the request go to `out` first.
    pub async fn handle(
        &self,
        conn: &Arc<Connection>,
        text: &str,
        out: &Outbound,
    ) -> Option<String> {
        match jsonrpc::parse(text) {
            Err(rejected) => Some(jsonrpc::error(rejected.id.as_ref(), &rejected.error)),
            Ok(incoming) => self
                .handle_incoming(conn, incoming, out)
                .await
                .map(|r| r.body),
        }
    }

    /// Handles one parsed message (transports that look at it first, like
    /// HTTP, parse once and call this).
    pub async fn handle_incoming(
        &self,
        conn: &Arc<Connection>,
        incoming: Incoming,
        out: &Outbound,
    ) -> Option<Reply> {
        match incoming {
            Incoming::Response { id, outcome } => {
                match id {
                    Some(id) if conn.answer(&id, outcome) => {}
                    id => tracing::debug!(?id, "ignoring a response to no request of ours"),
                }
                None
            }
            Incoming::Notification { method, params } => {
                self.notification(conn, &method, &params);
                None
            }
            Incoming::Request { id, method, params } => {
                if self.stop.is_cancelled() {
                    return Some(Reply::error(&id, &RpcError::ShuttingDown));
                }
                let Some(flight) = conn.begin(&id, &self.stop) else {
                    let e = RpcError::InvalidRequest(
                        "this id is already in use by a request in flight (or too many are in flight)"
                            .to_owned(),
                    );
                    return Some(Reply::error(&id, &e));
                };
                // Checked once registered: a session ending from now on
                // cancels this request, and one that ended before is seen.
                if conn.has_ended() {
                    return Some(Reply::error(&id, &RpcError::SessionEnded));
                }
                let span = super::spans::request_span(conn, &method, &params);
                let result = self
                    .request(conn, &id, &method, params, out, flight.token())
                    .instrument(span.clone())
                    .await;
                super::spans::record_opened(&span, conn, &method);
                // The session is idle from the end of its last request, not
                // its start (and it does not expire while one runs).
                if conn.transport() != TransportKind::Stdio
                    && let Some(sid) = conn.session_id()
                {
                    self.sessions.touch(&sid);
                }
                let cancelled = flight.token().is_cancelled();
                drop(flight);
                // A request the server stopped is answered; one the client
                // cancelled is not (the client has moved on).
                if self.stop.is_cancelled() {
                    return Some(Reply::error(&id, &RpcError::ShuttingDown));
                }
                if cancelled {
                    return conn
                        .has_ended()
                        .then(|| Reply::error(&id, &RpcError::SessionEnded));
                }
                Some(match result {
                    Ok(Output::Value(value)) => Reply {
                        body: jsonrpc::result(&id, &value),
                        error: None,
                    },
                    Ok(Output::Tool {
                        result,
                        server_info,
                    }) => Reply {
                        body: if server_info {
                            jsonrpc::result(&id, &self.with_server_info(&result))
                        } else {
                            jsonrpc::result(&id, &*result)
                        },
                        error: None,
                    },
                    Err(e) => Reply::error(&id, &e),
                })
            }
        }
    }

    fn notification(&self, conn: &Connection, method: &str, params: &Map<String, Value>) {
        match method {
            "notifications/initialized" => {
                if let Some(id) = conn.session_id() {
                    self.sessions.initialized(&id);
                }
            }
            "notifications/cancelled" => {
                let id = params.get("requestId").and_then(RequestId::from_value);
                match id {
                    Some(id) if conn.cancel(&id) => {
                        tracing::info!(?id, reason = ?params.get("reason"), "request cancelled");
                    }
                    _ => tracing::debug!(?params, "cancellation for no request in flight"),
                }
            }
            other => tracing::debug!(method = other, "ignoring notification"),
        }
    }

    async fn request(
        &self,
        conn: &Arc<Connection>,
        id: &RequestId,
        method: &str,
        params: Map<String, Value>,
        out: &Outbound,
        cancel: &CancellationToken,
    ) -> Result<Output, RpcError> {
        // `initialize` belongs to the legacy era; a request that describes
        // itself as 2026-07-28 is modern, and there it does not exist.
        if method == "initialize" && !era::is_modern(&params) {
            return self.initialize(conn, &params).map(Output::Value);
        }
        let cx = if era::is_modern(&params) || method == "server/discover" {
            era::modern_cx(&params)?
        } else if let Some((protocol_version, log_level, client)) = conn.legacy_cx() {
            RequestCx {
                era: Era::Legacy,
                protocol_version,
                log_level: Some(log_level),
                progress_token: era::progress_token(&params),
                client,
            }
        } else if method == "ping" {
            return Ok(Output::Value(json!({})));
        } else {
            return Err(RpcError::InvalidRequest(format!(
                "no session: send initialize first, or describe the request in _meta (\"{}\": \"{}\")",
                era::META_PROTOCOL_VERSION,
                era::MODERN_VERSIONS[0]
            )));
        };
        let era = cx.era;
        let req = Request {
            id,
            conn,
            cx,
            params,
            out,
            cancel,
        };
        let mut result = match (era, method) {
            // `ping` was removed in 2026-07-28.
            (Era::Legacy, "ping") => json!({}),
            (Era::Modern, "server/discover") => self.discover(),
            (_, "tools/list") => self.list_tools(&req)?,
            // Shaped for its era by the handler.
            (_, "tools/call") => return self.call_tool(req).await,
            (_, "resources/list") => self.list_resources(&req).await?,
            (_, "resources/templates/list") => self.list_templates(&req)?,
            (_, "resources/read") => self.read_resource(&req).await?,
            (Era::Legacy, "resources/subscribe") => {
                subscriptions::subscribe(conn, &req.params, true)?
            }
            (Era::Legacy, "resources/unsubscribe") => {
                subscriptions::subscribe(conn, &req.params, false)?
            }
            (_, "prompts/list") => self.list_prompts(&req)?,
            (_, "prompts/get") => self.get_prompt(&req).await?,
            (_, "completion/complete") => self.complete(&req).await?,
            (Era::Modern, "subscriptions/listen") => self.listen(&req).await?,
            (Era::Legacy, "logging/setLevel") => set_level(conn, &req.params)?,
            (_, other) => return Err(RpcError::MethodNotFound(other.to_owned())),
        };
        if era == Era::Modern
            && let Some(obj) = result.as_object_mut()
        {
            obj.entry("resultType").or_insert_with(|| json!("complete"));
            let meta = obj.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(era::META_SERVER_INFO.to_owned(), self.server_info());
            }
        }
        Ok(Output::Value(result))
    }

    fn with_server_info<'a>(&'a self, result: &'a CallToolResult) -> WithServerInfo<'a> {
        WithServerInfo {
            result,
            meta: ServerMeta {
                server_info: self.info(),
            },
        }
    }

    fn info(&self) -> ServerInfo<'_> {
        ServerInfo {
            name: &self.options.name,
            version: &self.options.version,
        }
    }

    /// The server's name and version (`serverInfo`).
    pub(super) fn server_info(&self) -> Value {
        json!(self.info())
    }

    fn capabilities() -> Value {
        json!({
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "completions": {},
            "logging": {},
        })
    }

    /// What a plugin call of this request may reach: the caller, its
    /// scopes, where its logs and progress go, what the client can be
    /// asked.
    pub(super) fn call_context(req: &Request<'_>, session: Option<ScopeKey>) -> CallContext {
        let principal = req.conn.principal().clone();
        let user = ScopeKey {
            tenant: principal.tenant.clone(),
            scope: ScopeId::User(principal.subject.clone()),
        };
        let events = Arc::new(RequestEvents {
            out: req.out.clone(),
            log_level: req.cx.log_level,
            progress_token: req.cx.progress_token.clone(),
        });
        CallContext {
            principal,
            scopes: CallScopes { session, user },
            events,
            cancel: req.cancel.clone(),
            client: req.cx.client,
        }
    }

    /// The session scope of a request that takes no handle: the legacy
    /// session's, if any.
    pub(super) fn connection_scope(req: &Request<'_>) -> Option<ScopeKey> {
        match req.cx.era {
            Era::Legacy => req.conn.legacy_scope(),
            Era::Modern => None,
        }
    }

    fn initialize(
        &self,
        conn: &Arc<Connection>,
        params: &Map<String, Value>,
    ) -> Result<Value, RpcError> {
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        let capabilities = params.get("capabilities").cloned().unwrap_or(json!({}));
        if !capabilities.is_object() {
            return Err(RpcError::InvalidParams(
                "capabilities must be an object".to_owned(),
            ));
        }
        let client_info = params.get("clientInfo").cloned().unwrap_or(Value::Null);
        let version = era::negotiate(requested);
        let session = conn.with_legacy(|slot| {
            if slot.is_some() {
                return Err(RpcError::InvalidRequest(
                    "already initialized: a connection has one session".to_owned(),
                ));
            }
            let id = conn
                .preset_session_id()
                .cloned()
                .unwrap_or_else(SessionId::generate);
            let session = LegacySession::new(id, version, capabilities, client_info);
            *slot = Some(session.clone());
            Ok(session)
        })?;
        // A preset session (HTTP+SSE) was registered when its stream opened.
        if conn.preset_session_id().is_none()
            && let Err(e) = self.sessions.create(
                session.id.clone(),
                conn.principal(),
                conn.transport(),
                conn.clone(),
            )
        {
            conn.with_legacy(|slot| *slot = None);
            return Err(RpcError::TooManySessions(e.to_string()));
        }
        tracing::debug!(session = %session.id, version, client = %session.client_info, "initialized");
        Ok(json!({
            "protocolVersion": version,
            "capabilities": Self::capabilities(),
            "serverInfo": self.server_info(),
            "instructions": "Tools come from sandboxed WebAssembly plugins. Stateful tools keep state per session.",
        }))
    }

    fn discover(&self) -> Value {
        json!({
            "supportedVersions": era::ALL_VERSIONS,
            "capabilities": Self::capabilities(),
            "ttlMs": self.options.list_ttl_ms,
            "cacheScope": "public",
        })
    }
}

/// A result as JSON; a type that cannot be serialised is a host bug,
/// logged and answered as an internal error.
pub(super) fn to_json<T: serde::Serialize>(result: &T, what: &str) -> Result<Value, RpcError> {
    serde_json::to_value(result).map_err(|e| {
        tracing::error!(error = %e, what, "cannot serialise a result");
        RpcError::Internal
    })
}

/// Most resources one legacy session may subscribe to.
fn set_level(conn: &Connection, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let level = params
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
        .ok_or_else(|| {
            RpcError::InvalidParams(
                "level must be one of debug, info, notice, warning, error, critical, alert, emergency"
                    .to_owned(),
            )
        })?;
    conn.with_legacy(|s| {
        if let Some(s) = s {
            s.log_level = level;
            s.log_level_set = true;
        }
    });
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ContentBlock, ResultType};

    #[test]
    fn a_modern_tool_result_is_written_with_server_info_in_its_meta() {
        let mut result = CallToolResult::success(vec![ContentBlock::text("hi")]);
        result.result_type = Some(ResultType::COMPLETE);
        let written = WithServerInfo {
            result: &result,
            meta: ServerMeta {
                server_info: ServerInfo {
                    name: "berth",
                    version: "1.2.3",
                },
            },
        };
        let text = jsonrpc::result(&RequestId::Number(4), &written);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["result"],
            json!({
                "resultType": "complete",
                "content": [{"type": "text", "text": "hi"}],
                "isError": false,
                "_meta": {era::META_SERVER_INFO: {"name": "berth", "version": "1.2.3"}}
            })
        );
        assert_eq!(text.matches("_meta").count(), 1, "{text}");
    }
}
