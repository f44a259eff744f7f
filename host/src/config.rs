//! Configuration: `berth.toml`, then environment and command-line flags,
//! merged into one validated [`Config`].
//!
//! [`RawConfig`] mirrors the file (unknown keys are an error); [`Overrides`]
//! carries what `main` read from flags and `BERTH_*` variables. Imports only
//! the types it configures (`kv`, `session`, `plugin`, `protocol` and
//! `transport::http` options). The sandbox sections (`[secrets]`,
//! `[sandbox]`) are in `config/grants.rs`.

mod grants;
pub use grants::{RawSandbox, RawSecret};

use crate::auth::{ApiKey, Authenticator, Principal, TenantId};
use crate::kv::KvLimits;
use crate::plugin::{Limits, RuntimeOptions};
use crate::protocol::ServerOptions;
use crate::session::{HandleLimits, SessionLimits};
use crate::transport::http::HttpOptions;
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
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the key).
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// The key, e.g. `limits.memory_mb`.
        key: &'static str,
        /// Why.
        reason: String,
    },
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

/// `[http]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Address to listen on (`--http`).
    pub listen: Option<String>,
    /// Path of the Streamable HTTP endpoint.
    pub path: Option<String>,
    /// Browser origins allowed besides loopback ones.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Longest time to start a response, seconds.
    pub request_timeout_secs: Option<u64>,
    /// Most requests handled at once.
    pub max_concurrent_requests: Option<usize>,
    /// Most SSE streams open at once.
    pub max_streams: Option<usize>,
    /// Server ping interval on idle legacy streams, seconds.
    pub ping_interval_secs: Option<u64>,
    /// SSE keep-alive comment interval, seconds.
    pub keep_alive_secs: Option<u64>,
    /// How long shutdown waits for calls in flight, seconds.
    pub drain_timeout_secs: Option<u64>,
    /// How long a client has to send a request's head, seconds.
    pub header_read_timeout_secs: Option<u64>,
    /// How long a kept-alive connection may wait for its next request,
    /// seconds.
    pub idle_timeout_secs: Option<u64>,
    /// Most connections open at once.
    pub max_connections: Option<usize>,
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

/// The validated configuration.
#[derive(Debug, Clone)]
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
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// The parser's message, which names an unknown or mistyped key.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `overrides` and validates.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
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
        let mut server = ServerOptions::default();
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
        if let Some(hex) = &self.protocol.state_key {
            server.input_key = parse_key(hex).ok_or_else(|| {
                invalid(
                    "protocol.state_key",
                    "must be 64 hex digits (32 bytes)".to_owned(),
                )
            })?;
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
        if !self.auth.api_keys.is_empty() {
            let keys = self
                .auth
                .api_keys
                .into_iter()
                .map(|k| ApiKey {
                    sha256: k.sha256,
                    principal: Principal {
                        subject: Arc::from(k.subject.as_str()),
                        tenant: k
                            .tenant
                            .as_deref()
                            .map_or_else(TenantId::default_tenant, TenantId::new),
                        scopes: Arc::from(k.scopes),
                    },
                })
                .collect();
            let auth = Authenticator::api_keys(keys).map_err(|e| invalid("auth.api_keys", e))?;
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
        })
    }
}

fn resolve_http(
    raw: RawHttp,
    flag: Option<String>,
) -> Result<(Option<SocketAddr>, HttpOptions), ConfigError> {
    let listen = match flag.or(raw.listen) {
        None => None,
        Some(text) => Some(text.parse::<SocketAddr>().map_err(|e| {
            invalid(
                "http.listen",
                format!("{text:?} is not an address like 127.0.0.1:8080: {e}"),
            )
        })?),
    };
    let d = HttpOptions::default();
    let secs = |v: Option<u64>, default: Duration, key: &'static str| match v {
        Some(0) => Err(invalid(key, "must be positive".to_owned())),
        Some(s) => Ok(Duration::from_secs(s)),
        None => Ok(default),
    };
    let path = raw.path.unwrap_or(d.path);
    if !path.starts_with('/') || path.len() < 2 {
        return Err(invalid(
            "http.path",
            format!("{path:?} must start with / and name a path"),
        ));
    }
    let options = HttpOptions {
        path,
        allowed_origins: raw.allowed_origins.unwrap_or_default(),
        // A server on a loopback address accepts only loopback Host names.
        loopback_only: listen.is_none_or(|a| a.ip().is_loopback()),
        max_body_bytes: raw.max_body_bytes.unwrap_or(d.max_body_bytes),
        request_timeout: secs(
            raw.request_timeout_secs,
            d.request_timeout,
            "http.request_timeout_secs",
        )?,
        max_concurrent_requests: raw
            .max_concurrent_requests
            .unwrap_or(d.max_concurrent_requests),
        max_streams: raw.max_streams.unwrap_or(d.max_streams),
        ping_interval: secs(
            raw.ping_interval_secs,
            d.ping_interval,
            "http.ping_interval_secs",
        )?,
        keep_alive: secs(raw.keep_alive_secs, d.keep_alive, "http.keep_alive_secs")?,
        drain_timeout: secs(
            raw.drain_timeout_secs,
            d.drain_timeout,
            "http.drain_timeout_secs",
        )?,
        header_read_timeout: secs(
            raw.header_read_timeout_secs,
            d.header_read_timeout,
            "http.header_read_timeout_secs",
        )?,
        idle_timeout: secs(
            raw.idle_timeout_secs,
            d.idle_timeout,
            "http.idle_timeout_secs",
        )?,
        max_connections: match raw.max_connections {
            None => d.max_connections,
            Some(n) => crate::transport::http::check_max_connections(n)
                .map_err(|reason| invalid("http.max_connections", reason))?,
        },
        auth: d.auth,
    };
    Ok((listen, options))
}

