//! Call metrics: counts by plugin, tool and outcome, and a latency
//! histogram; and what subscribers that fell behind lost. Rendered by the
//! transport's `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A result (not an error).
    Ok,
    /// A tool error returned by the plugin or the host's argument checks.
    ToolError,
    /// Stopped at the deadline.
    Deadline,
    /// Stopped at the memory limit.
    Memory,
    /// Stopped at the CPU budget.
    Cpu,
    /// The plugin trapped.
    Trap,
    /// The client cancelled.
    Cancelled,
    /// Refused: the caller had too many calls running and waiting.
    Busy,
}

impl Outcome {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Deadline => "deadline",
            Self::Memory => "memory",
            Self::Cpu => "cpu",
            Self::Trap => "trap",
            Self::Cancelled => "cancelled",
            Self::Busy => "busy",
        }
    }
}

type Key = (Arc<str>, Arc<str>, Outcome);

/// Counters and histogram of plugin calls.
#[derive(Default)]
pub struct CallMetrics {
    counts: Mutex<HashMap<Key, u64>>,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// A copy of the metrics for rendering.
#[derive(Debug, Clone, Default)]
pub struct CallSnapshot {
    /// (plugin, tool, outcome) → calls, sorted.
    pub counts: Vec<(Key, u64)>,
    /// Cumulative bucket counts, one per [`LATENCY_BUCKETS`] bound.
    pub buckets: Vec<u64>,
    /// Number of calls observed.
    pub count: u64,
    /// Sum of latencies in seconds.
    pub sum_seconds: f64,
}

impl CallMetrics {
    /// Records one call.
    pub fn record(&self, plugin: &Arc<str>, tool: &Arc<str>, outcome: Outcome, latency: Duration) {
        self.count_outcome(plugin, tool, outcome);
        let secs = latency.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Counts an outcome that involved no plugin call (e.g. arguments
    /// refused by the schema), so it stays out of the latency histogram.
    pub fn count_outcome(&self, plugin: &Arc<str>, tool: &Arc<str>, outcome: Outcome) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match counts.get_mut(&(plugin.clone(), tool.clone(), outcome)) {
            Some(n) => *n += 1,
            None => {
                counts.insert((plugin.clone(), tool.clone(), outcome), 1);
            }
        }
    }

    /// A consistent-enough copy for rendering.
    pub fn snapshot(&self) -> CallSnapshot {
        let mut counts: Vec<(Key, u64)> = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        counts.sort_by(|a, b| {
            (&a.0.0, &a.0.1, a.0.2.as_str()).cmp(&(&b.0.0, &b.0.1, b.0.2.as_str()))
        });
        let mut running = 0;
        let buckets = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        CallSnapshot {
            counts,
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Counters of subscriber streams (`subscriptions/listen`, legacy GET and
/// `/sse` streams) that could not keep up.
#[derive(Debug, Default)]
pub struct SubscriberMetrics {
    dropped: AtomicU64,
    closed_lagged: AtomicU64,
}

impl SubscriberMetrics {
    /// A subscriber stream fell behind, missed `missed` notifications and
    /// was closed.
    pub fn lagged(&self, missed: u64) {
        self.dropped.fetch_add(missed, Ordering::Relaxed);
        self.closed_lagged.fetch_add(1, Ordering::Relaxed);
    }

    /// Notifications dropped in total, and streams closed for lagging.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.closed_lagged.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_label_and_bucketed_cumulatively() {
        let m = CallMetrics::default();
        let (p, t) = (Arc::from("hello"), Arc::from("hello_greet"));
        m.record(&p, &t, Outcome::Ok, Duration::from_micros(50));
        m.record(&p, &t, Outcome::Ok, Duration::from_millis(3));
        m.record(&p, &t, Outcome::Trap, Duration::from_secs(60));
        let s = m.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.counts.len(), 2);
        assert_eq!(s.counts[0].1, 2);
        assert_eq!(s.buckets[0], 1); // ≤ 100 µs
        assert_eq!(s.buckets[5], 2); // ≤ 5 ms
        assert_eq!(*s.buckets.last().unwrap(), 2); // 60 s is past every bound
        // An outcome without a call is counted, not timed.
        m.count_outcome(&p, &t, Outcome::ToolError);
        let s = m.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.counts.len(), 3);
    }
}
