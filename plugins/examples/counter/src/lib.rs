//! `counter`: counts calls per session, in session-scoped state.
//!
//! Each session (a legacy connection, or a modern handle from
//! `berth_session_open`) starts at zero.

use berth_plugin::prelude::*;

/// No arguments.
#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

fn increment(_: NoArgs) -> ToolResult {
    let count = kv::get::<u64>(Scope::Session, "count")?.unwrap_or(0) + 1;
    kv::set(Scope::Session, "count", &count)?;
    Ok(text(count.to_string()))
}

fn get(_: NoArgs) -> ToolResult {
    let count = kv::get::<u64>(Scope::Session, "count")?.unwrap_or(0);
    Ok(text(count.to_string()))
}

fn reset(_: NoArgs) -> ToolResult {
    kv::delete(Scope::Session, "count")?;
    Ok(text("0"))
}

berth_plugin::tools![
    tool(
        "increment",
        "Adds one to this session's counter and returns it",
        increment
    )
    .stateful(),
    tool("get", "Returns this session's counter", get)
        .stateful()
        .read_only(),
    tool("reset", "Sets this session's counter back to zero", reset).stateful(),
];
