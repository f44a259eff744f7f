//! The params of each MCP method as types, read from a request's params
//! object once, when the message is classified.
//!
//! Owns every "params" error message a client can get (−32602). Each type
//! is read by hand rather than derived: the messages say exactly which
//! member is wrong and how, in words tests and clients rely on.

use super::error::RpcError;
use crate::level::LogLevel;
use crate::plugin::Lists;
use serde_json::{Map, Value};

/// A method's params, or why they are not valid. The error is reported
/// where the handler would start, after the era and session checks.
pub type Parsed<T> = Result<T, RpcError>;

fn invalid(message: impl Into<String>) -> RpcError {
    RpcError::InvalidParams(message.into())
}

/// `initialize`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeParams {
    /// The version the client asked for.
    pub protocol_version: Option<String>,
    /// The client's capabilities (an object).
    pub capabilities: Value,
    /// The client's name and version, as sent.
    pub client_info: Value,
}

impl InitializeParams {
    pub(super) fn parse(params: Map<String, Value>) -> Parsed<Self> {
        let mut params = params;
        let capabilities = params
            .remove("capabilities")
            .unwrap_or_else(|| Value::Object(Map::new()));
        if !capabilities.is_object() {
            return Err(invalid("capabilities must be an object"));
        }
        Ok(Self {
            protocol_version: params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .map(str::to_owned),
            capabilities,
            client_info: params.remove("clientInfo").unwrap_or(Value::Null),
        })
    }
}

/// The `cursor` of a list request (validated against the list's length
/// when the page is cut).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Where the page starts, as berth wrote it in `nextCursor`.
    pub cursor: Option<String>,
}

impl ListParams {
    pub(super) fn parse(params: &Map<String, Value>) -> Parsed<Self> {
        match params.get("cursor") {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(Value::String(c)) => Ok(Self {
                cursor: Some(c.clone()),
            }),
            Some(_) => Err(invalid("cursor must be a string")),
        }
    }

    /// The page of `len` items this cursor asks for, as `start..end` (a
    /// cursor is the offset where the page starts).
    ///
    /// # Errors
    /// −32602 for a cursor that is not one berth gave.
    pub fn page(&self, len: usize, page_size: usize) -> Result<(usize, usize), RpcError> {
        let start = match &self.cursor {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= len)
                .ok_or_else(|| invalid(format!("invalid cursor {c:?}")))?,
        };
        Ok((start, (start + page_size.max(1)).min(len)))
    }
}

/// The `inputResponses` and `requestState` of a modern retry, as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryParams {
    /// The client's answers by key.
    pub responses: Option<Map<String, Value>>,
    /// The state the server sent with `input_required`.
    pub state: Option<String>,
}

impl RetryParams {
    fn parse(params: &mut Map<String, Value>) -> Parsed<Option<Self>> {
        let responses = match params.remove("inputResponses") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                return Err(invalid(
                    "inputResponses must be an object of answers by key",
                ));
            }
        };
        let state = match params.remove("requestState") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(invalid("requestState must be the string the server sent")),
        };
        Ok((responses.is_some() || state.is_some()).then_some(Self { responses, state }))
    }
}

/// `tools/call`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallToolParams {
    /// The tool.
    pub name: String,
    /// Its arguments (empty when absent).
    pub arguments: Map<String, Value>,
    /// A modern retry with answers, if this is one.
    pub retry: Option<RetryParams>,
}

impl CallToolParams {
    pub(super) fn parse(mut params: Map<String, Value>) -> Parsed<Self> {
        let name = match params.remove("name") {
            Some(Value::String(name)) => name,
            _ => return Err(invalid("tools/call needs a string `name`")),
        };
        let arguments = match params.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("`arguments` must be an object")),
        };
        Ok(Self {
            name,
            arguments,
            retry: RetryParams::parse(&mut params)?,
        })
    }
}

/// An object of strings (`arguments` of a prompt, `context.arguments` of a
/// completion), in the order sent.
fn string_pairs(v: Option<&Value>, what: &str) -> Parsed<Vec<(String, String)>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(invalid(format!("{what}.{k} must be a string"))),
            })
            .collect(),
        Some(_) => Err(invalid(format!("{what} must be an object of strings"))),
    }
}

