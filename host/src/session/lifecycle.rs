//! What a legacy session is at any moment and what happens to it: its
//! transport, lifecycle states, why it ended, and the events the
//! [`super::SessionManager`] emits. Plain data.

use super::id::SessionId;

/// Which transport a session arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// Newline-delimited JSON-RPC on stdin/stdout.
    Stdio,
    /// Streamable HTTP (`Mcp-Session-Id`).
    StreamableHttp,
    /// The deprecated HTTP+SSE transport (`/sse` + `/messages`).
    LegacySse,
}

impl TransportKind {
    /// A label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::StreamableHttp => "streamable_http",
            Self::LegacySse => "legacy_sse",
        }
    }
}

/// Lifecycle of an open session (a session is registered when it
/// answers `initialize`; once it ends it is gone, with a
/// [`SessionEvent`] saying why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// `initialize` answered, `notifications/initialized` not yet received.
    Initializing,
    /// Fully initialized.
    Ready,
}

impl SessionState {
    /// A label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initializing => "initializing",
            Self::Ready => "ready",
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client asked (HTTP DELETE).
    ClientRequest,
    /// The transport went away (stdin closed, SSE stream ended).
    TransportClosed,
    /// The server is shutting down.
    Shutdown,
}

/// Something that happened to a session, for tracing and embedders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A session was created.
    Created {
        /// Its id.
        id: SessionId,
        /// Its transport.
        transport: TransportKind,
    },
    /// The client finished initialization.
    Initialized {
        /// Its id.
        id: SessionId,
    },
    /// The session was closed.
    Closed {
        /// Its id.
        id: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// The session idled out.
    Expired {
        /// Its id.
        id: SessionId,
    },
}
