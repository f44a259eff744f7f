//! Plugin manifests: `<name>.toml` beside `<name>.wasm`.
//!
//! A manifest sets the tool-name prefix, per-call limits and sandbox grants.
//! Unknown keys are an error, so a typo never silently widens or narrows a
//! sandbox. The `[build]` table belongs to `berth build` (a plugin project
//! keeps its build recipe in its manifest); serving accepts and ignores it.

use super::error::LoadError;
use super::netrule::NetRuleError;
use super::policy::GrantError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a manifest (or the file name it goes with) is refused. Every
/// message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file exists but cannot be read.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// Not TOML, or an unknown or mistyped key.
    #[error("{}", .0.to_string().trim_end())]
    Toml(#[source] toml::de::Error),
    /// The plugin's file name cannot be its name.
    #[error("plugin file names must be 1-64 characters of A-Z a-z 0-9 _ -")]
    FileName,
    /// A prefix with other characters.
    #[error("prefix {0:?} may only contain ASCII letters, digits, '_' and '-'")]
    Prefix(String),
    /// `limits.memory_mb` or `limits.deadline_ms` out of range.
    #[error("{key} {reason}")]
    Limit {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// `limits.cpu_fuel` without metering.
    #[error(
        "limits.cpu_fuel is set, but this berth meters no CPU: set [limits] cpu_fuel in berth.toml to enable CPU budgets"
    )]
    FuelUnmetered,
    /// `limits.cpu_fuel = 0`.
    #[error("limits.cpu_fuel must be positive")]
    FuelZero,
    /// `limits.cpu_fuel` over the operator's budget.
    #[error(
        "limits.cpu_fuel {fuel} is over this berth's budget of {max} (berth.toml [limits] cpu_fuel); a manifest may only lower it"
    )]
    FuelOverBudget {
        /// Asked for.
        fuel: u64,
        /// The budget.
        max: u64,
    },
    /// Not an environment variable name.
    #[error("grants: {0:?} is not a valid variable name (ASCII letters, digits and _)")]
    VarName(String),
    /// A name in both lists.
    #[error("grants: {0:?} is both in grants.env and grants.secrets")]
    EnvAndSecret(String),
    /// A relative guest path.
    #[error("grants.dirs guest path {0:?} must be absolute")]
    RelativeGuest(String),
    /// A bad `grants.http` entry.
    #[error("grants.http: {0}")]
    Http(#[source] NetRuleError),
    /// A grant the operator's policy refuses.
    #[error(transparent)]
    Grant(#[from] GrantError),
}

/// Per-call limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a call may use, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time a call may take.
    pub deadline: Duration,
    /// CPU budget of a call in wasmtime fuel units (about one per
    /// WebAssembly instruction); `None`: unmetered.
    pub cpu_fuel: Option<u64>,
}

impl Limits {
    /// These limits with `memory_mb` and `deadline_ms` applied where given
    /// (the `[limits]` keys of berth.toml and of manifests).
    ///
    /// # Errors
    /// The key and why its value is out of range.
    pub fn with(
        mut self,
        memory_mb: Option<u64>,
        deadline_ms: Option<u64>,
    ) -> Result<Self, (&'static str, String)> {
        if let Some(mb) = memory_mb {
            if mb == 0 || mb > MAX_MEMORY_MB {
                let reason = format!("must be 1..={MAX_MEMORY_MB}, not {mb}");
                return Err(("limits.memory_mb", reason));
            }
            self.memory_bytes =
                usize::try_from(mb << 20).map_err(|e| ("limits.memory_mb", e.to_string()))?;
        }
        if let Some(ms) = deadline_ms {
            if ms == 0 || ms > MAX_DEADLINE_MS {
                let reason = format!("must be 1..={MAX_DEADLINE_MS}, not {ms}");
                return Err(("limits.deadline_ms", reason));
            }
            self.deadline = Duration::from_millis(ms);
        }
        Ok(self)
    }

    /// These limits with the CPU budget `cpu_fuel` (berth.toml's
    /// `[limits] cpu_fuel`, which turns metering on).
    ///
    /// # Errors
    /// The key and why its value is out of range.
    pub fn with_fuel(mut self, cpu_fuel: Option<u64>) -> Result<Self, (&'static str, String)> {
        if let Some(fuel) = cpu_fuel {
            if fuel == 0 {
                return Err(("limits.cpu_fuel", "must be positive".to_owned()));
            }
            self.cpu_fuel = Some(fuel);
        }
        Ok(self)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            deadline: Duration::from_secs(30),
            cpu_fuel: None,
        }
    }
}

/// A directory the plugin may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it.
    pub guest: String,
    /// Whether the plugin may modify it.
    pub writable: bool,
}

