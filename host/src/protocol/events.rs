//! Routes a running call's logs and progress to its client, gated by what
//! the request asked for.

use super::connection::Outbound;
use super::jsonrpc;
use crate::level::LogLevel;
use crate::plugin::CallEvents;
use serde_json::{Value, json};

/// The events sink of one request.
pub struct RequestEvents {
    /// Where notifications go.
    pub out: Outbound,
    /// Minimum level to forward; `None` forwards no logs.
    pub log_level: Option<LogLevel>,
    /// The request's progress token; `None` sends no progress.
    pub progress_token: Option<Value>,
}

impl CallEvents for RequestEvents {
    fn log(&self, plugin: &str, level: LogLevel, message: &str, data: Option<Value>) {
        if matches!(self.out, Outbound::Discard) || self.log_level.is_none_or(|min| level < min) {
            return;
        }
        let data = match data {
            None => Value::String(message.to_owned()),
            Some(d) => json!({ "message": message, "data": d }),
        };
        let params = json!({ "level": level.as_str(), "logger": plugin, "data": data });
        self.out
            .notify(jsonrpc::notification("notifications/message", &params));
    }

    fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = &self.progress_token else {
            return;
        };
        if matches!(self.out, Outbound::Discard) {
            return;
        }
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(obj) = params.as_object_mut() {
            if let Some(total) = total {
                obj.insert("total".to_owned(), json!(total));
            }
            if let Some(message) = message {
                obj.insert("message".to_owned(), Value::String(message));
            }
        }
        self.out
            .notify(jsonrpc::notification("notifications/progress", &params));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn sink(
        level: Option<LogLevel>,
        token: Option<Value>,
    ) -> (RequestEvents, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(16);
        (
            RequestEvents {
                out: Outbound::new(tx),
                log_level: level,
                progress_token: token,
            },
            rx,
        )
    }

    #[test]
    fn logs_below_the_level_or_without_one_are_not_sent() {
        let (events, mut rx) = sink(Some(LogLevel::Warning), None);
        events.log("p", LogLevel::Info, "quiet", None);
        events.log("p", LogLevel::Error, "loud", None);
        let sent: Value = serde_json::from_str(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(
            sent["params"],
            json!({"level": "error", "logger": "p", "data": "loud"})
        );
        assert!(rx.try_recv().is_err());
        let (events, mut rx) = sink(None, None);
        events.log("p", LogLevel::Emergency, "x", None);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn progress_needs_a_token_and_keeps_its_type() {
        let (events, mut rx) = sink(None, None);
        events.progress(1.0, None, None);
        assert!(rx.try_recv().is_err());
        let (events, mut rx) = sink(None, Some(json!("tok")));
        events.progress(1.0, Some(2.0), Some("half".to_owned()));
        let sent: Value = serde_json::from_str(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(
            sent["params"],
            json!({"progressToken": "tok", "progress": 1.0, "total": 2.0, "message": "half"})
        );
    }
}
