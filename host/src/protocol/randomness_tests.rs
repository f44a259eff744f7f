//! Tests of the randomness policy on a running server: without OS
//! randomness, a request that needs a session id or a handle fails with
//! an internal error (logged), and the server keeps serving.

use super::tools::SESSION_OPEN;
use super::{Connection, Outbound, Server};
use crate::auth::Principal;
use crate::config::{Overrides, RawConfig};
use crate::session::{TransportKind, failing_randomness};
use serde_json::{Value, json};
use std::sync::Arc;

async fn request(server: &Server, conn: &Arc<Connection>, out: &Outbound, message: Value) -> Value {
    let reply = server.handle(conn, &message.to_string(), out).await;
    serde_json::from_str(&reply.unwrap_or_default()).unwrap()
}

#[tokio::test]
async fn without_os_randomness_a_session_or_handle_is_an_internal_error() {
    let config = RawConfig::default().resolve(Overrides::default()).unwrap();
    let host = crate::Host::builder().config(config).build().await.unwrap();
    let server = host.server();
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let out = Outbound::new(tx);
    let conn = Arc::new(Connection::new(
        Principal::anonymous(),
        TransportKind::Stdio,
        server.kv().clone(),
    ));
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}}});
    let failing = failing_randomness::Guard::new();
    let reply = request(server, &conn, &out, initialize.clone()).await;
    assert_eq!(reply["error"]["code"], -32603, "{reply}");
    assert_eq!(reply["error"]["message"], "Internal error", "{reply}");
    drop(failing);
    // The connection is not spoiled: with randomness, it initializes.
    let reply = request(server, &conn, &out, initialize).await;
    assert!(reply["result"]["protocolVersion"].is_string(), "{reply}");
    let open = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": SESSION_OPEN, "arguments": {}}});
    let failing = failing_randomness::Guard::new();
    let reply = request(server, &conn, &out, open.clone()).await;
    assert_eq!(reply["error"]["code"], -32603, "{reply}");
    drop(failing);
    let reply = request(server, &conn, &out, open).await;
    let handle = &reply["result"]["structuredContent"]["session"];
    assert!(
        handle.as_str().is_some_and(|h| h.starts_with("bs_")),
        "{reply}"
    );
}
