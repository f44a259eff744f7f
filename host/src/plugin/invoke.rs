//! Running one request in a fresh sandbox: a tool call, a prompt, a
//! resource read or listing, a completion. Each gets its own `Store` and
//! instance, the call's limits, and the request's context, and runs in a
//! `plugin.call` span (`telemetry`) that records its outcome and times.

use super::bindings::berth::plugin::types as wit;
use super::bindings::exports::berth::plugin::completion::{
    CompletionResult, Reference as WitReference,
};
use super::bindings::exports::berth::plugin::prompts::PromptOutcome;
use super::bindings::exports::berth::plugin::resources as wit_resources;
use super::bindings::exports::berth::plugin::tools::ToolOutcome;
use super::error::ReplyError;
use super::host::CallState;
use super::surface::{self, InputAnswers, Outcome};
use super::{CallContext, CallError, Plugin, PluginHost, PromptEntry, ToolEntry, convert, engine};
use crate::telemetry::{self, CallTarget};
use rmcp::model::{CallToolResult, CompletionInfo, GetPromptResult, ReadResourceResult, Resource};
use std::time::Instant;
use tracing::{Instrument as _, Span};

/// What a completion is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionRef {
    /// An argument of a prompt (its plugin-side name).
    Prompt(String),
    /// A variable of the resource template with this URI template.
    Template(String),
}

/// One request for a plugin.
enum Op<'a> {
    Tool {
        entry: &'a ToolEntry,
        arguments: &'a str,
        input: Option<wit::InputAnswers>,
    },
    Prompt {
        name: &'a str,
        arguments: &'a [(String, String)],
        input: Option<wit::InputAnswers>,
    },
    Read(&'a str),
    List,
    Complete {
        reference: WitReference,
        argument: &'a str,
        value: &'a str,
        context: &'a [(String, String)],
    },
}

impl Op<'_> {
    fn target(&self) -> CallTarget<'_> {
        match self {
            Op::Tool { entry, .. } => CallTarget::Tool(&entry.info.name),
            Op::Prompt { name, .. } => CallTarget::Prompt(name),
            Op::Read(uri) => CallTarget::Resource(uri),
            Op::List => CallTarget::ResourceList,
            Op::Complete { .. } => CallTarget::Completion,
        }
    }
}

/// What the plugin returned.
enum Done {
    Tool(ToolOutcome),
    Prompt(PromptOutcome),
    Read(Vec<wit::ResourceContents>),
    List(Vec<wit_resources::Resource>),
    Complete(CompletionResult),
}

fn plugin_error(e: wit::Error) -> CallError {
    match e {
        wit::Error::InvalidParams(m) => CallError::InvalidParams(m),
        wit::Error::NotFound(m) => CallError::NotFound(m),
        wit::Error::Denied(m) => CallError::Denied(m),
        wit::Error::Failed(m) => CallError::Failed(m),
    }
}

fn invalid(plugin: &Plugin, error: &ReplyError) -> CallError {
    let detail = error.to_string();
    tracing::error!(plugin = %plugin.name, %detail, "plugin returned an invalid result");
    CallError::Trap { detail }
}

fn unexpected() -> CallError {
    CallError::Trap {
        detail: "the plugin answered a different request".to_owned(),
    }
}

/// The `outcome` of a `plugin.call` span.
fn outcome(result: &Result<Done, CallError>) -> &'static str {
    match result {
        Ok(Done::Tool(ToolOutcome::Input(_)) | Done::Prompt(PromptOutcome::Input(_))) => {
            "input_required"
        }
        Ok(_) => "ok",
        Err(e) => match e {
            CallError::InvalidParams(_) => "invalid_params",
            CallError::NotFound(_) => "not_found",
            CallError::Denied(_) => "denied",
            CallError::Failed(_) => "failed",
            CallError::Deadline { .. } => "deadline",
            CallError::Memory { .. } => "memory",
            CallError::Fuel { .. } => "fuel",
            CallError::Trap { .. } => "trap",
            CallError::Cancelled => "cancelled",
            CallError::Busy { .. } => "busy",
            CallError::ResultTooLarge { .. } => "result_too_large",
        },
    }
}

impl PluginHost {
    /// Runs `op` in the span of a plugin call; a tool's result over
    /// `limits.max_result_kb` is an error here, so the span says so.
    async fn exec(&self, plugin: &Plugin, cx: CallContext, op: Op<'_>) -> Result<Done, CallError> {
        let span = telemetry::plugin_call_span(&plugin.name, op.target());
        let result = match self
            .run(plugin, cx, op, &span)
            .instrument(span.clone())
            .await
        {
            Ok(Done::Tool(ToolOutcome::Done(result))) => {
                let size = convert::result_bytes(&result);
                let limit = self.runtime.options.max_result_bytes;
                if size > limit {
                    drop(result);
                    Err(CallError::ResultTooLarge { size, limit })
                } else {
                    Ok(Done::Tool(ToolOutcome::Done(result)))
                }
            }
            other => other,
        };
        telemetry::record_outcome(&span, outcome(&result));
        result
    }

