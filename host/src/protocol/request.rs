//! Classifies each incoming message once: its kind, its era (from
//! `_meta`), its method and typed params. Everything after this works on
//! the types; nothing reads the raw params again.
//!
//! Owns the MCP method names a client may send and what a transport must
//! know of a message without knowing methods: its era, whether it opens a
//! session, whether it must run in order. Must not import `transport`.

use super::era::{self, Meta, RequestCx};
use super::error::RpcError;
use super::jsonrpc::{self, Incoming, Rejected, RequestId};
use super::params::{
    CallToolParams, CompleteParams, GetPromptParams, InitializeParams, ListParams, ListenParams,
    Parsed, ReadParams, SetLevelParams, SubscribeParams,
};
use serde_json::{Map, Value};

/// One incoming message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request, to be answered (boxed: a request is much larger than
    /// the other kinds).
    Request(Box<Request>),
    /// A notification, never answered.
    Notification(Notification),
    /// A response to a request the server sent.
    Response {
        /// The id it answers.
        id: Option<RequestId>,
        /// Its result, or its error object.
        outcome: Result<Value, Value>,
    },
}

/// A client notification berth acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Notification {
    /// `notifications/initialized` (legacy).
    Initialized,
    /// `notifications/cancelled`.
    Cancelled {
        /// The request to cancel, if the id is usable.
        request: Option<RequestId>,
        /// Why, as sent.
        reason: Option<Value>,
    },
    /// Anything else: ignored.
    Other(String),
}

/// A request: its id, its `_meta` (which decides its era) and its method
/// with typed params.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its id.
    pub id: RequestId,
    /// Its `_meta`, taken out of the params.
    pub meta: Meta,
    /// What it asks.
    pub method: Method,
    /// The context of a modern request (and of `server/discover`), read
    /// from `_meta` once, or why `_meta` is not valid; `None` for a legacy
    /// request, whose context is its session's.
    pub modern: Option<Result<RequestCx, RpcError>>,
}

/// Every method berth serves, with its params; which era serves which is
/// the dispatcher's to decide.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// `initialize` (legacy).
    Initialize(Parsed<InitializeParams>),
    /// `ping` (legacy).
    Ping,
    /// `server/discover` (2026-07-28).
    Discover,
    /// `tools/list`.
    ListTools(Parsed<ListParams>),
    /// `tools/call`.
    CallTool(Parsed<CallToolParams>),
    /// `resources/list`.
    ListResources(Parsed<ListParams>),
    /// `resources/templates/list`.
    ListTemplates(Parsed<ListParams>),
    /// `resources/read`.
    ReadResource(Parsed<ReadParams>),
    /// `resources/subscribe` (legacy).
    Subscribe(Parsed<SubscribeParams>),
    /// `resources/unsubscribe` (legacy).
    Unsubscribe(Parsed<SubscribeParams>),
    /// `prompts/list`.
    ListPrompts(Parsed<ListParams>),
    /// `prompts/get`.
    GetPrompt(Parsed<GetPromptParams>),
    /// `completion/complete`.
    Complete(Parsed<CompleteParams>),
    /// `subscriptions/listen` (2026-07-28).
    Listen(Parsed<ListenParams>),
    /// `logging/setLevel` (legacy).
    SetLevel(Parsed<SetLevelParams>),
    /// A method berth does not serve.
    Unknown(String),
}

impl Method {
    /// Reads a method and its params.
    pub fn parse(method: String, params: Map<String, Value>) -> Self {
        match method.as_str() {
            "initialize" => Self::Initialize(InitializeParams::parse(params)),
            "ping" => Self::Ping,
            "server/discover" => Self::Discover,
            "tools/list" => Self::ListTools(ListParams::parse(&params)),
            "tools/call" => Self::CallTool(CallToolParams::parse(params)),
            "resources/list" => Self::ListResources(ListParams::parse(&params)),
            "resources/templates/list" => Self::ListTemplates(ListParams::parse(&params)),
            "resources/read" => Self::ReadResource(ReadParams::parse(params)),
            "resources/subscribe" => Self::Subscribe(SubscribeParams::parse(params)),
            "resources/unsubscribe" => Self::Unsubscribe(SubscribeParams::parse(params)),
            "prompts/list" => Self::ListPrompts(ListParams::parse(&params)),
            "prompts/get" => Self::GetPrompt(GetPromptParams::parse(params)),
            "completion/complete" => Self::Complete(CompleteParams::parse(&params)),
            "subscriptions/listen" => Self::Listen(ListenParams::parse(&params)),
            "logging/setLevel" => Self::SetLevel(SetLevelParams::parse(&params)),
            _ => Self::Unknown(method),
        }
    }

