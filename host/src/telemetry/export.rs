//! Span export over OTLP/HTTP (protobuf), in batches on a thread of its
//! own, so a slow or absent collector never delays a request: spans wait
//! in a bounded queue (dropped when it is full) and a batch is sent every
//! few seconds. Each send runs on the Tokio runtime `init` was called in,
//! with berth's own hyper (no second HTTP or TLS stack). Failures are
//! logged at most once a minute, with a count of those not logged.

use super::TelemetryError;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one batch may take to send (retries included).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a batch is sent.
const EXPORT_EVERY: Duration = Duration::from_secs(2);
/// Most spans waiting to be sent; more are dropped.
const QUEUE: usize = 4096;
/// How long shutdown waits for the last batch.
pub(super) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Least time between two logged export failures.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// A tracer provider that batches spans to `endpoint` (a traces URL).
pub(super) fn provider(
    endpoint: &str,
    service_name: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| TelemetryError::NoRuntime)?;
    let otlp = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    let exporter = OnRuntime {
        inner: Arc::new(otlp),
        runtime,
        endpoint: endpoint.to_owned(),
        failures: Throttle::new(LOG_EVERY),
    };
    let batches = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE)
                .with_scheduled_delay(EXPORT_EVERY)
                .build(),
        )
        .build();
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(resource)
        .build())
}

/// The OTLP exporter, run on the Tokio runtime from the batch thread
/// (which has none), its failures logged sparingly.
#[derive(Debug)]
struct OnRuntime {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    runtime: tokio::runtime::Handle,
    endpoint: String,
    failures: Throttle,
}

impl SpanExporter for OnRuntime {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let inner = self.inner.clone();
        let sent = self
            .runtime
            .spawn(async move { inner.export(batch).await })
            .await;
        let result = match sent {
            Ok(result) => result,
            Err(e) => Err(OTelSdkError::InternalFailure(format!(
                "the runtime stopped the export: {e}"
            ))),
        };
        if let Err(e) = &result
            && let Some(missed) = self.failures.allow()
        {
            tracing::warn!(
                endpoint = %self.endpoint,
                error = %e,
                not_logged = missed,
                "cannot export spans (logged at most once a minute)"
            );
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called once, before any export shares `inner`.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

/// Lets one event through per period, counting the others.
#[derive(Debug)]
struct Throttle {
    start: Instant,
    every: Duration,
    /// When the last event was let through (ms since `start`, plus one;
    /// zero: never).
    last: AtomicU64,
    missed: AtomicU64,
}

impl Throttle {
    fn new(every: Duration) -> Self {
        Self {
            start: Instant::now(),
            every,
            last: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        }
    }

    /// `Some(events held back since the last one let through)` when this
    /// one may be logged.
    fn allow(&self) -> Option<u64> {
        let now = u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.last.load(Ordering::Relaxed);
        let every = u64::try_from(self.every.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now.saturating_sub(last) < every
            || self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            self.missed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.missed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_event_through_per_period_and_counts_the_rest() {
        let t = Throttle::new(Duration::from_secs(3600));
        assert_eq!(t.allow(), Some(0));
        assert_eq!(t.allow(), None);
        assert_eq!(t.allow(), None);
        let t = Throttle::new(Duration::ZERO);
        assert_eq!(t.allow(), Some(0));
        assert_eq!(t.allow(), Some(0));
    }
}
