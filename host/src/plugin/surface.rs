//! Resources, prompts, completions and questions for the client: the WIT
//! shapes of these, converted to MCP wire types (rmcp's model) and to the
//! host's own types, with the checks a descriptor needs before it is
//! served.

use super::bindings::berth::plugin::types as wit;
use super::bindings::exports::berth::plugin::{completion, prompts, resources};
use super::convert::{annotations, content, icon};
use super::error::{DescriptorError, ReplyError};
use rmcp::model::{
    CompletionInfo, Prompt, PromptArgument, PromptMessage, Resource, ResourceTemplate, Role,
};
use serde_json::Value;

/// How a request to a plugin ends: done with `T`, or with questions for the
/// client first.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// Done.
    Done(T),
    /// The plugin needs answers before it can finish.
    Input(InputRequired),
}

/// One question for the client.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRequest {
    /// `elicitation/create` with these params.
    Elicitation(Value),
    /// `sampling/createMessage` with these params.
    Sampling(Value),
    /// `roots/list`.
    Roots,
}

/// What the client can be asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFeatures {
    /// `elicitation/create`
    pub elicitation: bool,
    /// `sampling/createMessage`
    pub sampling: bool,
    /// `roots/list`
    pub roots: bool,
}

impl ClientFeatures {
    /// Reads a client's declared capabilities object.
    pub fn from_capabilities(capabilities: &Value) -> Self {
        let has = |k: &str| capabilities.get(k).is_some_and(Value::is_object);
        Self {
            elicitation: has("elicitation"),
            sampling: has("sampling"),
            roots: has("roots"),
        }
    }
}

impl InputRequest {
    /// Whether a client with `features` can answer it.
    pub fn allowed(&self, features: ClientFeatures) -> bool {
        match self {
            Self::Elicitation(_) => features.elicitation,
            Self::Sampling(_) => features.sampling,
            Self::Roots => features.roots,
        }
    }

    /// The params of the request.
    pub fn params(&self) -> Value {
        match self {
            Self::Elicitation(p) | Self::Sampling(p) => p.clone(),
            Self::Roots => Value::Object(serde_json::Map::new()),
        }
    }
}

/// Questions for the client and state for the next round.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRequired {
    /// The questions, by key.
    pub requests: Vec<(String, InputRequest)>,
    /// The plugin's state.
    pub state: Option<String>,
}

/// The answers of the client to the previous round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputAnswers {
    /// Key and result JSON.
    pub answers: Vec<(String, Value)>,
    /// The plugin's state of that round.
    pub state: Option<String>,
}

/// Most questions in one round.
const MAX_REQUESTS: usize = 16;

