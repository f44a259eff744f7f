//! `logging/setLevel` (legacy): the session's minimum log level.

use super::super::connection::Connection;
use super::super::params::SetLevelParams;
use serde_json::{Value, json};

pub(in super::super) fn run(conn: &Connection, p: SetLevelParams) -> Value {
    conn.with_legacy(|s| {
        if let Some(s) = s {
            s.log_level = p.level;
            s.log_level_set = true;
        }
    });
    json!({})
}
