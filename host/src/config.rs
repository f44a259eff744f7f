//! Configuration: `berth.toml`, then environment and command-line flags,
//! merged into one validated [`Config`].
//!
//! [`RawConfig`] mirrors the file (unknown keys are an error); [`Overrides`]
//! carries what `main` read from flags and `BERTH_*` variables. Imports only
//! the types it configures (`kv`, `session`, `plugin`, `protocol` and
//! `transport::http` options, `telemetry`). The sandbox sections
//! (`[secrets]`, `[sandbox]`) are in `config/grants.rs`, `[telemetry]` in
//! `config/telemetry.rs`.

mod grants;
mod http;
mod telemetry;
pub use grants::{NamedSecretError, RawSandbox, RawSecret};
pub use http::RawHttp;
use http::resolve_http;
pub use telemetry::RawTelemetry;
use telemetry::resolve_telemetry;

use crate::auth::{ApiKey, ApiKeys, Principal, TenantId};
pub use crate::kv::KvLimits;
use crate::plugin::Limits;
pub use crate::plugin::RuntimeOptions;
pub use crate::protocol::ServerOptions;
use crate::protocol::seal::SealKey;
use crate::session::RandomnessError;
pub use crate::session::{HandleLimits, SessionLimits};
use crate::telemetry::TelemetryConfig;
pub use crate::transport::http::HttpOptions;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read. The message names the file; the I/O
    /// error is its source (printed once, by whoever prints the chain).
    #[error("cannot read the configuration file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error (names the key).
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// The key, e.g. `limits.memory_mb`.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// A value the layer it configures refuses (its error is the source).
    #[error("invalid setting {key}: {source}")]
    Refused {
        /// The key, e.g. `auth.api_keys`.
        key: &'static str,
        /// The layer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The OS has no randomness: berth does not start without it (it needs
    /// it for the `requestState` key, session ids and handles).
    #[error(
        "berth needs OS randomness (for the key that signs requestState, session ids and handles) and does not start without it: {0}"
    )]
    Randomness(#[source] RandomnessError),
}

impl ConfigError {
    /// The setting refused, for [`ConfigError::Invalid`] and
    /// [`ConfigError::Refused`].
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { key, .. } | Self::Refused { key, .. } => Some(key),
            Self::Read { .. } | Self::Parse { .. } | Self::Randomness(_) => None,
        }
    }
}

/// The file, as written. Every section and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Plugin discovery.
    #[serde(default)]
    pub plugins: RawPlugins,
    /// Default per-call limits.
    #[serde(default)]
    pub limits: RawLimits,
    /// Key-value state quotas.
    #[serde(default)]
    pub state: RawState,
    /// Modern-era session handles.
    #[serde(default)]
    pub sessions: RawSessions,
    /// Protocol behaviour.
    #[serde(default)]
    pub protocol: RawProtocol,
    /// The HTTP transport.
    #[serde(default)]
    pub http: RawHttp,
    /// Authentication of HTTP callers.
    #[serde(default)]
    pub auth: RawAuth,
    /// Where secret values come from, by name.
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, RawSecret>,
    /// The operator's cap on what manifests may grant.
    #[serde(default)]
    pub sandbox: RawSandbox,
    /// Span export.
    #[serde(default)]
    pub telemetry: RawTelemetry,
}

/// `[auth]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// API keys; none means authentication is off.
    #[serde(default)]
    pub api_keys: Vec<RawApiKey>,
}

/// `[[auth.api_keys]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiKey {
    /// Who the key authenticates.
    pub subject: String,
    /// Their tenant (default `default`).
    pub tenant: Option<String>,
    /// Hex SHA-256 of the key (`berth hash-key` prints it).
    pub sha256: String,
    /// Scopes granted.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `[protocol]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtocol {
    /// Items per page of list results.
    pub page_size: Option<usize>,
    /// How long clients may cache list results, ms (modern `ttlMs`).
    pub list_ttl_ms: Option<u64>,
    /// The key that signs `requestState`: 64 hex digits.
    pub state_key: Option<String>,
    /// How long a modern client has to retry with its answers, seconds.
    pub input_ttl_secs: Option<u64>,
    /// How long a legacy client has to answer a question, seconds.
    pub input_timeout_secs: Option<u64>,
}

