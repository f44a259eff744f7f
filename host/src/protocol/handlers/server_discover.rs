//! `server/discover` (2026-07-28): the versions and capabilities berth
//! serves.

use super::super::era;
use super::super::server::Server;
use serde_json::{Value, json};

pub(in super::super) fn run(server: &Server) -> Value {
    json!({
        "supportedVersions": era::ALL_VERSIONS,
        "capabilities": Server::capabilities(),
        "ttlMs": server.options.list_ttl_ms,
        "cacheScope": "public",
    })
}
