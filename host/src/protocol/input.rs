//! Asking the client in the middle of a request, in both eras (DESIGN §3).
//!
//! A plugin answers `input-required` with questions. For a 2026-07-28
//! request the host answers `input_required` with the questions and a
//! signed `requestState`; the client retries with `inputResponses` and that
//! state, and the host calls the plugin again with the answers. For a
//! legacy session the host sends the questions as real requests on the
//! call's stream, waits for the answers, and calls the plugin again; the
//! client sees one request. The plugin is the same in both eras.

use super::connection::Answer;
use super::era::Era;
use super::error::RpcError;
use super::handlers::Ctx;
use super::jsonrpc;
use super::params::RetryParams;
use super::seal::{self, Sealed};
use super::server::Server;
use crate::plugin::{CallError, InputAnswers, InputRequest, InputRequired, Outcome};
use serde_json::{Map, Value, json};
use std::future::Future;

/// Most rounds of questions one request may take.
const MAX_ROUNDS: usize = 10;

/// How a request that may ask the client ended.
pub(super) enum Asked<T> {
    /// Done with `T`.
    Done(T),
    /// A modern `input_required` result to return.
    Required(Value),
}

/// What a request's answers and state, as sent by a modern client, are.
struct Retry {
    answers: Map<String, Value>,
    state: Sealed,
}

/// The MCP method that asks a plugin's question.
pub(super) fn question_method(q: &InputRequest) -> &'static str {
    match q {
        InputRequest::Elicitation(_) => "elicitation/create",
        InputRequest::Sampling(_) => "sampling/createMessage",
        InputRequest::Roots => "roots/list",
    }
}

/// The client capability a question needs.
fn question_capability(q: &InputRequest) -> &'static str {
    match q {
        InputRequest::Elicitation(_) => "elicitation",
        InputRequest::Sampling(_) => "sampling",
        InputRequest::Roots => "roots",
    }
}

/// What a request asks (method, name, arguments), so a `requestState`
/// cannot be replayed on another request. Digested only when a modern
/// round needs it (a retry, or a round that asks).
pub(super) struct Binding<'a> {
    /// The method.
    pub method: &'a str,
    /// The tool or prompt name.
    pub name: &'a str,
    /// The arguments.
    pub arguments: &'a Value,
}

impl Binding<'_> {
    /// A stable digest of the request.
    fn digest(&self) -> String {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(self.method.as_bytes());
        h.update([0]);
        h.update(self.name.as_bytes());
        h.update([0]);
        h.update(self.arguments.to_string().as_bytes());
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            h.finalize(),
        )
    }
}

fn call_failed(method: &str, e: &Value) -> CallError {
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    CallError::Failed(format!("The client could not answer {method}: {message}"))
}

impl Server {
    /// Runs `run` (a plugin call) until it is done, asking the client what
    /// it asks for as the request's era requires. `binding` identifies the
    /// request for `requestState`.
    pub(super) async fn with_input<T, F, Fut>(
        &self,
        req: &Ctx<'_>,
        retry: Option<RetryParams>,
        binding: Binding<'_>,
        mut run: F,
    ) -> Result<Result<Asked<T>, CallError>, RpcError>
    where
        F: FnMut(Option<InputAnswers>) -> Fut,
        Fut: Future<Output = Result<Outcome<T>, CallError>>,
    {
        match req.cx.era {
            Era::Modern => self.modern_round(req, retry, &binding, &mut run).await,
            Era::Legacy => self.legacy_rounds(req, &mut run).await,
        }
    }

    async fn modern_round<T, F, Fut>(
        &self,
        req: &Ctx<'_>,
        retry: Option<RetryParams>,
        binding: &Binding<'_>,
        run: &mut F,
    ) -> Result<Result<Asked<T>, CallError>, RpcError>
    where
        F: FnMut(Option<InputAnswers>) -> Fut,
        Fut: Future<Output = Result<Outcome<T>, CallError>>,
    {
        let principal = req.conn.principal();
        let retry = match retry.map(|r| (r.responses, r.state)) {
            None => None,
            Some((answers, Some(state))) => {
                let opened =
                    seal::open(&self.options.input_key, &state, principal, &binding.digest())
                        .map_err(|why| {
                            RpcError::InvalidParams(format!(
                                "requestState failed its integrity check ({why}): send the request again without inputResponses to start over"
                            ))
                        })?;
                if !self.spent.claim(&state, self.options.input_ttl) {
                    return Err(RpcError::InvalidParams(
                        "requestState was already used (each is good for one retry): send the request again without inputResponses to start over"
                            .to_owned(),
                    ));
                }
                let state = opened;
                Some(Retry {
                    answers: answers.unwrap_or_default(),
                    state,
                })
            }
            Some((Some(_), None)) => {
                return Err(RpcError::InvalidParams(
                    "inputResponses must come with the requestState of the input_required result"
                        .to_owned(),
                ));
            }
            Some((None, None)) => None,
        };
        let input = match retry {
            None => None,
            Some(retry) => {
                let mut answers = Vec::new();
                // Only answers to what was asked reach the plugin.
                for key in &retry.state.keys {
                    match retry.answers.get(key) {
                        Some(v @ Value::Object(_)) => answers.push((key.clone(), v.clone())),
                        Some(_) => {
                            return Err(RpcError::InvalidParams(format!(
                                "inputResponses.{key} must be the client's result object"
                            )));
                        }
                        None => {}
                    }
                }
                Some(InputAnswers {
                    answers,
                    state: retry.state.state,
                })
            }
        };
        match run(input).await {
            Err(e) => Ok(Err(e)),
            Ok(Outcome::Done(t)) => Ok(Ok(Asked::Done(t))),
            Ok(Outcome::Input(asked)) => {
                check_capabilities(&asked, req)?;
                let keys = asked.requests.iter().map(|(k, _)| k.clone()).collect();
                let sealed = Sealed {
                    keys,
                    state: asked.state.clone(),
                };
                let state = seal::seal(
                    &self.options.input_key,
                    &sealed,
                    principal,
                    &binding.digest(),
                    self.options.input_ttl,
                );
                let requests: Map<String, Value> = asked
                    .requests
                    .iter()
                    .map(|(k, r)| {
                        (
                            k.clone(),
                            json!({ "method": question_method(r), "params": r.params() }),
                        )
                    })
                    .collect();
                Ok(Ok(Asked::Required(json!({
                    "resultType": "input_required",
                    "inputRequests": requests,
                    "requestState": state,
                }))))
            }
        }
    }

