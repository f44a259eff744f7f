//! Asking the client (the user, its model, its roots) in the middle of a
//! request.
//!
//! A handler that needs an answer returns [`Outcome::Ask`] with its
//! questions. The host asks the client (a server-to-client request for
//! legacy clients, an `input_required` result for 2026-07-28 clients) and
//! calls the handler again, with the same arguments and an [`Input`] that
//! holds every answer. The handler is written once for both eras:
//!
//! ```ignore
//! fn greet(_: NoArgs, input: &Input) -> Result<Outcome<CallResult>, Error> {
//!     match input.elicited::<Name>("name")? {
//!         Some(Elicited::Accepted(n)) => Ok(text(format!("Hello, {}!", n.name)).into()),
//!         Some(_) => Ok(text("Hello, stranger!").into()),
//!         None => Ok(Ask::new().elicit("name", "What is your name?", schema).into()),
//!     }
//! }
//! ```

use crate::Error;
use crate::bindings::berth::plugin::context::{self as host, ClientFeature};
use crate::bindings::berth::plugin::types::{InputAnswers, InputRequest, InputRequired};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// How a handler ends: done with `T`, or asking the client first.
pub enum Outcome<T> {
    /// Done.
    Done(T),
    /// Questions for the client; the handler runs again with the answers.
    Ask(Ask),
}

impl<T> From<Ask> for Outcome<T> {
    fn from(ask: Ask) -> Self {
        Self::Ask(ask)
    }
}

/// Questions for the client, keyed by names the handler picks.
#[derive(Default)]
pub struct Ask {
    requests: Vec<(String, InputRequest)>,
    state: Option<String>,
}

impl Ask {
    /// No questions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the user: `message`, and a flat object `schema` for the answer
    /// (`elicitation/create`).
    pub fn elicit(mut self, key: &str, message: &str, schema: Value) -> Self {
        let params = json!({ "message": message, "requestedSchema": schema });
        self.requests.push((
            key.to_owned(),
            InputRequest::Elicitation(params.to_string()),
        ));
        self
    }

    /// Asks the client's model with the params of `sampling/createMessage`.
    pub fn sample(mut self, key: &str, params: Value) -> Self {
        self.requests
            .push((key.to_owned(), InputRequest::Sampling(params.to_string())));
        self
    }

    /// Asks the client's model one question as the user (`max_tokens` at
    /// most).
    pub fn sample_text(self, key: &str, prompt: &str, max_tokens: u32) -> Self {
        self.sample(
            key,
            json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                "maxTokens": max_tokens,
            }),
        )
    }

    /// Asks for the client's roots (`roots/list`).
    pub fn roots(mut self, key: &str) -> Self {
        self.requests.push((key.to_owned(), InputRequest::Roots));
        self
    }

    /// State to get back with the answers (signed by the host, readable by
    /// the client: no secrets).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    pub(crate) fn into_wit(self) -> InputRequired {
        InputRequired {
            requests: self.requests,
            state: self.state,
        }
    }
}

/// The answers a handler was called with (empty on the first round).
#[derive(Default)]
pub struct Input {
    answers: Vec<(String, Value)>,
    state: Option<String>,
}

/// What the user did with an elicitation.
pub enum Elicited<T> {
    /// Answered, with content of type `T`.
    Accepted(T),
    /// Said no.
    Declined,
    /// Dismissed the question.
    Cancelled,
}

impl Input {
    pub(crate) fn from_wit(input: Option<InputAnswers>) -> Self {
        let Some(input) = input else {
            return Self::default();
        };
        Self {
            answers: input
                .answers
                .into_iter()
                .map(|(k, v)| (k, serde_json::from_str(&v).unwrap_or(Value::Null)))
                .collect(),
            state: input.state,
        }
    }

    /// Whether this is the first round (no answers yet).
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty() && self.state.is_none()
    }

    /// The raw answer to `key`, if it was asked and answered.
    pub fn answer(&self, key: &str) -> Option<&Value> {
        self.answers.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The state of the previous round.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The answer to the elicitation `key`, its content read as `T`.
    ///
    /// # Errors
    /// `invalid-params` when the content does not fit `T`.
    pub fn elicited<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Elicited<T>>, Error> {
        let Some(answer) = self.answer(key) else {
            return Ok(None);
        };
        Ok(Some(match answer.get("action").and_then(Value::as_str) {
            Some("accept") => {
                let content = answer.get("content").cloned().unwrap_or(json!({}));
                Elicited::Accepted(serde_json::from_value(content).map_err(|e| {
                    Error::InvalidParams(format!("the answer to {key} does not fit: {e}"))
                })?)
            }
            Some("decline") => Elicited::Declined,
            _ => Elicited::Cancelled,
        }))
    }

    /// The text the client's model answered to the sampling `key`.
    pub fn sampled_text(&self, key: &str) -> Option<&str> {
        let content = self.answer(key)?.get("content")?;
        let block = match content {
            Value::Array(blocks) => blocks.iter().find(|b| b["type"] == "text")?,
            other => other,
        };
        block.get("text").and_then(Value::as_str)
    }

    /// The root URIs the client answered to the roots request `key`.
    pub fn roots(&self, key: &str) -> Option<Vec<String>> {
        let roots = self.answer(key)?.get("roots")?.as_array()?;
        Some(
            roots
                .iter()
                .filter_map(|r| r.get("uri").and_then(Value::as_str).map(str::to_owned))
                .collect(),
        )
    }
}

/// Whether the client of this request can answer elicitation.
pub fn can_elicit() -> bool {
    host::client_supports(ClientFeature::Elicitation)
}

/// Whether the client of this request can answer sampling.
pub fn can_sample() -> bool {
    host::client_supports(ClientFeature::Sampling)
}

/// Whether the client of this request can list its roots.
pub fn can_list_roots() -> bool {
    host::client_supports(ClientFeature::Roots)
}
