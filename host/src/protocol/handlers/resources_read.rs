//! `resources/read`: the plugin that owns the URI reads it.

use super::super::error::RpcError;
use super::super::lists::{CacheScope, cache_hints};
use super::super::params::ReadParams;
use super::super::server::Server;
use super::{Ctx, call_error, to_json};
use crate::plugin::CallError;
use serde_json::Value;

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: &ReadParams,
) -> Result<Value, RpcError> {
    let uri = p.uri.as_str();
    let not_found = || RpcError::ResourceNotFound {
        uri: uri.to_owned(),
        legacy: ctx.is_legacy(),
    };
    let plugin = server
        .plugins
        .registry()
        .resource_owner(uri)
        .cloned()
        .ok_or_else(not_found)?;
    let cx = ctx.call_context(ctx.connection_scope());
    match server.plugins.read_resource(&plugin, uri, cx).await {
        Ok(mut result) => {
            if ctx.is_legacy() {
                result.result_type = None;
            }
            let mut value = to_json(&result, "resource")?;
            if !ctx.is_legacy()
                && let Some(obj) = value.as_object_mut()
            {
                cache_hints(obj, 0, CacheScope::Private);
            }
            Ok(value)
        }
        Err(CallError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(call_error(plugin.name(), "resources/read", e)),
    }
}
