//! `prompts/get`: the plugin renders the prompt, asking the client first
//! if it needs to.

use super::super::error::RpcError;
use super::super::input::{Asked, Binding};
use super::super::params::GetPromptParams;
use super::super::server::Server;
use super::{Ctx, call_error, to_json};
use serde_json::Value;

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    p: GetPromptParams,
) -> Result<Value, RpcError> {
    let entry = server
        .plugins
        .registry()
        .prompt(&p.name)
        .cloned()
        .ok_or_else(|| RpcError::InvalidParams(format!("Unknown prompt: {}", p.name)))?;
    let bind = Binding {
        method: "prompts/get",
        name: &p.name,
        arguments: &p.sent_arguments,
    };
    let outcome = server
        .with_input(ctx, p.retry, bind, |input| {
            let cx = ctx.call_context(ctx.connection_scope());
            server.plugins.get_prompt(&entry, &p.arguments, input, cx)
        })
        .await?;
    match outcome {
        Ok(Asked::Done(mut result)) => {
            if ctx.is_legacy() {
                result.result_type = None;
            }
            to_json(&result, "prompt")
        }
        Ok(Asked::Required(value)) => Ok(value),
        Err(e) => Err(call_error(entry.plugin.name(), "prompts/get", e)),
    }
}
