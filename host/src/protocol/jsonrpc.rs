//! JSON-RPC 2.0 framing: parsing one incoming message, writing responses
//! and notifications. Knows nothing of MCP methods.

use super::error::RpcError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request id: a string or an integer (never null).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl RequestId {
    /// Parses an id value.
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(Self::String(s.clone())),
            Value::Number(n) => n.as_i64().map(Self::Number),
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Number(n) => Value::from(*n),
            Self::String(s) => Value::from(s.as_str()),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => s.serialize_i64(*n),
            Self::String(v) => s.serialize_str(v),
        }
    }
}

/// One incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request, to be answered.
    Request {
        /// Its id.
        id: RequestId,
        /// The method.
        method: String,
        /// The params object (empty when absent).
        params: Map<String, Value>,
    },
    /// A notification, never answered.
    Notification {
        /// The method.
        method: String,
        /// The params object (empty when absent).
        params: Map<String, Value>,
    },
    /// A response to a request the server sent.
    Response {
        /// The id it answers.
        id: Option<RequestId>,
        /// Its result, or its error object.
        outcome: Result<Value, Value>,
    },
}

/// A message that could not be accepted, with the id to answer under (if
/// one could be read).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The request's id, when it could be read.
    pub id: Option<RequestId>,
    /// Why.
    pub error: RpcError,
}

/// The members of a message that JSON-RPC gives a meaning to, each kept as
/// sent (an explicit `null` included) and checked by [`parse`]. Read
/// straight from the text: no map of the whole message is built.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "present")]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    method: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Value>,
}

/// A member that is present, even as `null` (plain `Option` reads `null`
/// as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Why the text is not a message the envelope could read: not JSON, not
/// one object, or an object that names a member twice.
fn unreadable(text: &str, e: &serde_json::Error) -> RpcError {
    match serde_json::from_str::<Value>(text) {
        Err(_) => RpcError::Parse(e.to_string()),
        Ok(Value::Array(_)) => RpcError::InvalidRequest(
            "batches are not supported; send one message at a time".to_owned(),
        ),
        Ok(Value::Object(_)) => RpcError::InvalidRequest(e.to_string()),
        Ok(_) => RpcError::InvalidRequest("a message must be a JSON object".to_owned()),
    }
}

/// Parses one message.
///
/// # Errors
/// [`Rejected`] with −32700 for bad JSON, −32600 for anything that is not a
/// single JSON-RPC 2.0 message object, −32602 for non-object params.
pub fn parse(text: &str) -> Result<Incoming, Rejected> {
    let envelope: Envelope = serde_json::from_str(text).map_err(|e| Rejected {
        id: None,
        error: unreadable(text, &e),
    })?;
    let id = match &envelope.id {
        None => None,
        Some(v) => Some(RequestId::from_value(v).ok_or_else(|| Rejected {
            id: None,
            error: RpcError::InvalidRequest("id must be a string or an integer".to_owned()),
        })?),
    };
    let reject = |error| Rejected {
        id: id.clone(),
        error,
    };
    if envelope.jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
        return Err(reject(RpcError::InvalidRequest(
            "jsonrpc must be \"2.0\"".to_owned(),
        )));
    }
    match envelope.method {
        Some(Value::String(method)) => {
            let params = match envelope.params {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(map)) => map,
                Some(_) => {
                    return Err(reject(RpcError::InvalidParams(
                        "params must be an object".to_owned(),
                    )));
                }
            };
            Ok(match id {
                Some(id) => Incoming::Request { id, method, params },
                None => Incoming::Notification { method, params },
            })
        }
        Some(_) => Err(reject(RpcError::InvalidRequest(
            "method must be a string".to_owned(),
        ))),
        None => match (envelope.result, envelope.error) {
            (Some(result), None) => Ok(Incoming::Response {
                id,
                outcome: Ok(result),
            }),
            (None, Some(error)) => Ok(Incoming::Response {
                id,
                outcome: Err(error),
            }),
            (Some(_), Some(_)) => Err(reject(RpcError::InvalidRequest(
                "a response has a result or an error, not both".to_owned(),
            ))),
            (None, None) => Err(reject(RpcError::InvalidRequest(
                "a request needs a method".to_owned(),
            ))),
        },
    }
}

/// A request from the server to the client (`params` omitted when `None`).
pub fn request(id: &RequestId, method: &str, params: Option<&Value>) -> String {
    #[derive(Serialize)]
    struct RequestOut<'a> {
        jsonrpc: &'static str,
        id: &'a RequestId,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a Value>,
    }
    to_text(&RequestOut {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

#[derive(Serialize)]
struct ResultOut<'a, T: ?Sized> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: &'a T,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    error: Value,
}

#[derive(Serialize)]
struct NotificationOut<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a Value,
}

fn to_text<T: Serialize>(v: &T) -> String {
    // Serialising these plain structs of JSON values cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

/// A result response (a `Value`, or any result type written directly).
pub fn result<T: Serialize + ?Sized>(id: &RequestId, result: &T) -> String {
    to_text(&ResultOut {
        jsonrpc: "2.0",
        id,
        result,
    })
}

/// An error response; `id` is null when it could not be read.
pub fn error(id: Option<&RequestId>, error: &RpcError) -> String {
    to_text(&ErrorOut {
        jsonrpc: "2.0",
        id,
        error: error.to_wire(),
    })
}

/// A notification.
pub fn notification(method: &str, params: &Value) -> String {
    to_text(&NotificationOut {
        jsonrpc: "2.0",
        method,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Ok(Incoming::Request {
                id: RequestId::Number(1),
                ..
            })
        ));
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Incoming::Notification { .. })
        ));
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Ok(Incoming::Response { .. })
        ));
    }

    #[test]
    fn malformed_messages_get_the_right_codes() {
        let code = |t: &str| parse(t).unwrap_err().error.code();
        assert_eq!(code("{not json"), -32700);
        assert_eq!(code("[]"), -32600);
        assert_eq!(code("42"), -32600);
        assert_eq!(code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), -32600);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            -32600
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            -32600
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#), -32600);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#),
            -32600
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#), -32700);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            -32602
        );
        // The id is kept when it could be read, so the error can be matched.
        let r = parse(r#"{"jsonrpc":"2.0","id":"k","method":"x","params":3}"#).unwrap_err();
        assert_eq!(r.id, Some(RequestId::String("k".to_owned())));
    }

    #[test]
    fn responses_serialise_as_json_rpc() {
        let id = RequestId::Number(3);
        assert_eq!(
            result(&id, &json!({})),
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#
        );
        let e = error(None, &RpcError::Parse("x".to_owned()));
        let v: Value = serde_json::from_str(&e).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["error"]["code"], -32700);
    }
}
