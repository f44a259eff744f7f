//! `tools/list` and `tools/call`, including the built-in session tools and
//! the `session` argument the host adds to stateful tools (DESIGN.md §4).

use super::era::{self, Era};
use super::error::RpcError;
use super::input::{Asked, Binding};
use super::lists::{CacheScope, list_result, page};
use super::metrics::Outcome;
use super::server::{Output, Request, Server};
use crate::kv::ScopeKey;
use crate::plugin::{self, CallError, ToolEntry};
use crate::session::HandleError;
use rmcp::model::{CallToolResult, ContentBlock, ResultType, Tool};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Opens a modern session handle.
pub const SESSION_OPEN: &str = "berth_session_open";
/// Closes a modern session handle.
pub const SESSION_CLOSE: &str = "berth_session_close";
/// The argument the host adds to stateful tools.
pub const SESSION_ARG: &str = "session";

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The listed form of a plugin tool.
fn listed(entry: &ToolEntry) -> Tool {
    let info = &entry.info;
    let mut schema = info.input_schema.clone();
    if info.stateful {
        let props = schema.entry("properties").or_insert_with(|| json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert(
                SESSION_ARG.to_owned(),
                json!({
                    "type": "string",
                    "description": format!(
                        "Session handle from {SESSION_OPEN}. Required unless the connection itself is a session (legacy initialize)."
                    ),
                }),
            );
        }
    }
    let mut tool = Tool::new(entry.name.to_string(), info.description.clone(), schema);
    tool.title = info.title.clone();
    tool.output_schema = info.output_schema.clone().map(Arc::new);
    tool.annotations = info.annotations.clone();
    tool.icons = (!info.icons.is_empty()).then(|| info.icons.clone());
    tool
}

fn builtins(ttl_minutes: u64) -> [Tool; 2] {
    let mut open = Tool::new(
        SESSION_OPEN,
        format!(
            "Opens a session for stateful tools and returns its handle. Pass the handle as `{SESSION_ARG}` to those tools. A session expires after {ttl_minutes} minutes without use; close it when done."
        ),
        object(json!({"type": "object", "properties": {}, "additionalProperties": false})),
    );
    open.output_schema = Some(Arc::new(object(json!({
        "type": "object",
        "properties": {
            "session": {"type": "string"},
            "idleTtlSeconds": {"type": "integer"}
        },
        "required": ["session", "idleTtlSeconds"]
    }))));
    let close = Tool::new(
        SESSION_CLOSE,
        "Closes a session opened with berth_session_open and deletes its state.",
        object(json!({
            "type": "object",
            "properties": {"session": {"type": "string", "description": "The handle to close."}},
            "required": ["session"],
            "additionalProperties": false
        })),
    );
    [open, close]
}

/// A successful result of a tool with an output schema must carry
/// structured content that fits it; anything else is the plugin's fault.
fn check_output(entry: &ToolEntry, result: CallToolResult) -> Result<CallToolResult, CallError> {
    if result.is_error == Some(true) || entry.info.output_schema.is_none() {
        return Ok(result);
    }
    let errors = match &result.structured_content {
        Some(structured) => entry.info.output_errors(structured),
        None => vec!["no structured content".to_owned()],
    };
    if errors.is_empty() {
        return Ok(result);
    }
    tracing::warn!(
        plugin = entry.plugin.name(),
        tool = &*entry.name,
        errors = %errors.join("; "),
        "structured result does not match the output schema"
    );
    Err(CallError::Failed(format!(
        "Tool {} returned a result that does not match its output schema.",
        entry.name
    )))
}

fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

impl Server {
    /// How many tools `tools/list` shows: the plugins' tools, and the
    /// built-in session tools when any of them is stateful.
    pub fn listed_tool_count(&self) -> usize {
        let registry = self.plugins.registry();
        let builtin = if registry.tools().any(|e| e.info.stateful) {
            builtins(0).len()
        } else {
            0
        };
        registry.tool_count() + builtin
    }