/// `prompts/get`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetPromptParams {
    /// The prompt.
    pub name: String,
    /// Its arguments.
    pub arguments: Vec<(String, String)>,
    /// The arguments as sent (what a `requestState` is bound to).
    pub sent_arguments: Value,
    /// A modern retry with answers, if this is one.
    pub retry: Option<RetryParams>,
}

impl GetPromptParams {
    pub(super) fn parse(mut params: Map<String, Value>) -> Parsed<Self> {
        let name = match params.remove("name") {
            Some(Value::String(name)) => name,
            _ => return Err(invalid("prompts/get needs a string `name`")),
        };
        let sent_arguments = params.remove("arguments").unwrap_or(Value::Null);
        Ok(Self {
            name,
            arguments: string_pairs(Some(&sent_arguments), "arguments")?,
            sent_arguments,
            retry: RetryParams::parse(&mut params)?,
        })
    }
}

/// Most context arguments one completion request may carry.
const MAX_CONTEXT_ARGUMENTS: usize = 64;

/// What a completion is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionTarget {
    /// An argument of the named prompt.
    Prompt(String),
    /// A variable of the resource template with this URI template.
    Resource(String),
}

/// `completion/complete`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteParams {
    /// What is completed.
    pub target: CompletionTarget,
    /// The argument's name.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Arguments already given.
    pub context: Vec<(String, String)>,
}

impl CompleteParams {
    pub(super) fn parse(params: &Map<String, Value>) -> Parsed<Self> {
        let reference = params
            .get("ref")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("completion/complete needs a `ref` object"))?;
        let argument = params
            .get("argument")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("completion/complete needs an `argument` object"))?;
        let field = |m: &Map<String, Value>, k: &str, what: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{what}.{k} must be a string")))
        };
        let name = field(argument, "name", "argument")?;
        let value = field(argument, "value", "argument")?;
        let context = string_pairs(
            params.get("context").and_then(|c| c.get("arguments")),
            "context.arguments",
        )?;
        if context.len() > MAX_CONTEXT_ARGUMENTS {
            return Err(invalid(format!(
                "at most {MAX_CONTEXT_ARGUMENTS} context arguments"
            )));
        }
        let target = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => CompletionTarget::Prompt(field(reference, "name", "ref")?),
            Some("ref/resource") => CompletionTarget::Resource(field(reference, "uri", "ref")?),
            _ => return Err(invalid("ref.type must be ref/prompt or ref/resource")),
        };
        Ok(Self {
            target,
            argument: name,
            value,
            context,
        })
    }
}

/// `resources/read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadParams {
    /// The resource.
    pub uri: String,
}

impl ReadParams {
    pub(super) fn parse(mut params: Map<String, Value>) -> Parsed<Self> {
        match params.remove("uri") {
            Some(Value::String(uri)) => Ok(Self { uri }),
            _ => Err(invalid("resources/read needs a string `uri`")),
        }
    }
}

/// `resources/subscribe` and `resources/unsubscribe` (legacy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeParams {
    /// The resource.
    pub uri: String,
}

impl SubscribeParams {
    pub(super) fn parse(mut params: Map<String, Value>) -> Parsed<Self> {
        match params.remove("uri") {
            Some(Value::String(uri)) if !uri.is_empty() => Ok(Self { uri }),
            _ => Err(invalid("uri must be a non-empty string")),
        }
    }
}

/// `logging/setLevel` (legacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLevelParams {
    /// The new minimum level.
    pub level: LogLevel,
}

impl SetLevelParams {
    pub(super) fn parse(params: &Map<String, Value>) -> Parsed<Self> {
        params
            .get("level")
            .and_then(Value::as_str)
            .and_then(LogLevel::parse)
            .map(|level| Self { level })
            .ok_or_else(|| {
                invalid(
                    "level must be one of debug, info, notice, warning, error, critical, alert, emergency",
                )
            })
    }
}

/// Most resource URIs one subscription may name.
const MAX_RESOURCE_SUBSCRIPTIONS: usize = 1000;

/// `subscriptions/listen` (2026-07-28): the `notifications` filter, as
/// berth honours it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenParams {
    /// Which list changes to deliver.
    pub lists: Lists,
    /// Which resources' updates to deliver.
    pub resources: Vec<String>,
}

