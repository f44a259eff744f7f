//! Tools as clients see them: the listed form of a plugin tool (with the
//! `session` argument the host adds to stateful tools, DESIGN.md §4), the
//! built-in session tools, and the check of a structured result.

use super::server::Server;
use crate::plugin::ToolEntry;
use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::{Map, Value, json};
use std::sync::Arc;

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
pub(super) fn listed(entry: &ToolEntry) -> Tool {
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

pub(super) fn builtins(ttl_minutes: u64) -> [Tool; 2] {
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

/// A tool error the model sees.
pub(super) fn tool_error(message: impl Into<String>) -> CallToolResult {
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
}