    pub(super) fn list_tools(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let registry = self.plugins.registry();
        let stateful = registry.tools().any(|e| e.info.stateful);
        let ttl_minutes = self.handles.limits().ttl.as_secs().div_ceil(60);
        let all: Vec<Tool> = registry
            .tools()
            .map(listed)
            .chain(
                stateful
                    .then(|| builtins(ttl_minutes))
                    .into_iter()
                    .flatten(),
            )
            .collect();
        let range = page(&req.params, all.len(), self.options.page_size)?;
        Ok(list_result(
            "tools",
            &all,
            range,
            req.cx.era,
            self.options.list_ttl_ms,
            CacheScope::Public,
        ))
    }

    pub(super) async fn call_tool(&self, mut req: Request<'_>) -> Result<Output, RpcError> {
        let name = req
            .params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::InvalidParams("tools/call needs a string `name`".to_owned()))?
            .to_owned();
        let mut arguments = match req.params.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(RpcError::InvalidParams(
                    "`arguments` must be an object".to_owned(),
                ));
            }
        };
        let principal = req.conn.principal();
        let mut result = match name.as_str() {
            SESSION_OPEN => match self.handles.open(principal).await {
                Ok(info) => {
                    let structured = json!({
                        "session": info.handle,
                        "idleTtlSeconds": info.ttl.as_secs(),
                    });
                    let mut r = CallToolResult::success(vec![ContentBlock::text(format!(
                        "Session opened: {}. Pass it as `{SESSION_ARG}` to stateful tools. It expires after {} seconds without use.",
                        info.handle,
                        info.ttl.as_secs()
                    ))]);
                    r.structured_content = Some(structured);
                    r
                }
                Err(HandleError::Randomness(e)) => {
                    tracing::error!(error = %e, "cannot make a session handle");
                    return Err(RpcError::Internal);
                }
                Err(e) => tool_error(format!(
                    "Cannot open a session: {e}. Close sessions you no longer need."
                )),
            },
            SESSION_CLOSE => match arguments.get(SESSION_ARG).and_then(Value::as_str) {
                Some(handle) if self.handles.close(handle, principal).await => {
                    CallToolResult::success(vec![ContentBlock::text("Session closed.")])
                }
                Some(_) => tool_error("Unknown or expired session handle."),
                None => tool_error(format!("`{SESSION_ARG}` must be the handle to close.")),
            },
            _ => {
                let entry = self
                    .plugins
                    .with_registry(|registry| registry.tool(&name).cloned())
                    .ok_or_else(|| RpcError::InvalidParams(format!("Unknown tool: {name}")))?;
                match self.session_scope(&req, &entry, &mut arguments) {
                    Ok(session) => {
                        let arguments = Value::Object(arguments);
                        // Arguments that do not fit the schema never reach
                        // the plugin; the model gets what to fix.
                        let errors = entry.info.input_errors(&arguments);
                        if errors.is_empty() {
                            let bind = Binding {
                                method: "tools/call",
                                name: &name,
                                arguments: &arguments,
                            };
                            let text = arguments.to_string();
                            let outcome = self
                                .with_input(&req, bind, |input| {
                                    self.run_plugin(&req, &entry, &text, session.clone(), input)
                                })
                                .await?;
                            match outcome {
                                Ok(Asked::Done(result)) => result,
                                Ok(Asked::Required(value)) => return Ok(Output::Value(value)),
                                Err(e) => Self::tool_failure(&entry, e),
                            }
                        } else {
                            self.metrics.count_outcome(
                                &entry.plugin.name,
                                &entry.name,
                                Outcome::ToolError,
                            );
                            tool_error(format!(
                                "Invalid arguments for {}: {}",
                                entry.name,
                                errors.join("; ")
                            ))
                        }
                    }
                    Err(message) => tool_error(message),
                }
            }
        };
        // What `Server::request` adds to other modern results.
        let server_info = match req.cx.era {
            Era::Legacy => {
                result.result_type = None;
                false
            }
            Era::Modern => {
                result.result_type.get_or_insert(ResultType::COMPLETE);
                match &mut result.meta {
                    // Written next to the result, with no map built.
                    None => true,
                    Some(meta) => {
                        meta.0
                            .insert(era::META_SERVER_INFO.to_owned(), self.server_info());
                        false
                    }
                }
            }
        };
        Ok(Output::Tool {
            result: Box::new(result),
            server_info,
        })
    }

    /// The session scope of a call: a handle argument (stateful tools),
    /// else the connection's legacy session. A stateful tool without either
    /// is refused with a message the model can act on.
    fn session_scope(
        &self,
        req: &Request<'_>,
        entry: &ToolEntry,
        arguments: &mut Map<String, Value>,
    ) -> Result<Option<ScopeKey>, String> {
        if entry.info.stateful {
            match arguments.remove(SESSION_ARG) {
                Some(Value::String(handle)) => {
                    return self
                        .handles
                        .resolve(&handle, req.conn.principal())
                        .map(Some)
                        .map_err(|e| match e {
                            HandleError::Unknown => format!(
                                "Unknown or expired session handle. Open a new one with {SESSION_OPEN}."
                            ),
                            other => other.to_string(),
                        });
                }
                Some(_) => return Err(format!("`{SESSION_ARG}` must be a string handle.")),
                None => {}
            }
        }
        match Self::connection_scope(req) {
            Some(scope) => Ok(Some(scope)),
            _ if entry.info.stateful => Err(format!(
                "{} keeps state between calls: call {SESSION_OPEN} first and pass its handle as `{SESSION_ARG}`.",
                entry.name
            )),
            _ => Ok(None),
        }
    }

    async fn run_plugin(
        &self,
        req: &Request<'_>,
        entry: &ToolEntry,
        arguments: &str,
        session: Option<ScopeKey>,
        input: Option<plugin::InputAnswers>,
    ) -> Result<plugin::Outcome<CallToolResult>, CallError> {
        let started = Instant::now();
        let outcome = self
            .plugins
            .call_tool(entry, arguments, input, Self::call_context(req, session))
            .await
            .and_then(|outcome| match outcome {
                plugin::Outcome::Done(result) => {
                    check_output(entry, result).map(plugin::Outcome::Done)
                }
                asked @ plugin::Outcome::Input(_) => Ok(asked),
            });
        let label = match &outcome {
            // However the plugin ended, the client had given up on it.
            _ if req.cancel.is_cancelled() => Outcome::Cancelled,
            Ok(plugin::Outcome::Done(r)) if r.is_error == Some(true) => Outcome::ToolError,
            Ok(_) => Outcome::Ok,
            Err(CallError::Deadline { .. }) => Outcome::Deadline,
            Err(CallError::Memory { .. }) => Outcome::Memory,
            Err(CallError::Fuel { .. }) => Outcome::Cpu,
            Err(CallError::Trap { .. }) => Outcome::Trap,
            Err(CallError::Cancelled) => Outcome::Cancelled,
            Err(CallError::Busy { .. }) => Outcome::Busy,
            Err(_) => Outcome::ToolError,
        };
        self.metrics
            .record(&entry.plugin.name, &entry.name, label, started.elapsed());
        outcome
    }

    /// A failed call as the tool error the model sees; traps are masked.
    fn tool_failure(entry: &ToolEntry, e: CallError) -> CallToolResult {
        let plugin = entry.plugin.name();
        let tool = &*entry.name;
        match &e {
            CallError::Trap { detail } => {
                tracing::error!(plugin, tool, %detail, "plugin trapped");
            }
            CallError::Deadline { .. }
            | CallError::Memory { .. }
            | CallError::Fuel { .. }
            | CallError::ResultTooLarge { .. } => {
                tracing::warn!(plugin, tool, error = %e, "plugin call stopped at a limit");
            }
            _ => tracing::debug!(plugin, tool, error = %e, "plugin call failed"),
        }
        let message = match e {
            CallError::InvalidParams(m) => format!("Invalid arguments: {m}"),
            CallError::Trap { .. } => format!("Internal error in tool {tool}."),
            CallError::Deadline { .. } | CallError::Memory { .. } | CallError::Fuel { .. } => {
                format!("Tool {tool} was stopped: {e}.")
            }
            CallError::ResultTooLarge { .. } => format!("Tool {tool} failed: {e}."),
            CallError::Busy { .. } => format!("Tool {tool} was not run: {e}."),
            other => other.to_string(),
        };
        tool_error(message)
    }
}
