//! Transports: how MCP messages reach the protocol engine.
//!
//! Owns framing and I/O only (stdio today; Streamable HTTP and legacy
//! HTTP+SSE next). Everything MCP-specific is in `protocol`.

pub mod stdio;