/// `[plugins]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugins {
    /// Directories scanned for `*.wasm`.
    pub dirs: Option<Vec<PathBuf>>,
    /// Where compiled code is cached.
    pub cache_dir: Option<PathBuf>,
    /// Reload added, changed and removed plugins while running.
    pub watch: Option<bool>,
    /// How often the plugin directories are looked at, ms.
    pub watch_interval_ms: Option<u64>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Default linear memory per call, MiB.
    pub memory_mb: Option<u64>,
    /// Default wall-clock deadline per call, ms.
    pub deadline_ms: Option<u64>,
    /// Most plugin calls running at once.
    pub max_concurrent_calls: Option<u32>,
    /// Most plugin calls one user may have running and waiting.
    pub max_calls_per_user: Option<usize>,
    /// How long a cancelled call may take to return on its own, ms.
    pub cancel_grace_ms: Option<u64>,
    /// Largest result one call may return, KiB (content and structured
    /// content together; binary counted as its bytes).
    pub max_result_kb: Option<u64>,
    /// Most log messages one call may send.
    pub max_log_messages: Option<u32>,
    /// Most bytes of log messages one call may send, KiB.
    pub max_log_kb: Option<u64>,
    /// CPU budget per call, wasmtime fuel units (unset: unmetered).
    pub cpu_fuel: Option<u64>,
    /// Largest HTTP response body a plugin may receive, KiB.
    pub max_http_response_kb: Option<u64>,
}

/// `[state]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    /// Largest value, bytes.
    pub max_value_bytes: Option<usize>,
    /// Most keys per plugin and scope.
    pub max_keys: Option<usize>,
    /// Most bytes per plugin and scope.
    pub max_bytes_per_scope: Option<usize>,
    /// Most bytes in the whole store.
    pub max_total_bytes: Option<usize>,
}

/// `[sessions]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    /// Most legacy sessions open at once.
    pub max_sessions: Option<usize>,
    /// Most legacy sessions per user.
    pub max_sessions_per_user: Option<usize>,
    /// Idle time after which an HTTP session expires, seconds.
    pub idle_timeout_secs: Option<u64>,
    /// How often idle sessions and expired state are swept, seconds.
    pub cleanup_interval_secs: Option<u64>,
    /// How long a legacy call keeps running after its answer stream
    /// broke, waiting for the client to resume it, seconds (0: stop it at
    /// once).
    pub resume_grace_secs: Option<u64>,
    /// Idle time after which a modern session handle expires, seconds.
    pub handle_ttl_secs: Option<u64>,
    /// Most open handles.
    pub max_handles: Option<usize>,
    /// Most open handles per user.
    pub max_handles_per_user: Option<usize>,
}

/// Values from flags and the environment; they win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// Plugin directories (replaces the file's list when non-empty).
    pub plugin_dirs: Vec<PathBuf>,
    /// Compiled-code cache directory.
    pub cache_dir: Option<PathBuf>,
    /// HTTP listen address (`--http`).
    pub http_listen: Option<String>,
}

/// The validated configuration: [`RawConfig::resolve`] makes one; its
/// parts may be changed before building a `Host`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Directories scanned for plugins.
    pub plugin_dirs: Vec<PathBuf>,
    /// How often to look for plugin changes (`None`: never).
    pub watch: Option<Duration>,
    /// Runtime options (cache, limits, concurrency).
    pub runtime: RuntimeOptions,
    /// Key-value quotas.
    pub kv: KvLimits,
    /// Session-handle bounds.
    pub handles: HandleLimits,
    /// Legacy-session bounds.
    pub sessions: SessionLimits,
    /// Protocol engine settings.
    pub server: ServerOptions,
    /// Where to listen for HTTP, if anywhere.
    pub http_listen: Option<SocketAddr>,
    /// HTTP transport settings.
    pub http: HttpOptions,
    /// The log filter and span export (the filter is `info` here; `main`
    /// sets it from `--log`).
    pub telemetry: TelemetryConfig,
}

