//! `subscriptions/listen` (2026-07-28): a long-lived request whose answer
//! is a stream of the change notifications the client asked for, each
//! tagged with the subscription's id; and the feed of a legacy session's
//! own stream.
//!
//! A subscriber that cannot keep up (its queue is full, or it fell behind
//! the change feed) is not silently starved: a listen ends with an error
//! that says so, a legacy feed tells its transport ([`LegacyFeed::Lagged`]),
//! and the loss is counted in [`super::metrics::SubscriberMetrics`].

use super::connection::{Connection, Offered};
use super::error::RpcError;
use super::jsonrpc;
use super::server::{Request, Server};
use crate::plugin::{Change, Lists};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Most resource URIs one subscription may name.
const MAX_RESOURCE_SUBSCRIPTIONS: usize = 1000;

/// The `notifications` filter of a listen request, as berth honours it.
struct Filter {
    lists: Lists,
    resources: Vec<String>,
}

impl Filter {
    fn parse(params: &Map<String, Value>) -> Result<Self, RpcError> {
        let Some(filter) = params.get("notifications") else {
            return Ok(Self {
                lists: Lists::default(),
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

    /// What is acknowledged: what berth delivers of what was asked.
    fn acknowledged(&self) -> Value {
        let mut ack = Map::new();
        for (on, key) in [
            (self.lists.tools, "toolsListChanged"),
            (self.lists.prompts, "promptsListChanged"),
            (self.lists.resources, "resourcesListChanged"),
        ] {
            if on {
                ack.insert(key.to_owned(), Value::Bool(true));
            }
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
                // Nobody can cancel it any more: end it.
                () = req.conn.input_ended() => return Ok(json!({})),
                change = changes.recv() => change,
            };
            let notices: Vec<(&str, Value)> = match change {
                Ok(Change::ListsChanged(lists)) => list_notices(lists, filter.lists),
                // Changes were lost before this stream even saw them.
                Err(RecvError::Lagged(missed)) => return Err(self.lagged(missed)),
                Ok(Change::ResourceUpdated(uri))
                    if filter.resources.iter().any(|r| **r == *uri) =>
                {
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
                match req.out.offer(notify(method, params)) {
                    Offered::Taken => {}
                    Offered::Full => return Err(self.lagged(count - sent)),
                    Offered::Closed => return Ok(json!({})),
                }
            }
        }
    }

    /// Counts a subscriber closed for lagging; the error ends its stream.
    fn lagged(&self, missed: u64) -> RpcError {
        self.subscribers.lagged(missed);
        tracing::debug!(missed, "a subscriber fell behind; its stream is closed");
        RpcError::SubscriberLagged { missed }
    }
}

/// The list-changed notifications for `changed`, of the lists in `wanted`.
fn list_notices(changed: Lists, wanted: Lists) -> Vec<(&'static str, Value)> {
    [
        (
            changed.tools && wanted.tools,
            "notifications/tools/list_changed",
        ),
        (
            changed.prompts && wanted.prompts,
            "notifications/prompts/list_changed",
        ),
        (
            changed.resources && wanted.resources,
            "notifications/resources/list_changed",
        ),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, m)| (m, json!({})))
    .collect()
}

/// What a legacy session's feed yields next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyFeed {
    /// Notifications to send.
    Notices(Vec<String>),
    /// The feed fell behind and lost this many changes.
    Lagged(u64),
    /// The feed is over (the server is going away).
    Over,
}

/// The next thing a legacy session must hear: list changes (legacy
/// sessions get them unasked) and updates of resources it subscribed to.
/// Cancel-safe: nothing is lost if dropped.
pub async fn next_legacy_feed(
    changes: &mut broadcast::Receiver<Change>,
    conn: &Connection,
) -> LegacyFeed {
    loop {
        let notices = match changes.recv().await {
            Ok(Change::ListsChanged(lists)) => list_notices(lists, Lists::all()),
            Err(RecvError::Lagged(missed)) => return LegacyFeed::Lagged(missed),
            Ok(Change::ResourceUpdated(uri)) if conn.is_subscribed(&uri) => {
                vec![("notifications/resources/updated", json!({ "uri": &*uri }))]
            }
            Ok(Change::ResourceUpdated(_)) => continue,
            Err(RecvError::Closed) => return LegacyFeed::Over,
        };
        if !notices.is_empty() {
            return LegacyFeed::Notices(
                notices
                    .into_iter()
                    .map(|(m, p)| jsonrpc::notification(m, &p))
                    .collect(),
            );
        }
    }
}

/// [`next_legacy_feed`] for a feed that cannot be closed (stdio): a
/// lagging receiver may have missed a change, so it is told every list
/// changed. `None` when the feed is over.
pub async fn next_legacy_notices(
    changes: &mut broadcast::Receiver<Change>,
    conn: &Connection,
) -> Option<Vec<String>> {
    match next_legacy_feed(changes, conn).await {
        LegacyFeed::Notices(notices) => Some(notices),
        LegacyFeed::Lagged(_) => Some(
            list_notices(Lists::all(), Lists::all())
                .into_iter()
                .map(|(m, p)| jsonrpc::notification(m, &p))
                .collect(),
        ),
        LegacyFeed::Over => None,
    }
}

/// The last message of a legacy stream closed for lagging: a warning log
/// notification, the only thing every legacy client understands.
pub fn lagged_notice(missed: u64) -> String {
    jsonrpc::notification(
        "notifications/message",
        &json!({
            "level": "warning",
            "logger": "berth",
            "data": {
                "message": "this stream fell behind and is closed; notifications were lost: open the stream again and re-read what you track",
                "reason": "lagged",
                "missed": missed,
            }
        }),
    )
}

/// Most resources one legacy session may subscribe to.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// `resources/subscribe` (`on`) and `resources/unsubscribe` of a legacy
/// session.
pub(super) fn subscribe(
    conn: &Connection,
    params: &Map<String, Value>,
    on: bool,
) -> Result<Value, RpcError> {
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| RpcError::InvalidParams("uri must be a non-empty string".to_owned()))?;
    conn.with_legacy(|s| match s {
        Some(s) if on => {
            if s.subscriptions.len() >= MAX_SUBSCRIPTIONS && !s.subscriptions.contains(uri) {
                return Err(RpcError::InvalidParams(format!(
                    "at most {MAX_SUBSCRIPTIONS} resource subscriptions per session"
                )));
            }
            s.subscriptions.insert(uri.to_owned());
            Ok(())
        }
        Some(s) => {
            s.subscriptions.remove(uri);
            Ok(())
        }
        None => Ok(()),
    })?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_changes_become_the_notifications_each_listener_asked_for() {
        let changed = Lists {
            tools: false,
            resources: true,
            prompts: true,
        };
        let methods = |wanted| {
            list_notices(changed, wanted)
                .into_iter()
                .map(|(m, _)| m)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            methods(Lists::all()),
            [
                "notifications/prompts/list_changed",
                "notifications/resources/list_changed"
            ]
        );
        let only_tools = Lists {
            tools: true,
            ..Lists::default()
        };
        assert!(methods(only_tools).is_empty());
    }
}
