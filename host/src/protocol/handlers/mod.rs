//! One handler per MCP method, each in its own file, called by
//! [`super::dispatch`] with the request's context and typed params.
//!
//! Handlers never see the era's wire differences beyond what [`Ctx`]
//! carries; the dispatcher shapes results for their era. They must not
//! import `transport`.

pub(super) mod completion_complete;
pub(super) mod initialize;
pub(super) mod logging_set_level;
pub(super) mod prompts_get;
pub(super) mod prompts_list;
pub(super) mod resources_list;
pub(super) mod resources_read;
pub(super) mod resources_subscribe;
pub(super) mod resources_templates;
pub(super) mod server_discover;
pub(super) mod subscriptions_listen;
pub(super) mod tools_call;
pub(super) mod tools_list;

use super::connection::{Connection, Outbound};
use super::era::{Era, RequestCx};
use super::error::RpcError;
use super::events::RequestEvents;
use super::jsonrpc::RequestId;
use crate::kv::{ScopeId, ScopeKey};
use crate::plugin::{CallContext, CallError, CallScopes};
use rmcp::model::CallToolResult;
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a handler knows of the request it serves, in either era.
pub(super) struct Ctx<'a> {
    /// The request's id.
    pub id: &'a RequestId,
    /// The connection it came on.
    pub conn: &'a Arc<Connection>,
    /// Its era, version, log level, progress token and client features.
    pub cx: RequestCx,
    /// Where its notifications go.
    pub out: &'a Outbound,
    /// Cancelled when the client or the server stops it.
    pub cancel: &'a CancellationToken,
}

impl Ctx<'_> {
    /// What a plugin call of this request may reach: the caller, its
    /// scopes, where its logs and progress go, what the client can be
    /// asked.
    pub(super) fn call_context(&self, session: Option<ScopeKey>) -> CallContext {
        let principal = self.conn.principal().clone();
        let user = ScopeKey {
            tenant: principal.tenant.clone(),
            scope: ScopeId::User(principal.subject.clone()),
        };
        let events = Arc::new(RequestEvents {
            out: self.out.clone(),
            log_level: self.cx.log_level,
            progress_token: self.cx.progress_token.clone(),
        });
        CallContext {
            principal,
            scopes: CallScopes { session, user },
            events,
            cancel: self.cancel.clone(),
            client: self.cx.client,
        }
    }

    /// The session scope of a request that takes no handle: the legacy
    /// session's, if any.
    pub(super) fn connection_scope(&self) -> Option<ScopeKey> {
        match self.cx.era {
            Era::Legacy => self.conn.legacy_scope(),
            Era::Modern => None,
        }
    }

    /// Whether the request is legacy.
    pub(super) fn is_legacy(&self) -> bool {
        self.cx.era == Era::Legacy
    }
}

/// What a handler answers with.
pub(super) enum Output {
    /// A JSON value; the dispatcher adds what its era requires.
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

/// A result as JSON; a type that cannot be serialised is a host bug,
/// logged and answered as an internal error.
pub(super) fn to_json<T: serde::Serialize>(result: &T, what: &str) -> Result<Value, RpcError> {
    serde_json::to_value(result).map_err(|e| {
        tracing::error!(error = %e, what, "cannot serialise a result");
        RpcError::Internal
    })
}

/// A failed plugin call of a method other than `tools/call` (whose
/// failures are tool errors the model sees) as the JSON-RPC error the
/// client gets; traps are masked.
pub(super) fn call_error(plugin: &str, method: &str, e: CallError) -> RpcError {
    match e {
        CallError::InvalidParams(m) | CallError::NotFound(m) => RpcError::InvalidParams(m),
        CallError::Denied(m) => RpcError::InvalidRequest(format!("denied: {m}")),
        CallError::Failed(m) => RpcError::Failed(m),
        CallError::Cancelled => RpcError::Failed("cancelled".to_owned()),
        e @ CallError::Busy { .. } => RpcError::Failed(e.to_string()),
        CallError::Trap { detail } => {
            tracing::error!(plugin, method, %detail, "plugin trapped");
            RpcError::Internal
        }
        e @ (CallError::Deadline { .. } | CallError::Memory { .. } | CallError::Fuel { .. }) => {
            tracing::warn!(plugin, method, error = %e, "plugin call stopped at a limit");
            RpcError::Failed(format!("the plugin was stopped: {e}"))
        }
        e @ CallError::ResultTooLarge { .. } => {
            tracing::warn!(plugin, method, error = %e, "plugin result refused");
            RpcError::Failed(format!("the plugin's answer was refused: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plugin_failures_map_to_clear_errors_and_traps_are_masked() {
        let e = call_error(
            "p",
            "m",
            CallError::Trap {
                detail: "secret".to_owned(),
            },
        );
        assert_eq!(e, RpcError::Internal);
        assert!(!e.to_wire().to_string().contains("secret"));
        assert_eq!(
            call_error("p", "m", CallError::NotFound("x".to_owned())).code(),
            -32602
        );
        assert_eq!(
            call_error("p", "m", CallError::Failed("boom".to_owned())).to_wire()["message"],
            json!("boom")
        );
    }
}
