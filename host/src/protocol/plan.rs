//! How the answer to a request travels ([`Plan`]), decided by the protocol
//! for the transport to render: one JSON response, a stream, a resumable
//! stream, or a listen stream; and the 2026-07-28 header checks that come
//! first over HTTP. Must not import `transport`.

use super::connection::Connection;
use super::error::RpcError;
use super::headers::Header;
use super::request::{Method, Request};
use super::server::Server;

/// How the answer to a request travels; the transport renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// One JSON response.
    Json,
    /// A stream of the request's notifications, then its response; closing
    /// it cancels the request (2026-07-28).
    Stream,
    /// Like `Stream`, but resumable with `Last-Event-ID`: the request goes
    /// on for a grace if the stream breaks (legacy sessions).
    Resumable,
    /// A stream of notifications that lasts until the client closes it
    /// (`subscriptions/listen`).
    Listen,
}

impl Server {
    /// How the answer to an HTTP request travels, given what the client
    /// accepts; a modern request's headers (looked up by `header`) are
    /// checked against its body first.
    ///
    /// # Errors
    /// `HeaderMismatch` for a modern header that does not match the body;
    /// −32600 for `subscriptions/listen` without a stream.
    pub fn plan<'h>(
        &self,
        request: &Request,
        conn: &Connection,
        accepts_stream: bool,
        header: impl Fn(&str) -> Header<'h>,
    ) -> Result<Plan, RpcError> {
        if request.meta.is_modern() {
            self.check_modern_headers(request, header)?;
        }
        plan(request, conn, accepts_stream)
    }
}

/// How the answer travels, given what the client accepts: a stream
/// when the request will have something to say on the way (progress
/// or logs it asked for, questions for a legacy client that can answer
/// them), JSON otherwise.
///
/// # Errors
/// −32600 for `subscriptions/listen` from a client that does not
/// accept a stream.
fn plan(request: &Request, conn: &Connection, accepts_stream: bool) -> Result<Plan, RpcError> {
    let call = matches!(request.method, Method::CallTool(_));
    if request.meta.is_modern() {
        if matches!(request.method, Method::Listen(_)) {
            if !accepts_stream {
                return Err(RpcError::InvalidRequest(
                    "subscriptions/listen answers with a stream: send Accept: text/event-stream"
                        .to_owned(),
                ));
            }
            return Ok(Plan::Listen);
        }
        let events = request.meta.log_level.is_some() || request.meta.progress_token.is_some();
        return Ok(if call && events && accepts_stream {
            Plan::Stream
        } else {
            Plan::Json
        });
    }
    let may_ask = (call || matches!(request.method, Method::GetPrompt(_))) && conn.can_be_asked();
    let events = call && (request.meta.progress_token.is_some() || conn.wants_logs());
    Ok(if accepts_stream && (may_ask || events) {
        Plan::Resumable
    } else {
        Plan::Json
    })
}
