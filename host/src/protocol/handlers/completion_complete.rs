//! `completion/complete`: the plugin that owns the prompt or resource
//! template suggests values.

use super::super::error::RpcError;
use super::super::params::{CompleteParams, CompletionTarget};
use super::super::server::Server;
use super::{Ctx, call_error};
use crate::plugin::CompletionRef;
use serde_json::{Value, json};

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: CompleteParams,
) -> Result<Value, RpcError> {
    let (plugin, target) = {
        let registry = server.plugins.registry();
        match p.target {
            CompletionTarget::Prompt(name) => {
                let entry = registry
                    .prompt(&name)
                    .ok_or_else(|| RpcError::InvalidParams(format!("Unknown prompt: {name}")))?;
                (
                    entry.plugin.clone(),
                    CompletionRef::Prompt(entry.info.name.clone()),
                )
            }
            CompletionTarget::Resource(uri) => {
                let plugin = registry.template_owner(&uri).ok_or_else(|| {
                    RpcError::InvalidParams(format!("No resource template {uri}"))
                })?;
                (plugin.clone(), CompletionRef::Template(uri))
            }
        }
    };
    let cx = ctx.call_context(ctx.connection_scope());
    let completion = server
        .plugins
        .complete(&plugin, &target, &p.argument, &p.value, &p.context, cx)
        .await
        .map_err(|e| call_error(plugin.name(), "completion/complete", e))?;
    Ok(json!({ "completion": completion }))
}