    /// The method's name, as the client sent it.
    pub fn name(&self) -> &str {
        match self {
            Self::Initialize(_) => "initialize",
            Self::Ping => "ping",
            Self::Discover => "server/discover",
            Self::ListTools(_) => "tools/list",
            Self::CallTool(_) => "tools/call",
            Self::ListResources(_) => "resources/list",
            Self::ListTemplates(_) => "resources/templates/list",
            Self::ReadResource(_) => "resources/read",
            Self::Subscribe(_) => "resources/subscribe",
            Self::Unsubscribe(_) => "resources/unsubscribe",
            Self::ListPrompts(_) => "prompts/list",
            Self::GetPrompt(_) => "prompts/get",
            Self::Complete(_) => "completion/complete",
            Self::Listen(_) => "subscriptions/listen",
            Self::SetLevel(_) => "logging/setLevel",
            Self::Unknown(name) => name,
        }
    }
}

impl Message {
    /// Parses and classifies one message.
    ///
    /// # Errors
    /// [`Rejected`] for anything that is not one JSON-RPC 2.0 message.
    pub fn parse(text: &str) -> Result<Self, Rejected> {
        jsonrpc::parse(text).map(Self::classify)
    }

    /// Classifies a framed message.
    pub fn classify(incoming: Incoming) -> Self {
        match incoming {
            Incoming::Request {
                id,
                method,
                mut params,
            } => {
                let meta = Meta::take(&mut params);
                let method = Method::parse(method, params);
                let modern = (meta.is_modern() || matches!(method, Method::Discover))
                    .then(|| era::modern_cx(&meta));
                Self::Request(Box::new(Request {
                    id,
                    meta,
                    method,
                    modern,
                }))
            }
            Incoming::Notification { method, params } => {
                Self::Notification(match method.as_str() {
                    "notifications/initialized" => Notification::Initialized,
                    "notifications/cancelled" => Notification::Cancelled {
                        request: params.get("requestId").and_then(RequestId::from_value),
                        reason: params.get("reason").cloned(),
                    },
                    _ => Notification::Other(method),
                })
            }
            Incoming::Response { id, outcome } => Self::Response { id, outcome },
        }
    }

    /// Whether the message is of the 2026-07-28 era (a request that says
    /// so in `_meta`). Notifications and responses belong to legacy
    /// sessions: the modern revision sends none over HTTP.
    pub fn is_modern(&self) -> bool {
        matches!(self, Self::Request(r) if r.meta.is_modern())
    }

    /// Whether the message must be handled before the next one is read:
    /// notifications, responses and `initialize` are quick, and later
    /// requests depend on them. Everything else may run concurrently, so a
    /// cancellation can reach a call that is running.
    pub fn runs_in_order(&self) -> bool {
        match self {
            Self::Request(r) => matches!(r.method, Method::Initialize(_)),
            Self::Notification(_) | Self::Response { .. } => true,
        }
    }

    /// The request's id, if it is a request.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Self::Request(r) => Some(&r.id),
            _ => None,
        }
    }
}

impl Request {
    /// Whether this request opens a legacy session (`initialize`).
    pub fn opens_session(&self) -> bool {
        matches!(self.method, Method::Initialize(_)) && !self.meta.is_modern()
    }

    /// The body value the 2026-07-28 `Mcp-Name` header must match: the
    /// tool's or prompt's name, the resource's URI. `None` for other
    /// methods, and for params that are not valid (their error is the
    /// answer; there is no body value to compare).
    pub fn mcp_name(&self) -> Option<&str> {
        match &self.method {
            Method::CallTool(Ok(p)) => Some(&p.name),
            Method::GetPrompt(Ok(p)) => Some(&p.name),
            Method::ReadResource(Ok(p)) => Some(&p.uri),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(text).unwrap()
    }

    #[test]
    fn only_notifications_responses_and_initialize_run_in_order() {
        assert!(
            parse(
                r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#
            )
            .runs_in_order()
        );
        assert!(
            parse(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).runs_in_order()
        );
        assert!(parse(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).runs_in_order());
        // A call that merely mentions initialize must not block the reader.
        assert!(
            !parse(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"text":"initialize"}}}"#)
                .runs_in_order()
        );
        assert!(!parse(r#"{"id":3,"jsonrpc":"2.0","method":"ping"}"#).runs_in_order());
    }

    #[test]
    fn a_message_is_classified_once_with_its_era_method_and_params() {
        let m = parse(
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"x":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":5}}}"#,
        );
        assert!(m.is_modern());
        let Message::Request(r) = m else {
            panic!("not a request")
        };
        assert_eq!(r.method.name(), "tools/call");
        assert_eq!(r.mcp_name(), Some("echo"));
        assert_eq!(r.meta.progress_token, Some(serde_json::json!(5)));
        let Method::CallTool(Ok(p)) = r.method else {
            panic!("not a call")
        };
        assert_eq!(p.arguments.get("x"), Some(&serde_json::json!(1)));
        assert!(!parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_modern());
        assert_eq!(
            parse(
                r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"x"}}"#
            ),
            Message::Notification(Notification::Cancelled {
                request: Some(RequestId::Number(7)),
                reason: Some(serde_json::json!("x")),
            })
        );
        let Message::Request(r) = parse(r#"{"jsonrpc":"2.0","id":1,"method":"no/such"}"#) else {
            panic!("not a request")
        };
        assert_eq!(r.method, Method::Unknown("no/such".to_owned()));
    }
}
