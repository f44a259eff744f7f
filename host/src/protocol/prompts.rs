//! `prompts/list`, `prompts/get` and `completion/complete`, routed to the
//! plugin that owns the prompt or resource template.

use super::era::Era;
use super::error::RpcError;
use super::input::{Asked, Binding};
use super::lists::{CacheScope, list_result, page};
use super::resources::call_error;
use super::server::{Request, Server, to_json};
use crate::plugin::CompletionRef;
use rmcp::model::Prompt;
use serde_json::{Map, Value, json};

/// Most context arguments passed to a completion.
const MAX_CONTEXT_ARGUMENTS: usize = 64;

/// Name/value pairs from a JSON object of strings.
fn string_pairs(v: Option<&Value>, what: &str) -> Result<Vec<(String, String)>, RpcError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(RpcError::InvalidParams(format!(
                    "{what}.{k} must be a string"
                ))),
            })
            .collect(),
        Some(_) => Err(RpcError::InvalidParams(format!(
            "{what} must be an object of strings"
        ))),
    }
}

impl Server {
    pub(super) fn list_prompts(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let registry = self.plugins.registry();
        let all: Vec<Prompt> = registry.prompts().map(|p| p.listed()).collect();
        let range = page(&req.params, all.len(), self.options.page_size)?;
        Ok(list_result(
            "prompts",
            &all,
            range,
            req.cx.era,
            self.options.list_ttl_ms,
            CacheScope::Public,
        ))
    }

    pub(super) async fn get_prompt(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let name = req
            .params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RpcError::InvalidParams("prompts/get needs a string `name`".to_owned())
            })?;
        let arguments = string_pairs(req.params.get("arguments"), "arguments")?;
        let entry = self
            .plugins
            .registry()
            .prompt(name)
            .cloned()
            .ok_or_else(|| RpcError::InvalidParams(format!("Unknown prompt: {name}")))?;
        let bind = Binding {
            method: "prompts/get",
            name,
            arguments: req.params.get("arguments").unwrap_or(&Value::Null),
        };
        let outcome = self
            .with_input(req, bind, |input| {
                let cx = Self::call_context(req, Self::connection_scope(req));
                self.plugins.get_prompt(&entry, &arguments, input, cx)
            })
            .await?;
        match outcome {
            Ok(Asked::Done(mut result)) => {
                if req.cx.era == Era::Legacy {
                    result.result_type = None;
                }
                to_json(&result, "prompt")
            }
            Ok(Asked::Required(value)) => Ok(value),
            Err(e) => Err(call_error(entry.plugin.name(), "prompts/get", e)),
        }
    }

    pub(super) async fn complete(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let reference = req
            .params
            .get("ref")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                RpcError::InvalidParams("completion/complete needs a `ref` object".to_owned())
            })?;
        let argument = req
            .params
            .get("argument")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                RpcError::InvalidParams("completion/complete needs an `argument` object".to_owned())
            })?;
        let field = |m: &Map<String, Value>, k: &str, what: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| RpcError::InvalidParams(format!("{what}.{k} must be a string")))
        };
        let arg_name = field(argument, "name", "argument")?;
        let arg_value = field(argument, "value", "argument")?;
        let context = string_pairs(
            req.params.get("context").and_then(|c| c.get("arguments")),
            "context.arguments",
        )?;
        if context.len() > MAX_CONTEXT_ARGUMENTS {
            return Err(RpcError::InvalidParams(format!(
                "at most {MAX_CONTEXT_ARGUMENTS} context arguments"
            )));
        }
        let registry = self.plugins.registry();
        let (plugin, target) = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => {
                let name = field(reference, "name", "ref")?;
                let entry = registry
                    .prompt(&name)
                    .ok_or_else(|| RpcError::InvalidParams(format!("Unknown prompt: {name}")))?;
                (
                    entry.plugin.clone(),
                    CompletionRef::Prompt(entry.info.name.clone()),
                )
            }
            Some("ref/resource") => {
                let uri = field(reference, "uri", "ref")?;
                let plugin = registry.template_owner(&uri).ok_or_else(|| {
                    RpcError::InvalidParams(format!("No resource template {uri}"))
                })?;
                (plugin.clone(), CompletionRef::Template(uri))
            }
            _ => {
                return Err(RpcError::InvalidParams(
                    "ref.type must be ref/prompt or ref/resource".to_owned(),
                ));
            }
        };
        drop(registry);
        let cx = Self::call_context(req, Self::connection_scope(req));
        let completion = self
            .plugins
            .complete(&plugin, &target, &arg_name, &arg_value, &context, cx)
            .await
            .map_err(|e| call_error(plugin.name(), "completion/complete", e))?;
        Ok(json!({ "completion": completion }))
    }
}
