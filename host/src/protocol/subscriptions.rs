//! `subscriptions/listen` (2026-07-28): a long-lived request whose answer
//! is a stream of the change notifications the client asked for, each
//! tagged with the subscription's id.

use super::error::RpcError;
use super::jsonrpc;
use super::server::{Request, Server};
use crate::plugin::Change;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Most resource URIs one subscription may name.
const MAX_RESOURCE_SUBSCRIPTIONS: usize = 1000;

/// The `notifications` filter of a listen request, as berth honours it.
struct Filter {
    tools: bool,
    resources: Vec<String>,
}

impl Filter {
    fn parse(params: &Map<String, Value>) -> Result<Self, RpcError> {
        let Some(filter) = params.get("notifications") else {
            return Ok(Self {
                tools: false,
                resources: Vec::new(),
            });
        };
        let filter = filter
            .as_object()
            .ok_or_else(|| RpcError::InvalidParams("notifications must be an object".to_owned()))?;
        let resources: Vec<String> = match filter.get("resourceSubscriptions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(uris)) => uris
                .iter()
                .map(|u| u.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    RpcError::InvalidParams("resourceSubscriptions must be strings".to_owned())
                })?,
            Some(_) => {
                return Err(RpcError::InvalidParams(
                    "resourceSubscriptions must be an array".to_owned(),
                ));
            }
        };
        if resources.len() > MAX_RESOURCE_SUBSCRIPTIONS {
            return Err(RpcError::InvalidParams(format!(
                "at most {MAX_RESOURCE_SUBSCRIPTIONS} resource subscriptions per stream"
            )));
        }
        Ok(Self {
            tools: filter.get("toolsListChanged") == Some(&Value::Bool(true)),
            resources,
        })
    }

    /// What is acknowledged: only what berth delivers. Prompt and
    /// resource list changes come with the plugins that can change them.
    fn acknowledged(&self) -> Value {
        let mut ack = Map::new();
        if self.tools {
            ack.insert("toolsListChanged".to_owned(), Value::Bool(true));
        }
        if !self.resources.is_empty() {
            ack.insert("resourceSubscriptions".to_owned(), json!(self.resources));
        }
        Value::Object(ack)
    }
}

impl Server {
    pub(super) async fn listen(&self, req: &Request<'_>) -> Result<Value, RpcError> {
        let filter = Filter::parse(&req.params)?;
        // Subscribe before acknowledging, so nothing falls in between.
        let mut changes = self.plugins.subscribe();
        let meta = json!({ "io.modelcontextprotocol/subscriptionId": req.id.to_value() });
        let notify = |method: &str, mut params: Value| {
            if let Some(p) = params.as_object_mut() {
                p.insert("_meta".to_owned(), meta.clone());
            }
            jsonrpc::notification(method, &params)
        };
        req.out
            .send(notify(
                "notifications/subscriptions/acknowledged",
                json!({ "notifications": filter.acknowledged() }),
            ))
            .await;
        loop {
            let change = tokio::select! {
                () = req.cancel.cancelled() => return Ok(json!({})),
                change = changes.recv() => change,
            };
            match change {
                Ok(Change::ToolsListChanged) | Err(RecvError::Lagged(_)) if filter.tools => {
                    // A lagging subscriber may have missed a change: say so.
                    req.out
                        .send(notify("notifications/tools/list_changed", json!({})))
                        .await;
                }
                Ok(Change::ResourceUpdated(uri))
                    if filter.resources.iter().any(|r| **r == *uri) =>
                {
                    req.out
                        .send(notify(
                            "notifications/resources/updated",
                            json!({ "uri": &*uri }),
                        ))
                        .await;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                // The server is going away: end the subscription gracefully.
                Err(RecvError::Closed) => return Ok(json!({})),
            }
        }
    }
}

/// The next change a legacy session must hear about, as the notification
/// to send (legacy sessions get tool-list changes unasked). A lagging
/// receiver may have missed one, so it is told the list changed. `None`
/// when the feed is over. Cancel-safe: nothing is lost if dropped.
pub async fn next_legacy_notice(changes: &mut broadcast::Receiver<Change>) -> Option<String> {
    loop {
        match changes.recv().await {
            Ok(Change::ToolsListChanged) | Err(RecvError::Lagged(_)) => {
                return Some(jsonrpc::notification(
                    "notifications/tools/list_changed",
                    &json!({}),
                ));
            }
            Ok(Change::ResourceUpdated(_)) => {}
            Err(RecvError::Closed) => return None,
        }
    }
}
