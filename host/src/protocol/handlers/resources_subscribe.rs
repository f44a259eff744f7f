//! `resources/subscribe` and `resources/unsubscribe` (legacy): which
//! resources' updates the session's stream carries.

use super::super::connection::Connection;
use super::super::error::RpcError;
use super::super::params::SubscribeParams;
use serde_json::{Value, json};

/// Most resources one legacy session may subscribe to.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// Subscribes (`on`) or unsubscribes.
pub(in super::super) fn run(
    conn: &Connection,
    p: &SubscribeParams,
    on: bool,
) -> Result<Value, RpcError> {
    let uri = p.uri.as_str();
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
