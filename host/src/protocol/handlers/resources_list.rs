//! `resources/list`: every plugin's static and listed resources (a
//! plugin that fails to list is logged and skipped).

use super::super::error::RpcError;
use super::super::lists::{CacheScope, list_page};
use super::super::params::ListParams;
use super::super::server::Server;
use super::Ctx;
use rmcp::model::Resource;
use serde_json::Value;

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: &ListParams,
) -> Result<Value, RpcError> {
    let registry = server.plugins.registry();
    let mut all: Vec<Resource> = Vec::new();
    for plugin in registry.resource_plugins() {
        let cx = ctx.call_context(ctx.connection_scope());
        match server.plugins.list_resources(plugin, cx).await {
            Ok(list) => all.extend(list),
            Err(e) => {
                tracing::warn!(plugin = plugin.name(), error = ?e, "listing resources failed");
            }
        }
    }
    list_page(
        "resources",
        &all,
        p,
        ctx.cx.era,
        &server.options,
        CacheScope::Private,
    )
}
