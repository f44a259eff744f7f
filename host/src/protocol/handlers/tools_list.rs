//! `tools/list`: the plugins' tools, and the built-in session tools when
//! any of them is stateful.

use super::super::error::RpcError;
use super::super::lists::{CacheScope, list_page};
use super::super::params::ListParams;
use super::super::server::Server;
use super::super::tools::{builtins, listed};
use super::Ctx;
use rmcp::model::Tool;
use serde_json::Value;

pub(in super::super) fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: &ListParams,
) -> Result<Value, RpcError> {
    let registry = server.plugins.registry();
    let stateful = registry.tools().any(|e| e.info.stateful);
    let ttl_minutes = server.handles.limits().ttl.as_secs().div_ceil(60);
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
    list_page(
        "tools",
        &all,
        p,
        ctx.cx.era,
        &server.options,
        CacheScope::Public,
    )
}
