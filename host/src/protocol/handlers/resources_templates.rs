//! `resources/templates/list`.

use super::super::error::RpcError;
use super::super::lists::{CacheScope, list_page};
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
    list_page(
        "resourceTemplates",
        &all,
        p,
        ctx.cx.era,
        &server.options,
        CacheScope::Public,
    )
}
