//! Log messages, sent to the client (when it asked for the level) and to the
//! host's log.

use crate::bindings::berth::plugin::context::log as host_log;
pub use crate::bindings::berth::plugin::types::LogLevel as Level;

/// Logs `message` at `level` with optional structured JSON `data`.
pub fn log(level: Level, message: &str, data: Option<&serde_json::Value>) {
    let data = data.map(serde_json::Value::to_string);
    host_log(level, message, data.as_deref());
}

/// Logs at `debug`.
pub fn debug(message: &str) {
    log(Level::Debug, message, None);
}

/// Logs at `info`.
pub fn info(message: &str) {
    log(Level::Info, message, None);
}

/// Logs at `notice`.
pub fn notice(message: &str) {
    log(Level::Notice, message, None);
}

/// Logs at `warning`.
pub fn warning(message: &str) {
    log(Level::Warning, message, None);
}

/// Logs at `error`.
pub fn error(message: &str) {
    log(Level::Error, message, None);
}
