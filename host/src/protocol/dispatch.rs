//! The dispatcher: one classified message in, at most one response out.
//!
//! Decides the request's context once (the modern `_meta`, or the
//! connection's legacy session), registers it in flight, calls the one
//! handler of its method, and shapes the result for its era. Read this
//! file to follow any request; each handler is in `handlers/`.

use super::connection::{Connection, Outbound};
use super::era::{self, Era, RequestCx};
use super::error::RpcError;
use super::handlers::{self, Ctx, Output};
use super::jsonrpc;
use super::request::{Message, Method, Notification, Request};
use super::server::{Reply, Server, ServerOptions};
use super::spans;
use crate::session::TransportKind;
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

impl Server {
    /// Handles one incoming message as text and returns the response to
    /// send, if any. Notifications and progress for the request go to
    /// `out` first.
    pub async fn handle(
        &self,
        conn: &Arc<Connection>,
        text: &str,
        out: &Outbound,
    ) -> Option<String> {
        match Message::parse(text) {
            Err(rejected) => Some(jsonrpc::error(rejected.id.as_ref(), &rejected.error)),
            Ok(message) => self
                .handle_message(conn, message, out)
                .await
                .map(|r| r.body),
        }
    }

    /// Handles one classified message (transports that look at it first,
    /// like HTTP, parse once and call this).
    pub async fn handle_message(
        &self,
        conn: &Arc<Connection>,
        message: Message,
        out: &Outbound,
    ) -> Option<Reply> {
        match message {
            Message::Response { id, outcome } => {
                match id {
                    Some(id) if conn.answer(&id, outcome) => {}
                    id => tracing::debug!(?id, "ignoring a response to no request of ours"),
                }
                None
            }
            Message::Notification(notification) => {
                self.notification(conn, notification);
                None
            }
            Message::Request(request) => {
                let span = spans::request_span(conn, &request);
                let opens = request.opens_session();
                let reply = self
                    .request(conn, request, out)
                    .instrument(span.clone())
                    .await;
                spans::record_opened(&span, conn, opens);
                reply
            }
        }
    }

    fn notification(&self, conn: &Connection, notification: Notification) {
        match notification {
            Notification::Initialized => {
                if let Some(id) = conn.session_id() {
                    self.sessions.initialized(&id);
                }
            }
            Notification::Cancelled { request, reason } => match request {
                Some(id) if conn.cancel(&id) => {
                    tracing::info!(?id, ?reason, "request cancelled");
                }
                id => tracing::debug!(?id, "cancellation for no request in flight"),
            },
            Notification::Other(method) => tracing::debug!(method, "ignoring notification"),
        }
    }

    /// A request, from its registration in flight to its response.
    async fn request(
        &self,
        conn: &Arc<Connection>,
        request: Box<Request>,
        out: &Outbound,
    ) -> Option<Reply> {
        let id = request.id.clone();
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
        // Checked once registered: a session ending from now on cancels
        // this request, and one that ended before is seen.
        if conn.has_ended() {
            return Some(Reply::error(&id, &RpcError::SessionEnded));
        }
        let result = self.dispatch(conn, request, out, flight.token()).await;
        // The session is idle from the end of its last request, not its
        // start (and it does not expire while one runs).
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
            Ok(Output::Value(value)) => Reply::result(jsonrpc::result(&id, &value)),
            Ok(Output::Tool {
                result,
                server_info,
            }) => Reply::result(if server_info {
                jsonrpc::result(&id, &with_server_info(&self.options, &result))
            } else {
                jsonrpc::result(&id, &*result)
            }),
            Err(e) => Reply::error(&id, &e),
        })
    }

    /// The request's context, then its method's handler.
    async fn dispatch(
        &self,
        conn: &Arc<Connection>,
        request: Box<Request>,
        out: &Outbound,
        cancel: &CancellationToken,
    ) -> Result<Output, RpcError> {
        let Request {
            id,
            meta,
            method,
            modern,
        } = *request;
        // `initialize` belongs to the legacy era; a request that describes
        // itself as 2026-07-28 is modern, and there it does not exist.
        let method = match method {
            Method::Initialize(params) if !meta.is_modern() => {
                return handlers::initialize::run(self, conn, params?).map(Output::Value);
            }
            other => other,
        };
        let cx = if let Some(cx) = modern {
            cx?
        } else if let Some((protocol_version, log_level, client)) = conn.legacy_cx() {
            RequestCx {
                era: Era::Legacy,
                protocol_version,
                log_level: Some(log_level),
                progress_token: meta.progress_token,
                client,
            }
        } else if matches!(method, Method::Ping) {
            return Ok(Output::Value(json!({})));
        } else {
            return Err(RpcError::InvalidRequest(format!(
                "no session: send initialize first, or describe the request in _meta (\"{}\": \"{}\")",
                era::META_PROTOCOL_VERSION,
                era::MODERN_VERSIONS[0]
            )));
        };
        let era = cx.era;
        let ctx = Ctx {
            id: &id,
            conn,
            cx,
            out,
            cancel,
        };
        use handlers as h;
        let mut result = match (era, method) {
            // `ping` was removed in 2026-07-28.
            (Era::Legacy, Method::Ping) => json!({}),
            (Era::Modern, Method::Discover) => h::server_discover::run(self),
            (_, Method::ListTools(p)) => h::tools_list::run(self, &ctx, &p?)?,
            // Shaped for its era by the handler.
            (_, Method::CallTool(p)) => return h::tools_call::run(self, &ctx, p?).await,
            (_, Method::ListResources(p)) => h::resources_list::run(self, &ctx, &p?).await?,
            (_, Method::ListTemplates(p)) => h::resources_templates::run(self, &ctx, &p?)?,
            (_, Method::ReadResource(p)) => h::resources_read::run(self, &ctx, &p?).await?,
            (Era::Legacy, Method::Subscribe(p)) => h::resources_subscribe::run(conn, &p?, true)?,
            (Era::Legacy, Method::Unsubscribe(p)) => h::resources_subscribe::run(conn, &p?, false)?,
            (_, Method::ListPrompts(p)) => h::prompts_list::run(self, &ctx, &p?)?,
            (_, Method::GetPrompt(p)) => h::prompts_get::run(self, &ctx, p?).await?,
            (_, Method::Complete(p)) => h::completion_complete::run(self, &ctx, p?).await?,
            (Era::Modern, Method::Listen(p)) => {
                h::subscriptions_listen::run(self, &ctx, p?).await?
            }
            (Era::Legacy, Method::SetLevel(p)) => h::logging_set_level::run(conn, p?),
            (_, other) => return Err(RpcError::MethodNotFound(other.name().to_owned())),
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

/// A modern tool result with the server's name and version in its
/// `_meta`.
fn with_server_info<'a>(
    options: &'a ServerOptions,
    result: &'a CallToolResult,
) -> WithServerInfo<'a> {
    WithServerInfo {
        result,
        meta: ServerMeta {
            server_info: ServerInfo {
                name: &options.name,
                version: &options.version,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ContentBlock, ResultType};
    use serde_json::Value;

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
        let text = jsonrpc::result(&super::super::jsonrpc::RequestId::Number(4), &written);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["result"],
            json!({
                "resultType": "complete",
                "content": [{"type": "text", "text": "hi"}],
                "isError": false,
                "_meta": {super::super::era::META_SERVER_INFO: {"name": "berth", "version": "1.2.3"}}
            })
        );
        assert_eq!(text.matches("_meta").count(), 1, "{text}");
    }
}
