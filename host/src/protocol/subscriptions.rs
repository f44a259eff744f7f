//! The feed of a legacy session's own stream: list changes (legacy
//! sessions get them unasked) and updates of the resources it subscribed
//! to, as notifications; and the list-changed notices a
//! `subscriptions/listen` stream asked for.
//!
//! A feed that falls behind tells its transport ([`LegacyFeed::Lagged`]);
//! the loss is counted in [`super::metrics::SubscriberMetrics`].

use super::connection::Connection;
use super::jsonrpc;
use crate::plugin::{Change, Lists};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// The list-changed notifications for `changed`, of the lists in `wanted`.
pub(super) fn list_notices(changed: Lists, wanted: Lists) -> Vec<(&'static str, Value)> {
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

/// The `n`th keep-alive `ping` the server sends on a legacy session's
/// stream.
pub fn keepalive_ping(n: u64) -> String {
    let id = jsonrpc::RequestId::String(format!("berth-ping-{n}"));
    jsonrpc::request(&id, "ping", None)
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
