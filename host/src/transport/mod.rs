//! Transports: how MCP messages reach the protocol engine.
//!
//! Owns framing and I/O only: stdio, and over HTTP the Streamable HTTP
//! endpoint (both eras), the deprecated HTTP+SSE endpoints, and the
//! operational endpoints. The only module that knows axum. Everything
//! MCP-specific is in `protocol`.

pub mod http;
mod lines;
pub mod stdio;