impl RawConfig {
    /// Reads `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// The parser's error, which names an unknown or mistyped key.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `overrides` and validates.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] or [`ConfigError::Refused`] naming the key;
    /// [`ConfigError::Randomness`] when the OS has no randomness (for the
    /// `requestState` key, unless `[protocol] state_key` gives one, and for
    /// session ids and handles).
    pub fn resolve(self, overrides: Overrides) -> Result<Config, ConfigError> {
        let default_limits = Limits::default()
            .with(self.limits.memory_mb, self.limits.deadline_ms)
            .and_then(|l| l.with_fuel(self.limits.cpu_fuel))
            .map_err(|(key, reason)| invalid(key, reason))?;
        let max_concurrent_calls = self.limits.max_concurrent_calls.unwrap_or(64);
        if !(1..=4096).contains(&max_concurrent_calls) {
            return Err(invalid(
                "limits.max_concurrent_calls",
                format!("{max_concurrent_calls} is not 1..=4096"),
            ));
        }
        let max_calls_per_user = self.limits.max_calls_per_user.unwrap_or(256);
        if !(1..=1_000_000).contains(&max_calls_per_user) {
            return Err(invalid(
                "limits.max_calls_per_user",
                format!("{max_calls_per_user} is not 1..=1000000"),
            ));
        }
        let max_result_kb = self.limits.max_result_kb.unwrap_or(8 << 10);
        if !(1..=(1 << 20)).contains(&max_result_kb) {
            return Err(invalid(
                "limits.max_result_kb",
                format!("{max_result_kb} is not 1..=1048576"),
            ));
        }
        let max_http_response_kb = self.limits.max_http_response_kb.unwrap_or(8 << 10);
        if !(1..=(1 << 20)).contains(&max_http_response_kb) {
            return Err(invalid(
                "limits.max_http_response_kb",
                format!("{max_http_response_kb} is not 1..=1048576"),
            ));
        }
        let log_budget = crate::plugin::LogBudget {
            messages: self.limits.max_log_messages.unwrap_or(1000),
            bytes: self.limits.max_log_kb.unwrap_or(1024).saturating_mul(1024) as usize,
        };
        let kv_default = KvLimits::default();
        let kv = KvLimits {
            max_key_bytes: kv_default.max_key_bytes,
            max_value_bytes: self
                .state
                .max_value_bytes
                .unwrap_or(kv_default.max_value_bytes),
            max_keys_per_namespace: self
                .state
                .max_keys
                .unwrap_or(kv_default.max_keys_per_namespace),
            max_bytes_per_namespace: self
                .state
                .max_bytes_per_scope
                .unwrap_or(kv_default.max_bytes_per_namespace),
            max_total_bytes: self
                .state
                .max_total_bytes
                .unwrap_or(kv_default.max_total_bytes),
        };
        if kv.max_value_bytes > kv.max_bytes_per_namespace {
            return Err(invalid(
                "state.max_value_bytes",
                "must not exceed state.max_bytes_per_scope".to_owned(),
            ));
        }
        let handle_default = HandleLimits::default();
        let handles = HandleLimits {
            ttl: self
                .sessions
                .handle_ttl_secs
                .map_or(handle_default.ttl, Duration::from_secs),
            max_total: self
                .sessions
                .max_handles
                .unwrap_or(handle_default.max_total),
            max_per_principal: self
                .sessions
                .max_handles_per_user
                .unwrap_or(handle_default.max_per_principal),
        };
        let session_default = SessionLimits::default();
        let sessions = SessionLimits {
            max_sessions: self
                .sessions
                .max_sessions
                .unwrap_or(session_default.max_sessions),
            max_per_principal: self
                .sessions
                .max_sessions_per_user
                .unwrap_or(session_default.max_per_principal),
            idle_timeout: self
                .sessions
                .idle_timeout_secs
                .map_or(session_default.idle_timeout, Duration::from_secs),
            cleanup_interval: self
                .sessions
                .cleanup_interval_secs
                .map_or(session_default.cleanup_interval, Duration::from_secs),
            resume_grace: self
                .sessions
                .resume_grace_secs
                .map_or(session_default.resume_grace, Duration::from_secs),
        };
        if sessions.resume_grace > Duration::from_secs(3600) {
            return Err(invalid(
                "sessions.resume_grace_secs",
                "must be at most 3600".to_owned(),
            ));
        }
        if sessions.idle_timeout.is_zero() || sessions.cleanup_interval.is_zero() {
            return Err(invalid(
                "sessions.idle_timeout_secs",
                "idle_timeout_secs and cleanup_interval_secs must be positive".to_owned(),
            ));
        }
        if handles.ttl.is_zero() {
            return Err(invalid(
                "sessions.handle_ttl_secs",
                "must be positive".to_owned(),
            ));
        }
        // Made even when a key is configured: without OS randomness no
        // session id or handle can be made either, so berth does not start.
        let random_key = SealKey::random().map_err(ConfigError::Randomness)?;
        let input_key = match &self.protocol.state_key {
            Some(hex) => parse_key(hex).map(SealKey::from_bytes).ok_or_else(|| {
                invalid(
                    "protocol.state_key",
                    "must be 64 hex digits (32 bytes)".to_owned(),
                )
            })?,
            None => random_key,
        };
        let mut server = ServerOptions::new(input_key);
        if let Some(n) = self.protocol.page_size {
            if !(1..=10_000).contains(&n) {
                return Err(invalid(
                    "protocol.page_size",
                    format!("{n} is not 1..=10000"),
                ));
            }
            server.page_size = n;
        }
        if let Some(ms) = self.protocol.list_ttl_ms {
            server.list_ttl_ms = ms;
        }
        for (key, value, slot) in [
            (
                "protocol.input_ttl_secs",
                self.protocol.input_ttl_secs,
                &mut server.input_ttl,
            ),
            (
                "protocol.input_timeout_secs",
                self.protocol.input_timeout_secs,
                &mut server.input_timeout,
            ),
        ] {
            if let Some(secs) = value {
                if !(1..=86_400).contains(&secs) {
                    return Err(invalid(key, format!("{secs} is not 1..=86400")));
                }
                *slot = std::time::Duration::from_secs(secs);
            }
        }
        let (sandbox, secrets) = grants::resolve(self.sandbox, self.secrets)?;
        let (http_listen, mut http) = resolve_http(self.http, overrides.http_listen)?;
        let telemetry = resolve_telemetry(self.telemetry)?;
        if !self.auth.api_keys.is_empty() {
            let keys = self
                .auth
                .api_keys
                .into_iter()
                .map(|k| {
                    let tenant = k
                        .tenant
                        .as_deref()
                        .map_or_else(TenantId::default_tenant, TenantId::new);
                    ApiKey::new(&k.sha256, Principal::new(&k.subject, tenant, k.scopes))
                })
                .collect();
            let auth = ApiKeys::new(keys).map_err(|e| refused("auth.api_keys", e))?;
            http.auth = Arc::new(auth);
        }
        let watch = match (self.plugins.watch, self.plugins.watch_interval_ms) {
            (Some(false), _) => None,
            (_, Some(0)) => {
                return Err(invalid(
                    "plugins.watch_interval_ms",
                    "must be positive".to_owned(),
                ));
            }
            (_, ms) => Some(Duration::from_millis(ms.unwrap_or(250))),
        };
        let plugin_dirs = if overrides.plugin_dirs.is_empty() {
            self.plugins.dirs.unwrap_or_default()
        } else {
            overrides.plugin_dirs
        };
        Ok(Config {
            plugin_dirs,
            watch,
            runtime: RuntimeOptions {
                cache_dir: overrides
                    .cache_dir
                    .or(self.plugins.cache_dir)
                    .or_else(default_cache_dir),
                default_limits,
                max_concurrent_calls,
                max_calls_per_user,
                cancel_grace: Duration::from_millis(self.limits.cancel_grace_ms.unwrap_or(250)),
                max_result_bytes: (max_result_kb as usize) << 10,
                log_budget,
                sandbox,
                secrets,
                max_http_response_bytes: (max_http_response_kb as usize) << 10,
            },
            kv,
            handles,
            sessions,
            server,
            http_listen,
            http,
            telemetry,
        })
    }
}

fn invalid(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { key, reason }
}

fn refused(key: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> ConfigError {
    ConfigError::Refused {
        key,
        source: Box::new(e),
    }
}

/// `$XDG_CACHE_HOME/berth/compiled` or `~/.cache/berth/compiled`.
fn default_cache_dir() -> Option<PathBuf> {
    Some(cache_root()?.join("compiled"))
}

/// berth's cache directory: `$XDG_CACHE_HOME/berth`, else
/// `~/.cache/berth` (compiled code, toolchains, SDK copies).
pub fn cache_root() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("berth"))
}

/// 32 bytes from 64 hex digits.
fn parse_key(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests;