/// What a plugin may do beyond computing: deny by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host environment variables passed through, by name.
    pub env: Vec<String>,
    /// Preopened directories.
    pub dirs: Vec<DirGrant>,
    /// Secrets (defined in berth.toml `[secrets]`), read by the plugin as
    /// environment variables of these names.
    pub secrets: Vec<String>,
    /// Hosts (and ports) the plugin may send HTTP requests to.
    pub http: Vec<super::netrule::HostPattern>,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Prefix of exposed names; `None` means the plugin name. An empty
    /// prefix exposes names unchanged.
    pub prefix: Option<String>,
    /// Per-call limits.
    pub limits: Limits,
    /// Sandbox grants.
    pub grants: Grants,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    prefix: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    grants: RawGrants,
    /// How `berth build` makes the plugin (read by `crate::project`);
    /// serving ignores it.
    #[serde(default)]
    #[allow(dead_code)]
    build: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mb: Option<u64>,
    deadline_ms: Option<u64>,
    cpu_fuel: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    dirs: Vec<RawDir>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    http: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: PathBuf,
    guest: String,
    #[serde(default)]
    writable: bool,
}

/// Largest memory limit a manifest may ask for.
pub const MAX_MEMORY_MB: u64 = 4096;
/// Longest deadline a manifest may ask for.
pub const MAX_DEADLINE_MS: u64 = 15 * 60 * 1000;

