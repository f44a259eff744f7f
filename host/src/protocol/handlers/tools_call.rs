//! `tools/call`: the built-in session tools, or a plugin tool run in a
//! fresh sandbox with its session scope resolved, its arguments checked
//! against its schema, and its questions to the client asked in the
//! request's era. A tool's failure is a tool error the model sees.

use super::super::era;
use super::super::error::RpcError;
use super::super::input::{Asked, Binding};
use super::super::metrics::Outcome;
use super::super::params::CallToolParams;
use super::super::server::Server;
use super::super::tools::{SESSION_ARG, SESSION_CLOSE, SESSION_OPEN, tool_error};
use super::{Ctx, Output};
use crate::kv::ScopeKey;
use crate::plugin::{self, CallError, ToolEntry};
use crate::session::HandleError;
use rmcp::model::{CallToolResult, ContentBlock, ResultType};
use serde_json::{Map, Value, json};
use std::time::Instant;

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: CallToolParams,
) -> Result<Output, RpcError> {
    let CallToolParams {
        name,
        mut arguments,
        retry,
    } = p;
    let principal = ctx.conn.principal();
    let mut result = match name.as_str() {
        SESSION_OPEN => match server.handles.open(principal).await {
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
            Some(handle) if server.handles.close(handle, principal).await => {
                CallToolResult::success(vec![ContentBlock::text("Session closed.")])
            }
            Some(_) => tool_error("Unknown or expired session handle."),
            None => tool_error(format!("`{SESSION_ARG}` must be the handle to close.")),
        },
        _ => {
            let entry = server
                .plugins
                .with_registry(|registry| registry.tool(&name).cloned())
                .ok_or_else(|| RpcError::InvalidParams(format!("Unknown tool: {name}")))?;
            match session_scope(server, ctx, &entry, &mut arguments) {
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
                        let outcome = server
                            .with_input(ctx, retry, bind, |input| {
                                run_plugin(server, ctx, &entry, &text, session.clone(), input)
                            })
                            .await?;
                        match outcome {
                            Ok(Asked::Done(result)) => result,
                            Ok(Asked::Required(value)) => return Ok(Output::Value(value)),
                            Err(e) => tool_failure(&entry, e),
                        }
                    } else {
                        server.metrics.count_outcome(
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
    // What the dispatcher adds to other modern results.
    let server_info = if ctx.is_legacy() {
        result.result_type = None;
        false
    } else {
        result.result_type.get_or_insert(ResultType::COMPLETE);
        match &mut result.meta {
            // Written next to the result, with no map built.
            None => true,
            Some(meta) => {
                meta.0
                    .insert(era::META_SERVER_INFO.to_owned(), server.server_info());
                false
            }
        }
    };
    Ok(Output::Tool {
        result: Box::new(result),
        server_info,
    })
}

/// The session scope of a call: a handle argument (stateful tools), else
/// the connection's legacy session. A stateful tool without either is
/// refused with a message the model can act on.
fn session_scope(
    server: &Server,
    ctx: &Ctx<'_>,
    entry: &ToolEntry,
    arguments: &mut Map<String, Value>,
) -> Result<Option<ScopeKey>, String> {
    if entry.info.stateful {
        match arguments.remove(SESSION_ARG) {
            Some(Value::String(handle)) => {
                return server
                    .handles
                    .resolve(&handle, ctx.conn.principal())
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
    match ctx.connection_scope() {
        Some(scope) => Ok(Some(scope)),
        _ if entry.info.stateful => Err(format!(
            "{} keeps state between calls: call {SESSION_OPEN} first and pass its handle as `{SESSION_ARG}`.",
            entry.name
        )),
        _ => Ok(None),
    }
}

async fn run_plugin(
    server: &Server,
    ctx: &Ctx<'_>,
    entry: &ToolEntry,
    arguments: &str,
    session: Option<ScopeKey>,
    input: Option<plugin::InputAnswers>,
) -> Result<plugin::Outcome<CallToolResult>, CallError> {
    let started = Instant::now();
    let outcome = server
        .plugins
        .call_tool(entry, arguments, input, ctx.call_context(session))
        .await
        .and_then(|outcome| match outcome {
            plugin::Outcome::Done(result) => check_output(entry, result).map(plugin::Outcome::Done),
            asked @ plugin::Outcome::Input(_) => Ok(asked),
        });
    let label = match &outcome {
        // However the plugin ended, the client had given up on it.
        _ if ctx.cancel.is_cancelled() => Outcome::Cancelled,
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
    server
        .metrics
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