    async fn legacy_rounds<T, F, Fut>(
        &self,
        req: &Ctx<'_>,
        run: &mut F,
    ) -> Result<Result<Asked<T>, CallError>, RpcError>
    where
        F: FnMut(Option<InputAnswers>) -> Fut,
        Fut: Future<Output = Result<Outcome<T>, CallError>>,
    {
        let mut input = None;
        for _ in 0..MAX_ROUNDS {
            let asked = match run(input.take()).await {
                Err(e) => return Ok(Err(e)),
                Ok(Outcome::Done(t)) => return Ok(Ok(Asked::Done(t))),
                Ok(Outcome::Input(asked)) => asked,
            };
            check_capabilities(&asked, req)?;
            if !req.out.reaches_client() {
                return Err(RpcError::InvalidRequest(
                    "this request needs to ask the client a question: send it with Accept: text/event-stream so the question can travel on the response stream".to_owned(),
                ));
            }
            match self.ask_legacy(req, &asked).await {
                Ok(answers) => {
                    input = Some(InputAnswers {
                        answers,
                        state: asked.state,
                    });
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Err(CallError::Failed(format!(
            "the plugin kept asking after {MAX_ROUNDS} rounds of questions"
        ))))
    }

    /// Sends each question as a request on the call's stream and waits for
    /// every answer.
    async fn ask_legacy(
        &self,
        req: &Ctx<'_>,
        asked: &InputRequired,
    ) -> Result<Vec<(String, Value)>, CallError> {
        let mut waiting = Vec::with_capacity(asked.requests.len());
        for (key, request) in &asked.requests {
            let Some((id, rx)) = req.conn.ask() else {
                return Err(CallError::Failed(if req.conn.input_closed() {
                    "The client can no longer answer questions (its input has ended).".to_owned()
                } else {
                    "too many questions are waiting for this client".to_owned()
                }));
            };
            req.out
                .send(jsonrpc::request(
                    &id,
                    question_method(request),
                    Some(&request.params()),
                ))
                .await;
            waiting.push((key.clone(), question_method(request), id, rx));
        }
        let timeout = self.options.input_timeout;
        let mut answers = Vec::with_capacity(waiting.len());
        let mut result = Ok(());
        for (key, method, id, rx) in waiting {
            if result.is_err() {
                req.conn.forget(&id);
                continue;
            }
            let answer: Option<Answer> = tokio::select! {
                a = tokio::time::timeout(timeout, rx) => a.ok().and_then(Result::ok),
                () = req.cancel.cancelled() => None,
            };
            req.conn.forget(&id);
            match answer {
                Some(Ok(v)) => answers.push((key, v)),
                Some(Err(e)) => result = Err(call_failed(method, &e)),
                None if req.cancel.is_cancelled() => result = Err(CallError::Cancelled),
                None if req.conn.input_closed() => {
                    result = Err(CallError::Failed(format!(
                        "The client's input ended before it answered {method}."
                    )));
                }
                None => {
                    result = Err(CallError::Failed(format!(
                        "The client did not answer {method} within {} seconds.",
                        timeout.as_secs()
                    )));
                }
            }
        }
        result.map(|()| answers)
    }
}

/// A question the client did not declare it can answer fails the request
/// with −32021, naming the capabilities.
fn check_capabilities(asked: &InputRequired, req: &Ctx<'_>) -> Result<(), RpcError> {
    let missing: Map<String, Value> = asked
        .requests
        .iter()
        .filter(|(_, r)| !r.allowed(req.cx.client))
        .map(|(_, r)| (question_capability(r).to_owned(), json!({})))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RpcError::MissingClientCapability {
            required: Value::Object(missing),
        })
    }
}
