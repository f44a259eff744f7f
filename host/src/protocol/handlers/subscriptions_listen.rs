//! `subscriptions/listen` (2026-07-28): a long-lived request whose answer
//! is a stream of the change notifications the client asked for, each
//! tagged with the subscription's id.
//!
//! A subscriber that cannot keep up (its queue is full, or it fell behind
//! the change feed) is not silently starved: the listen ends with an error
//! that says so, and the loss is counted.

use super::super::connection::Offered;
use super::super::error::RpcError;
use super::super::jsonrpc;
use super::super::params::ListenParams;
use super::super::server::Server;
use super::super::subscriptions::list_notices;
use super::Ctx;
use crate::plugin::Change;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;

/// What is acknowledged: what berth delivers of what was asked.
fn acknowledged(p: &ListenParams) -> Value {
    let mut ack = Map::new();
    for (on, key) in [
        (p.lists.tools, "toolsListChanged"),
        (p.lists.prompts, "promptsListChanged"),
        (p.lists.resources, "resourcesListChanged"),
    ] {
        if on {
            ack.insert(key.to_owned(), Value::Bool(true));
        }
    }
    if !p.resources.is_empty() {
        ack.insert("resourceSubscriptions".to_owned(), json!(p.resources));
    }
    Value::Object(ack)
}

/// Counts a subscriber closed for lagging; the error ends its stream.
fn lagged(server: &Server, missed: u64) -> RpcError {
    server.subscribers.lagged(missed);
    tracing::debug!(missed, "a subscriber fell behind; its stream is closed");
    RpcError::SubscriberLagged { missed }
}

pub(in super::super) async fn run(
    server: &Server,
    ctx: &Ctx<'_>,
    filter: ListenParams,
) -> Result<Value, RpcError> {
    // Subscribe before acknowledging, so nothing falls in between.
    let mut changes = server.plugins.subscribe();
    let meta = json!({ "io.modelcontextprotocol/subscriptionId": ctx.id.to_value() });
    let notify = |method: &str, mut params: Value| {
        if let Some(p) = params.as_object_mut() {
            p.insert("_meta".to_owned(), meta.clone());
        }
        jsonrpc::notification(method, &params)
    };
    ctx.out
        .send(notify(
            "notifications/subscriptions/acknowledged",
            json!({ "notifications": acknowledged(&filter) }),
        ))
        .await;
    loop {
        let change = tokio::select! {
            () = ctx.cancel.cancelled() => return Ok(json!({})),
            // Nobody can cancel it any more: end it.
            () = ctx.conn.input_ended() => return Ok(json!({})),
            change = changes.recv() => change,
        };
        let notices: Vec<(&str, Value)> = match change {
            Ok(Change::ListsChanged(lists)) => list_notices(lists, filter.lists),
            // Changes were lost before this stream even saw them.
            Err(RecvError::Lagged(missed)) => return Err(lagged(server, missed)),
            Ok(Change::ResourceUpdated(uri)) if filter.resources.iter().any(|r| **r == *uri) => {
                vec![("notifications/resources/updated", json!({ "uri": &*uri }))]
            }
            Ok(Change::ResourceUpdated(_)) => Vec::new(),
            // The server is going away: end the subscription gracefully.
            Err(RecvError::Closed) => return Ok(json!({})),
        };
        let count = notices.len() as u64;
        for (sent, (method, params)) in (0u64..).zip(notices) {
            // Never wait for a slow reader: that would only move the
            // loss upstream, where nobody sees it.
            match ctx.out.offer(notify(method, params)) {
                Offered::Taken => {}
                Offered::Full => return Err(lagged(server, count - sent)),
                Offered::Closed => return Ok(json!({})),
            }
        }
    }
}