    async fn run(
        &self,
        plugin: &Plugin,
        cx: CallContext,
        op: Op<'_>,
        span: &Span,
    ) -> Result<Done, CallError> {
        let cancel = cx.cancel.clone();
        // Waiting calls take turns across tenants and callers; a call
        // given up while it waits leaves the queue.
        let ticket = tokio::select! {
            t = self.runtime.admission.admit(&cx.principal) => {
                t.map_err(|busy| CallError::Busy { limit: busy.limit })?
            }
            () = cancel.cancelled() => return Err(CallError::Cancelled),
        };
        let limits = plugin.manifest.limits;
        let call = CallState {
            principal: cx.principal,
            scopes: cx.scopes,
            events: cx.events,
            cancel: cx.cancel,
            client: cx.client,
        };
        let (mut store, output) =
            engine::store(&self.runtime, plugin, Some(call)).map_err(|e| CallError::Trap {
                detail: format!("{e:#}"),
            })?;
        if let Op::Tool { entry, .. } = &op {
            store.data_mut().outbound.tool = Some(std::sync::Arc::from(entry.info.name.as_str()));
        }
        let grace = self.runtime.options.cancel_grace;
        // The epoch deadline stops wasm code; a plugin waiting inside a
        // host call (a sleep, a poll) is stopped here, at the same deadline.
        let deadline = tokio::time::Instant::from_std(store.data().deadline);
        let mut running = None;
        let outcome = {
            let run = async {
                let started = Instant::now();
                let instance = plugin.pre.instantiate_async(&mut store).await?;
                telemetry::record_micros(span, "instantiate_us", started.elapsed());
                running = Some(Instant::now());
                let missing = || wasmtime::format_err!("the plugin does not export this interface");
                Ok::<_, wasmtime::Error>(match op {
                    Op::Tool {
                        entry,
                        arguments,
                        input,
                    } => {
                        let index = plugin.call_tool.as_ref().ok_or_else(missing)?;
                        let func = instance.get_typed_func::<
                            (&str, &str, Option<wit::InputAnswers>),
                            (Result<ToolOutcome, wit::Error>,),
                        >(&mut store, index)?;
                        let (r,) = func
                            .call_async(&mut store, (&entry.info.name, arguments, input))
                            .await?;
                        r.map(Done::Tool)
                    }
                    Op::Prompt {
                        name,
                        arguments,
                        input,
                    } => {
                        let api = plugin.prompts_api.as_ref().ok_or_else(missing)?;
                        api.load(&mut store, &instance)?
                            .call_get_prompt(&mut store, name, arguments, input.as_ref())
                            .await?
                            .map(Done::Prompt)
                    }
                    Op::Read(uri) => {
                        let api = plugin.resources_api.as_ref().ok_or_else(missing)?;
                        api.load(&mut store, &instance)?
                            .call_read_resource(&mut store, uri)
                            .await?
                            .map(Done::Read)
                    }
                    Op::List => {
                        let api = plugin.resources_api.as_ref().ok_or_else(missing)?;
                        Ok(Done::List(
                            api.load(&mut store, &instance)?
                                .call_list_resources(&mut store)
                                .await?,
                        ))
                    }
                    Op::Complete {
                        reference,
                        argument,
                        value,
                        context,
                    } => {
                        let api = plugin.completion_api.as_ref().ok_or_else(missing)?;
                        api.load(&mut store, &instance)?
                            .call_complete(&mut store, &reference, argument, value, context)
                            .await?
                            .map(Done::Complete)
                    }
                })
            };
            tokio::select! {
                r = run => Some(r),
                () = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => None,
                () = tokio::time::sleep_until(deadline) => {
                    store.data_mut().deadline_hit = true;
                    Some(Err(wasmtime::format_err!("deadline exceeded in a host call")))
                }
            }
        };
        if let Some(running) = running {
            telemetry::record_micros(span, "run_us", running.elapsed());
        }
        // What a failing plugin printed (a traceback, a panic message) is
        // what explains the failure: log it at the failure's level.
        output.log(&plugin.name, matches!(outcome, Some(Err(_))));
        let data = store.data();
        let result = match outcome {
            None => Err(CallError::Cancelled),
            Some(Ok(result)) => result.map_err(plugin_error),
            Some(Err(_)) if data.deadline_hit => Err(CallError::Deadline {
                limit: limits.deadline,
            }),
            Some(Err(_)) if data.limiter.hit => Err(CallError::Memory {
                limit_bytes: limits.memory_bytes,
            }),
            Some(Err(trap))
                if trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::OutOfFuel) =>
            {
                Err(CallError::Fuel {
                    limit: limits.cpu_fuel.unwrap_or_default(),
                })
            }
            Some(Err(trap)) => Err(CallError::Trap {
                detail: format!("{trap:?}"),
            }),
        };
        self.runtime.retired.retire(store, ticket);
        result
    }

    /// Calls a tool in a fresh sandbox; `input` continues an earlier round.
    ///
    /// # Errors
    /// [`CallError`]: the plugin's own error, a limit, a trap, or
    /// cancellation.
    pub async fn call_tool(
        &self,
        entry: &ToolEntry,
        arguments: &str,
        input: Option<InputAnswers>,
        cx: CallContext,
    ) -> Result<Outcome<CallToolResult>, CallError> {
        let plugin = &entry.plugin;
        if plugin.call_tool.is_none() {
            return Err(CallError::NotFound(entry.name.to_string()));
        }
        let op = Op::Tool {
            entry,
            arguments,
            input: input.map(surface::input_answers),
        };
        match self.exec(plugin, cx, op).await? {
            Done::Tool(ToolOutcome::Done(result)) => convert::call_result(result)
                .map(Outcome::Done)
                .map_err(|d| invalid(plugin, &d)),
            Done::Tool(ToolOutcome::Input(i)) => surface::input_required(i)
                .map(Outcome::Input)
                .map_err(|e| invalid(plugin, &e)),
            _ => Err(unexpected()),
        }
    }

    /// Renders a prompt in a fresh sandbox.
    ///
    /// # Errors
    /// As for [`Self::call_tool`].
    pub async fn get_prompt(
        &self,
        entry: &PromptEntry,
        arguments: &[(String, String)],
        input: Option<InputAnswers>,
        cx: CallContext,
    ) -> Result<Outcome<GetPromptResult>, CallError> {
        let plugin = &entry.plugin;
        let op = Op::Prompt {
            name: &entry.info.name,
            arguments,
            input: input.map(surface::input_answers),
        };
        match self.exec(plugin, cx, op).await? {
            Done::Prompt(PromptOutcome::Done(r)) => {
                let mut result = GetPromptResult::new(
                    r.messages
                        .into_iter()
                        .map(surface::prompt_message)
                        .collect(),
                );
                result.description = r.description;
                Ok(Outcome::Done(result))
            }
            Done::Prompt(PromptOutcome::Input(i)) => surface::input_required(i)
                .map(Outcome::Input)
                .map_err(|e| invalid(plugin, &e)),
            _ => Err(unexpected()),
        }
    }

    /// Reads a resource in a fresh sandbox.
    ///
    /// # Errors
    /// As for [`Self::call_tool`]; `NotFound` when the plugin has nothing
    /// at `uri`.
    pub async fn read_resource(
        &self,
        plugin: &Plugin,
        uri: &str,
        cx: CallContext,
    ) -> Result<ReadResourceResult, CallError> {
        match self.exec(plugin, cx, Op::Read(uri)).await? {
            Done::Read(contents) if contents.is_empty() => {
                Err(CallError::NotFound(format!("no resource at {uri}")))
            }
            Done::Read(contents) => Ok(ReadResourceResult::new(
                contents
                    .into_iter()
                    .map(convert::resource_contents)
                    .collect(),
            )),
            _ => Err(unexpected()),
        }
    }

    /// Lists a plugin's resources for this caller, in a fresh sandbox.
    ///
    /// # Errors
    /// As for [`Self::call_tool`].
    pub async fn list_resources(
        &self,
        plugin: &Plugin,
        cx: CallContext,
    ) -> Result<Vec<Resource>, CallError> {
        match self.exec(plugin, cx, Op::List).await? {
            Done::List(list) => Ok(list.into_iter().map(surface::resource).collect()),
            _ => Err(unexpected()),
        }
    }

    /// Asks a plugin for completions, in a fresh sandbox.
    ///
    /// # Errors
    /// As for [`Self::call_tool`].
    pub async fn complete(
        &self,
        plugin: &Plugin,
        reference: &CompletionRef,
        argument: &str,
        value: &str,
        context: &[(String, String)],
        cx: CallContext,
    ) -> Result<CompletionInfo, CallError> {
        if plugin.completion_api.is_none() {
            return Ok(CompletionInfo::default());
        }
        let reference = match reference {
            CompletionRef::Prompt(name) => WitReference::Prompt(name.clone()),
            CompletionRef::Template(t) => WitReference::ResourceTemplate(t.clone()),
        };
        let op = Op::Complete {
            reference,
            argument,
            value,
            context,
        };
        match self.exec(plugin, cx, op).await? {
            Done::Complete(c) => Ok(surface::completion(c)),
            _ => Err(unexpected()),
        }
    }
}
