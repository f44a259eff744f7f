//! `initialize` (legacy): negotiates the version and opens the
//! connection's session.

use super::super::connection::Connection;
use super::super::era;
use super::super::error::RpcError;
use super::super::params::InitializeParams;
use super::super::server::Server;
use crate::session::{LegacySession, SessionId};
use serde_json::{Value, json};
use std::sync::Arc;

pub(in super::super) fn run(
    server: &Server,
    conn: &Arc<Connection>,
    p: InitializeParams,
) -> Result<Value, RpcError> {
    let version = era::negotiate(p.protocol_version.as_deref());
    let session = conn.with_legacy(|slot| {
        if slot.is_some() {
            return Err(RpcError::InvalidRequest(
                "already initialized: a connection has one session".to_owned(),
            ));
        }
        let id = match conn.preset_session_id() {
            Some(id) => id.clone(),
            None => SessionId::generate().map_err(|e| {
                tracing::error!(error = %e, "cannot make a session id");
                RpcError::Internal
            })?,
        };
        let session = LegacySession::new(id, version, p.capabilities, p.client_info);
        *slot = Some(session.clone());
        Ok(session)
    })?;
    // A preset session (HTTP+SSE) was registered when its stream opened.
    if conn.preset_session_id().is_none()
        && let Err(e) = server.sessions.create(
            session.id.clone(),
            conn.principal(),
            conn.transport(),
            conn.clone(),
        )
    {
        conn.with_legacy(|slot| *slot = None);
        return Err(RpcError::TooManySessions(e.to_string()));
    }
    tracing::debug!(session = %session.id, version, client = %session.client_info, "initialized");
    Ok(json!({
        "protocolVersion": version,
        "capabilities": Server::capabilities(),
        "serverInfo": server.server_info(),
        "instructions": "Tools come from sandboxed WebAssembly plugins. Stateful tools keep state per session.",
    }))
}
