//! `prompts/list`.

use super::super::error::RpcError;
use super::super::lists::{CacheScope, list_result};
use super::super::params::ListParams;
use super::super::server::Server;
use super::Ctx;
use rmcp::model::Prompt;
use serde_json::Value;

pub(in super::super) fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: &ListParams,
) -> Result<Value, RpcError> {
    let registry = server.plugins.registry();
    let all: Vec<Prompt> = registry.prompts().map(|p| p.listed()).collect();
    let range = p.page(all.len(), server.options.page_size)?;
    Ok(list_result(
        "prompts",
        &all,
        range,
        ctx.cx.era,
        server.options.list_ttl_ms,
        CacheScope::Public,
    ))
}
