//! `[telemetry]` of `berth.toml`: the raw section and its resolution into
//! [`TelemetryConfig`]. Imports only the telemetry module's types.

use super::{ConfigError, invalid};
use crate::telemetry::{DEFAULT_SERVICE_NAME, TelemetryConfig, traces_url};
use serde::Deserialize;

/// `[telemetry]`: span export, off unless `otlp_endpoint` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// The collector's OTLP/HTTP endpoint, e.g. `http://127.0.0.1:4318`
    /// (`/v1/traces` is appended unless given). Unset: no export.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans (default `berth`).
    pub service_name: Option<String>,
}

pub(super) fn resolve_telemetry(raw: RawTelemetry) -> Result<TelemetryConfig, ConfigError> {
    let otlp_endpoint = match raw.otlp_endpoint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(endpoint) => {
            Some(traces_url(endpoint).map_err(|e| invalid("telemetry.otlp_endpoint", e))?)
        }
    };
    let service_name = raw
        .service_name
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
    if service_name.trim().is_empty() || service_name.len() > 255 {
        return Err(invalid(
            "telemetry.service_name",
            "must be 1 to 255 characters".to_owned(),
        ));
    }
    Ok(TelemetryConfig {
        otlp_endpoint,
        service_name,
        ..TelemetryConfig::default()
    })
}
