//! `resources/list`, `resources/templates/list` and `resources/read`,
//! routed to the plugin that serves each URI.

use super::era::Era;
use super::error::RpcError;
use super::lists::{CacheScope, cache_hints, list_result, page};
use super::server::{Request, Server, to_json};
use crate::plugin::CallError;
use rmcp::model::{Resource, ResourceTemplate};
use serde_json::Value;
#[cfg(test)]
use serde_json::json;

impl Server {
    /// Every plugin's resources for this caller. A plugin that fails to
    /// list is left out (and logged); the others are still served.
    pub(super) async fn list_resources(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let registry = self.plugins.registry();
        let mut all: Vec<Resource> = Vec::new();
        for plugin in registry.resource_plugins() {
            let cx = Self::call_context(req, Self::connection_scope(req));
            match self.plugins.list_resources(plugin, cx).await {
                Ok(list) => all.extend(list),
                Err(e) => {
                    tracing::warn!(plugin = plugin.name(), error = ?e, "listing resources failed");
                }
            }
        }
        let range = page(&req.params, all.len(), self.options.page_size)?;
        // A plugin may list per caller (its state), so only the caller may
        // cache it.
        Ok(list_result(
            "resources",
            &all,
            range,
            req.cx.era,
            self.options.list_ttl_ms,
            CacheScope::Private,
        ))
    }

    pub(super) fn list_templates(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let registry = self.plugins.registry();
        let all: Vec<ResourceTemplate> = registry
            .plugins()
            .flat_map(|p| p.templates().iter().cloned())
            .collect();
        let range = page(&req.params, all.len(), self.options.page_size)?;
        Ok(list_result(
            "resourceTemplates",
            &all,
            range,
            req.cx.era,
            self.options.list_ttl_ms,
            CacheScope::Public,
        ))
    }

    pub(super) async fn read_resource(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let uri = req
            .params
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RpcError::InvalidParams("resources/read needs a string `uri`".to_owned())
            })?;
        let not_found = || RpcError::ResourceNotFound {
            uri: uri.to_owned(),
            legacy: req.cx.era == Era::Legacy,
        };
        let plugin = self
            .plugins
            .registry()
            .resource_owner(uri)
            .cloned()
            .ok_or_else(not_found)?;
        let cx = Self::call_context(req, Self::connection_scope(req));
        match self.plugins.read_resource(&plugin, uri, cx).await {
            Ok(mut result) => {
                if req.cx.era == Era::Legacy {
                    result.result_type = None;
                }
                let mut value = to_json(&result, "resource")?;
                if req.cx.era == Era::Modern
                    && let Some(obj) = value.as_object_mut()
                {
                    // Contents may change at any time: fresh on every read.
                    cache_hints(obj, 0, CacheScope::Private);
                }
                Ok(value)
            }
            Err(CallError::NotFound(_)) => Err(not_found()),
            Err(e) => Err(call_error(plugin.name(), "resources/read", e)),
        }
    }
}

/// A plugin's failure on a request that has no in-result error (prompts,
/// resources, completion) as a JSON-RPC error; traps are masked.
pub(super) fn call_error(plugin: &str, method: &str, e: CallError) -> RpcError {
    match e {
        CallError::InvalidParams(m) | CallError::NotFound(m) => RpcError::InvalidParams(m),
        CallError::Denied(m) => RpcError::InvalidRequest(format!("denied: {m}")),
        CallError::Failed(m) => RpcError::Failed(m),
        CallError::Cancelled => RpcError::Failed("cancelled".to_owned()),
        e @ CallError::Busy { .. } => RpcError::Failed(e.to_string()),
        CallError::Trap { detail } => {
            tracing::error!(plugin, method, %detail, "plugin trapped");
            RpcError::Internal
        }
        e @ (CallError::Deadline { .. } | CallError::Memory { .. } | CallError::Fuel { .. }) => {
            tracing::warn!(plugin, method, error = %e, "plugin call stopped at a limit");
            RpcError::Failed(format!("the plugin was stopped: {e}"))
        }
        e @ CallError::ResultTooLarge { .. } => {
            tracing::warn!(plugin, method, error = %e, "plugin result refused");
            RpcError::Failed(format!("the plugin's answer was refused: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_failures_map_to_clear_errors_and_traps_are_masked() {
        let e = call_error(
            "p",
            "m",
            CallError::Trap {
                detail: "secret".to_owned(),
            },
        );
        assert_eq!(e, RpcError::Internal);
        assert!(!e.to_wire().to_string().contains("secret"));
        assert_eq!(
            call_error("p", "m", CallError::NotFound("x".to_owned())).code(),
            -32602
        );
        assert_eq!(
            call_error("p", "m", CallError::Failed("boom".to_owned())).to_wire()["message"],
            json!("boom")
        );
    }
}