impl Manifest {
    /// The manifest beside `wasm` (`x.wasm` → `x.toml`), or the defaults
    /// when there is none.
    ///
    /// # Errors
    /// [`LoadError::Manifest`] when it exists but cannot be read or is
    /// invalid.
    pub fn for_wasm(wasm: &Path, defaults: Limits) -> Result<Self, LoadError> {
        let path = wasm.with_extension("toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, defaults).map_err(|source| LoadError::Manifest {
                path: path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                prefix: None,
                limits: defaults,
                grants: Grants::default(),
            }),
            Err(e) => Err(LoadError::Manifest {
                path,
                source: ManifestError::Read(e),
            }),
        }
    }

    /// Parses and validates manifest text.
    ///
    /// # Errors
    /// A [`ManifestError`] naming the offending key.
    pub fn parse(text: &str, defaults: Limits) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(ManifestError::Toml)?;
        if let Some(prefix) = &raw.prefix
            && !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ManifestError::Prefix(prefix.clone()));
        }
        let limits = defaults
            .with(raw.limits.memory_mb, raw.limits.deadline_ms)
            .map_err(|(key, reason)| ManifestError::Limit { key, reason })?;
        let limits = match (raw.limits.cpu_fuel, defaults.cpu_fuel) {
            (None, _) => limits,
            (Some(_), None) => return Err(ManifestError::FuelUnmetered),
            (Some(0), Some(_)) => return Err(ManifestError::FuelZero),
            (Some(fuel), Some(max)) if fuel > max => {
                return Err(ManifestError::FuelOverBudget { fuel, max });
            }
            (Some(fuel), Some(_)) => Limits {
                cpu_fuel: Some(fuel),
                ..limits
            },
        };
        for name in raw.grants.env.iter().chain(&raw.grants.secrets) {
            if !super::policy::valid_var_name(name) {
                return Err(ManifestError::VarName(name.clone()));
            }
        }
        if let Some(name) = raw
            .grants
            .secrets
            .iter()
            .find(|s| raw.grants.env.contains(s))
        {
            return Err(ManifestError::EnvAndSecret(name.clone()));
        }
        for dir in &raw.grants.dirs {
            if !dir.guest.starts_with('/') {
                return Err(ManifestError::RelativeGuest(dir.guest.clone()));
            }
        }
        let http = raw
            .grants
            .http
            .iter()
            .map(|p| super::netrule::HostPattern::parse(p).map_err(ManifestError::Http))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            prefix: raw.prefix,
            limits,
            grants: Grants {
                http,
                env: raw.grants.env,
                secrets: raw.grants.secrets,
                dirs: raw
                    .grants
                    .dirs
                    .into_iter()
                    .map(|d| DirGrant {
                        host: d.host,
                        guest: d.guest,
                        writable: d.writable,
                    })
                    .collect(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_parses() {
        let m = Manifest::parse(
            r#"
            prefix = ""
            [limits]
            memory_mb = 32
            deadline_ms = 500
            [grants]
            env = ["LANG"]
            dirs = [{ host = "/tmp/data", guest = "/data", writable = true }]
            "#,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(m.prefix.as_deref(), Some(""));
        assert_eq!(m.limits.memory_bytes, 32 << 20);
        assert_eq!(m.limits.deadline, Duration::from_millis(500));
        assert_eq!(m.grants.env, vec!["LANG"]);
        assert!(m.grants.dirs[0].writable);
    }

    #[test]
    fn a_build_table_is_accepted_and_changes_nothing_served() {
        let with = Manifest::parse(
            "[build]\nlanguage = \"python\"\nsource = \"app.py\"\n[limits]\nmemory_mb = 32",
            Limits::default(),
        )
        .unwrap();
        let without = Manifest::parse("[limits]\nmemory_mb = 32", Limits::default()).unwrap();
        assert_eq!(with, without);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let d = Limits::default();
        assert!(
            Manifest::parse("prefx = \"a\"", d)
                .unwrap_err()
                .to_string()
                .contains("prefx")
        );
        assert!(
            Manifest::parse("[limits]\nmemory = 3", d)
                .unwrap_err()
                .to_string()
                .contains("memory")
        );
        assert!(Manifest::parse("[limits]\nmemory_mb = 0", d).is_err());
        assert!(Manifest::parse("[limits]\ndeadline_ms = 99999999", d).is_err());
        assert!(Manifest::parse("prefix = \"a b\"", d).is_err());
        assert!(Manifest::parse("[grants]\ndirs = [{host=\"/a\", guest=\"rel\"}]", d).is_err());
    }

    #[test]
    fn cpu_fuel_only_lowers_an_enabled_budget() {
        let off = Limits::default();
        let err = Manifest::parse("[limits]\ncpu_fuel = 5", off).unwrap_err();
        assert!(err.to_string().contains("limits.cpu_fuel"), "{err}");
        let on = off.with_fuel(Some(100)).unwrap();
        let m = Manifest::parse("[limits]\ncpu_fuel = 5", on).unwrap();
        assert_eq!(m.limits.cpu_fuel, Some(5));
        assert!(Manifest::parse("[limits]\ncpu_fuel = 500", on).is_err());
        assert_eq!(Manifest::parse("", on).unwrap().limits.cpu_fuel, Some(100));
    }

    #[test]
    fn secrets_are_names_apart_from_env() {
        let d = Limits::default();
        let m = Manifest::parse("[grants]\nsecrets = [\"TOKEN\"]", d).unwrap();
        assert_eq!(m.grants.secrets, vec!["TOKEN"]);
        assert!(Manifest::parse("[grants]\nsecrets = [\"A-B\"]", d).is_err());
        assert!(Manifest::parse("[grants]\nsecrets = [\"A\"]\nenv = [\"A\"]", d).is_err());
        let m = Manifest::parse(
            "[grants]\nhttp = [\"api.github.com\", \"*.example.org:8443\"]",
            d,
        )
        .unwrap();
        assert_eq!(m.grants.http.len(), 2);
        let e = Manifest::parse("[grants]\nhttp = [\"https://x.org\"]", d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "grants.http: \"https://x.org\" is not a host pattern (give a host and optional port, no scheme or path)"
        );
        assert!(
            std::error::Error::source(&e).is_some(),
            "the pattern error is kept"
        );
    }

    #[test]
    fn messages_read_as_before_and_keep_their_cause() {
        let d = Limits::default();
        let on = d.with_fuel(Some(100)).unwrap();
        for (text, limits, message) in [
            (
                "prefix = \"a b\"",
                d,
                "prefix \"a b\" may only contain ASCII letters, digits, '_' and '-'",
            ),
            (
                "[limits]\nmemory_mb = 0",
                d,
                "limits.memory_mb must be 1..=4096, not 0",
            ),
            (
                "[limits]\ncpu_fuel = 500",
                on,
                "limits.cpu_fuel 500 is over this berth's budget of 100 (berth.toml [limits] cpu_fuel); a manifest may only lower it",
            ),
            (
                "[grants]\nsecrets = [\"A\"]\nenv = [\"A\"]",
                d,
                "grants: \"A\" is both in grants.env and grants.secrets",
            ),
            (
                "[grants]\ndirs = [{host=\"/a\", guest=\"rel\"}]",
                d,
                "grants.dirs guest path \"rel\" must be absolute",
            ),
        ] {
            assert_eq!(
                Manifest::parse(text, limits).unwrap_err().to_string(),
                message
            );
        }
        let e = Manifest::parse("prefix = 3", d).unwrap_err();
        assert!(matches!(e, ManifestError::Toml(_)), "{e:?}");
        assert!(!e.to_string().ends_with('\n'), "{e}");
    }

    #[test]
    fn an_empty_manifest_keeps_the_defaults() {
        let m = Manifest::parse("", Limits::default()).unwrap();
        assert_eq!(m.limits, Limits::default());
        assert_eq!(m.prefix, None);
    }
}
