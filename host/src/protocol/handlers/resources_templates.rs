//! `resources/templates/list`.

use super::super::error::RpcError;
use super::super::lists::{CacheScope, list_result};
use super::super::params::ListParams;
use super::super::server::Server;
use super::Ctx;
use rmcp::model::ResourceTemplate;
use serde_json::Value;

pub(in super::super) fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: &ListParams,
) -> Result<Value, RpcError> {
    let registry = server.plugins.registry();
    let all: Vec<ResourceTemplate> = registry
        .plugins()
        .flat_map(|p| p.templates().iter().cloned())
        .collect();
    let range = p.page(all.len(), server.options.page_size)?;
    Ok(list_result(
        "resourceTemplates",
        &all,
        range,
        ctx.cx.era,
        server.options.list_ttl_ms,
        CacheScope::Public,
    ))
}