fn params_object(
    text: &str,
    what: &'static str,
    required: &[&'static str],
) -> Result<Value, ReplyError> {
    let value: Value =
        serde_json::from_str(text).map_err(|source| ReplyError::ParamsNotJson { what, source })?;
    let Some(obj) = value.as_object() else {
        return Err(ReplyError::ParamsNotObject { what });
    };
    for &key in required {
        if !obj.contains_key(key) {
            return Err(ReplyError::ParamsMissing { what, key });
        }
    }
    Ok(value)
}

/// Checks and converts a plugin's questions.
///
/// # Errors
/// A [`ReplyError`]: what is wrong with them (a plugin fault).
pub fn input_required(i: wit::InputRequired) -> Result<InputRequired, ReplyError> {
    if i.requests.is_empty() {
        return Err(ReplyError::NoQuestions);
    }
    if i.requests.len() > MAX_REQUESTS {
        return Err(ReplyError::TooManyQuestions(MAX_REQUESTS));
    }
    let mut requests = Vec::with_capacity(i.requests.len());
    for (key, r) in i.requests {
        if key.is_empty() || key.len() > 64 || requests.iter().any(|(k, _)| *k == key) {
            return Err(ReplyError::QuestionKey(key));
        }
        let request = match r {
            wit::InputRequest::Elicitation(p) => InputRequest::Elicitation(params_object(
                &p,
                "elicitation",
                &["message", "requestedSchema"],
            )?),
            wit::InputRequest::Sampling(p) => {
                InputRequest::Sampling(params_object(&p, "sampling", &["messages", "maxTokens"])?)
            }
            wit::InputRequest::Roots => InputRequest::Roots,
        };
        requests.push((key, request));
    }
    Ok(InputRequired {
        requests,
        state: i.state,
    })
}

/// Answers in their WIT form.
pub fn input_answers(a: InputAnswers) -> wit::InputAnswers {
    wit::InputAnswers {
        answers: a
            .answers
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
        state: a.state,
    }
}

/// A concrete resource on the wire.
pub fn resource(r: resources::Resource) -> Resource {
    let mut out = Resource::new(r.uri, r.name);
    out.title = r.title;
    out.description = r.description;
    out.mime_type = r.mime_type;
    out.size = r.size;
    out.annotations = annotations(r.annotations);
    out.icons = (!r.icons.is_empty()).then(|| r.icons.into_iter().map(icon).collect());
    out
}

/// A resource template on the wire.
pub fn template(t: resources::ResourceTemplate) -> ResourceTemplate {
    let mut out = ResourceTemplate::new(t.uri_template, t.name);
    out.title = t.title;
    out.description = t.description;
    out.mime_type = t.mime_type;
    out.annotations = annotations(t.annotations);
    out.icons = (!t.icons.is_empty()).then(|| t.icons.into_iter().map(icon).collect());
    out
}

/// Checks a template: level-1 RFC 6570 variables, balanced braces.
///
/// # Errors
/// A [`DescriptorError`]: why it cannot be routed.
pub fn check_template(t: &str) -> Result<(), DescriptorError> {
    let mut open = false;
    for c in t.chars() {
        match (c, open) {
            ('{', false) => open = true,
            ('}', true) => open = false,
            ('{' | '}', _) => return Err(DescriptorError::TemplateBraces(t.to_owned())),
            _ => {}
        }
    }
    if open || !t.contains('{') {
        return Err(DescriptorError::NotATemplate(t.to_owned()));
    }
    Ok(())
}

/// A prompt descriptor (with its plugin-side name), exposed under `name`.
pub fn prompt(p: prompts::Prompt, name: String) -> Prompt {
    let arguments: Vec<PromptArgument> = p
        .arguments
        .into_iter()
        .map(|a| {
            let mut arg = PromptArgument::new(a.name).with_required(a.required);
            arg.title = a.title;
            arg.description = a.description;
            arg
        })
        .collect();
    let mut out = Prompt::new(
        name,
        p.description,
        (!arguments.is_empty()).then_some(arguments),
    );
    out.title = p.title;
    out.icons = (!p.icons.is_empty()).then(|| p.icons.into_iter().map(icon).collect());
    out
}

/// A rendered prompt message on the wire.
pub fn prompt_message(m: prompts::PromptMessage) -> PromptMessage {
    let role = match m.role {
        wit::Role::User => Role::User,
        wit::Role::Assistant => Role::Assistant,
    };
    PromptMessage::new(role, content(m.content))
}

/// A completion on the wire: at most 100 values, with the total and
/// whether more exist.
pub fn completion(c: completion::CompletionResult) -> CompletionInfo {
    let mut values = c.values;
    let total = c
        .total
        .map_or(values.len(), |t| t as usize)
        .max(values.len());
    let cut = values.len() > CompletionInfo::MAX_VALUES;
    values.truncate(CompletionInfo::MAX_VALUES);
    let mut info = CompletionInfo::default();
    info.has_more = Some(c.has_more || cut || total > values.len());
    info.total = u32::try_from(total).ok();
    info.values = values;
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_checked() {
        let ok = wit::InputRequired {
            requests: vec![
                (
                    "a".to_owned(),
                    wit::InputRequest::Elicitation(
                        r#"{"message":"m","requestedSchema":{"type":"object"}}"#.to_owned(),
                    ),
                ),
                ("b".to_owned(), wit::InputRequest::Roots),
            ],
            state: Some("s".to_owned()),
        };
        let got = input_required(ok).unwrap();
        assert!(matches!(got.requests[0].1, InputRequest::Elicitation(_)));
        assert_eq!(got.requests[1].1.params(), serde_json::json!({}));
        let bad = |requests| {
            input_required(wit::InputRequired {
                requests,
                state: None,
            })
        };
        let message = |requests| bad(requests).unwrap_err().to_string();
        assert_eq!(message(vec![]), "input-required with no questions");
        assert_eq!(
            message(vec![(
                "a".to_owned(),
                wit::InputRequest::Sampling(r#"{"messages":[]}"#.to_owned())
            )]),
            "sampling params need `maxTokens`"
        );
        assert_eq!(
            message(vec![
                ("a".to_owned(), wit::InputRequest::Roots),
                ("a".to_owned(), wit::InputRequest::Roots)
            ]),
            "question key \"a\" is empty, too long or repeated"
        );
        let e = bad(vec![(
            "a".to_owned(),
            wit::InputRequest::Elicitation("{".to_owned()),
        )])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("elicitation params are not JSON: "),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn completions_are_capped_at_100_with_the_total() {
        let c = completion(completion::CompletionResult {
            values: (0..150).map(|i| i.to_string()).collect(),
            total: None,
            has_more: false,
        });
        assert_eq!(c.values.len(), 100);
        assert_eq!(c.total, Some(150));
        assert_eq!(c.has_more, Some(true));
    }

    #[test]
    fn templates_need_balanced_variables() {
        assert!(check_template("notes://{id}").is_ok());
        assert_eq!(
            check_template("notes://id").unwrap_err().to_string(),
            "\"notes://id\" is not a URI template with variables"
        );
        assert!(check_template("notes://{id").is_err());
        assert_eq!(
            check_template("notes://{{id}}").unwrap_err().to_string(),
            "unbalanced braces in \"notes://{{id}}\""
        );
    }
}