fn invalid(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { key, reason }
}

/// `$XDG_CACHE_HOME/berth/compiled` or `~/.cache/berth/compiled`.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("berth").join("compiled"))
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
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = RawConfig::from_toml("[limits]\nmemroy_mb = 3").unwrap_err();
        assert!(err.contains("memroy_mb"), "{err}");
        let err = RawConfig::from_toml("[plugin]\ndirs = []").unwrap_err();
        assert!(err.contains("plugin"), "{err}");
    }

    #[test]
    fn the_state_key_and_input_times_are_read_and_checked() {
        let key = "00".repeat(31) + "ff";
        let raw = RawConfig::from_toml(&format!(
            "[protocol]\nstate_key = \"{key}\"\ninput_ttl_secs = 60"
        ))
        .unwrap();
        let cfg = raw.resolve(Overrides::default()).unwrap();
        assert_eq!(cfg.server.input_key[31], 0xff);
        assert_eq!(cfg.server.input_ttl.as_secs(), 60);
        for bad in ["state_key = \"abc\"", "input_timeout_secs = 0"] {
            let raw = RawConfig::from_toml(&format!("[protocol]\n{bad}")).unwrap();
            assert!(raw.resolve(Overrides::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_settings_are_read_and_checked() {
        let raw = RawConfig::from_toml(
            "[http]\nheader_read_timeout_secs = 2\nidle_timeout_secs = 3\nmax_connections = 5",
        )
        .unwrap();
        let http = raw.resolve(Overrides::default()).unwrap().http;
        assert_eq!(http.header_read_timeout.as_secs(), 2);
        assert_eq!(http.idle_timeout.as_secs(), 3);
        assert_eq!(http.max_connections, 5);
        let too_many = crate::transport::http::connection_room().unwrap_or(1_000_000) + 1;
        for (bad, key) in [
            (
                "header_read_timeout_secs = 0",
                "http.header_read_timeout_secs",
            ),
            ("idle_timeout_secs = 0", "http.idle_timeout_secs"),
            ("max_connections = 0", "http.max_connections"),
            (
                &format!("max_connections = {too_many}"),
                "http.max_connections",
            ),
        ] {
            let raw = RawConfig::from_toml(&format!("[http]\n{bad}")).unwrap();
            match raw.resolve(Overrides::default()) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn call_admission_and_resume_grace_are_read_and_checked() {
        let cfg = RawConfig::default().resolve(Overrides::default()).unwrap();
        assert_eq!(cfg.runtime.max_calls_per_user, 256);
        assert_eq!(cfg.sessions.resume_grace, Duration::from_secs(5));
        let raw = RawConfig::from_toml(
            "[limits]\nmax_calls_per_user = 3\n[sessions]\nresume_grace_secs = 0",
        )
        .unwrap();
        let cfg = raw.resolve(Overrides::default()).unwrap();
        assert_eq!(cfg.runtime.max_calls_per_user, 3);
        assert!(cfg.sessions.resume_grace.is_zero());
        for (bad, key) in [
            (
                "[limits]\nmax_calls_per_user = 0",
                "limits.max_calls_per_user",
            ),
            (
                "[sessions]\nresume_grace_secs = 3601",
                "sessions.resume_grace_secs",
            ),
        ] {
            let raw = RawConfig::from_toml(bad).unwrap();
            assert!(
                matches!(raw.resolve(Overrides::default()), Err(ConfigError::Invalid { key: k, .. }) if k == key),
                "{bad}"
            );
        }
    }

    #[test]
    fn flags_override_the_file_and_values_are_validated() {
        let raw = RawConfig::from_toml(
            "[plugins]\ndirs = [\"a\"]\n[limits]\nmemory_mb = 16\ndeadline_ms = 1000",
        )
        .unwrap();
        let cfg = raw
            .resolve(Overrides {
                plugin_dirs: vec![PathBuf::from("b")],
                cache_dir: Some(PathBuf::from("/c")),
                http_listen: Some("0.0.0.0:9000".to_owned()),
            })
            .unwrap();
        assert_eq!(cfg.plugin_dirs, vec![PathBuf::from("b")]);
        assert_eq!(cfg.runtime.default_limits.memory_bytes, 16 << 20);
        assert_eq!(cfg.runtime.cache_dir, Some(PathBuf::from("/c")));
        assert_eq!(cfg.http_listen.map(|a| a.port()), Some(9000));
        assert!(
            !cfg.http.loopback_only,
            "a public bind is not loopback-only"
        );
        let bad = RawConfig::from_toml("[http]\nlisten = \"localhost\"").unwrap();
        assert!(matches!(
            bad.resolve(Overrides::default()),
            Err(ConfigError::Invalid {
                key: "http.listen",
                ..
            })
        ));
        let bad = RawConfig::from_toml("[limits]\nmemory_mb = 0").unwrap();
        assert!(matches!(
            bad.resolve(Overrides::default()),
            Err(ConfigError::Invalid {
                key: "limits.memory_mb",
                ..
            })
        ));
    }
}