impl ListenParams {
    pub(super) fn parse(params: &Map<String, Value>) -> Parsed<Self> {
        let Some(filter) = params.get("notifications") else {
            return Ok(Self::default());
        };
        let filter = filter
            .as_object()
            .ok_or_else(|| invalid("notifications must be an object"))?;
        let resources: Vec<String> = match filter.get("resourceSubscriptions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(uris)) => uris
                .iter()
                .map(|u| u.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("resourceSubscriptions must be strings"))?,
            Some(_) => return Err(invalid("resourceSubscriptions must be an array")),
        };
        if resources.len() > MAX_RESOURCE_SUBSCRIPTIONS {
            return Err(invalid(format!(
                "at most {MAX_RESOURCE_SUBSCRIPTIONS} resource subscriptions per stream"
            )));
        }
        let on = |k: &str| filter.get(k) == Some(&Value::Bool(true));
        Ok(Self {
            lists: Lists {
                tools: on("toolsListChanged"),
                prompts: on("promptsListChanged"),
                resources: on("resourcesListChanged"),
            },
            resources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn message<T: std::fmt::Debug>(r: Parsed<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn a_call_needs_a_name_and_object_arguments_and_reads_a_retry() {
        let p = CallToolParams::parse(map(json!({"name": "t"}))).unwrap();
        assert_eq!(
            (p.name.as_str(), p.arguments.len(), p.retry),
            ("t", 0, None)
        );
        assert!(message(CallToolParams::parse(map(json!({"name": 1})))).contains("string `name`"));
        assert!(
            message(CallToolParams::parse(map(
                json!({"name": "t", "arguments": []})
            )))
            .contains("must be an object")
        );
        let retry = CallToolParams::parse(map(
            json!({"name": "t", "requestState": "s", "inputResponses": {"a": {}}}),
        ))
        .unwrap()
        .retry
        .unwrap();
        assert_eq!(retry.state.as_deref(), Some("s"));
        assert!(
            message(CallToolParams::parse(map(
                json!({"name": "t", "requestState": 3})
            )))
            .contains("requestState")
        );
    }

    #[test]
    fn cursors_are_offsets_berth_gave() {
        let at = |c: Option<&str>| ListParams {
            cursor: c.map(str::to_owned),
        };
        assert_eq!(at(None).page(5, 2).unwrap(), (0, 2));
        assert_eq!(at(Some("4")).page(5, 2).unwrap(), (4, 5));
        assert!(at(Some("6")).page(5, 2).is_err());
        assert!(at(Some("x")).page(5, 2).is_err());
        assert!(ListParams::parse(&map(json!({"cursor": 1}))).is_err());
    }

    #[test]
    fn completion_and_prompt_params_say_which_member_is_wrong() {
        let ok = CompleteParams::parse(&map(json!({
            "ref": {"type": "ref/prompt", "name": "p"},
            "argument": {"name": "a", "value": "v"},
            "context": {"arguments": {"b": "c"}}
        })))
        .unwrap();
        assert_eq!(ok.target, CompletionTarget::Prompt("p".to_owned()));
        assert_eq!(ok.context, vec![("b".to_owned(), "c".to_owned())]);
        assert!(
            message(CompleteParams::parse(&map(json!({
                "ref": {"type": "ref/x"}, "argument": {"name": "a", "value": "v"}
            }))))
            .contains("ref.type")
        );
        assert!(
            message(GetPromptParams::parse(map(
                json!({"name": "p", "arguments": {"a": 1}})
            )))
            .contains("arguments.a must be a string")
        );
    }

    #[test]
    fn a_listen_filter_keeps_only_what_berth_delivers() {
        let p = ListenParams::parse(&map(json!({"notifications": {
            "toolsListChanged": true, "resourceSubscriptions": ["a://b"]
        }})))
        .unwrap();
        assert!(p.lists.tools && !p.lists.prompts);
        assert_eq!(p.resources, vec!["a://b".to_owned()]);
        assert!(ListenParams::parse(&map(json!({"notifications": 1}))).is_err());
        assert!(SetLevelParams::parse(&map(json!({"level": "loud"}))).is_err());
        assert!(SubscribeParams::parse(map(json!({"uri": ""}))).is_err());
    }
}
