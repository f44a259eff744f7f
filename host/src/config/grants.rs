//! The sandbox sections of `berth.toml`: `[secrets]` (where secret values
//! come from) and `[sandbox]` (the operator's cap on what any manifest may
//! grant). Resolved into the plugin runtime's [`SandboxPolicy`] and
//! [`Secrets`]; every secret is read once here, so a missing or exposed
//! one stops berth at start. Values are not kept here and never appear in
//! an error.

use super::{ConfigError, invalid, refused};
use crate::plugin::{IpNet, SandboxPolicy, SecretSource, Secrets, valid_var_name};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One entry of `[secrets]`: `NAME = { env = "VAR" }` or
/// `NAME = { file = "/run/secrets/name" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    /// An environment variable of the berth process.
    pub env: Option<String>,
    /// A file readable by its owner only.
    pub file: Option<PathBuf>,
}

/// `[sandbox]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSandbox {
    /// Host directories a manifest may grant (with everything under them).
    /// Unset: only read-only directories inside the plugin's own directory.
    pub allow_dirs: Option<Vec<PathBuf>>,
    /// Host environment variables a manifest may pass through (default:
    /// none).
    #[serde(default)]
    pub allow_env: Vec<String>,
    /// Private and special addresses (IPs or CIDR ranges) that granted
    /// outbound HTTP may reach (default: none).
    #[serde(default)]
    pub allow_private_hosts: Vec<String>,
    /// Whether plain `http://` is allowed (default: false).
    #[serde(default)]
    pub allow_plain_http: bool,
}

/// A secret of `[secrets]` that cannot be read, by name.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {source}")]
pub struct NamedSecretError {
    /// The secret's name.
    pub name: String,
    /// Why.
    #[source]
    pub source: crate::plugin::SecretError,
}

/// Checks both sections and reads every secret once.
///
/// # Errors
/// [`ConfigError::Invalid`] or [`ConfigError::Refused`] naming the key
/// (and the secret's name, never its value).
pub(super) fn resolve(
    sandbox: RawSandbox,
    secrets: BTreeMap<String, RawSecret>,
) -> Result<(SandboxPolicy, Secrets), ConfigError> {
    for var in &sandbox.allow_env {
        if !valid_var_name(var) {
            return Err(invalid(
                "sandbox.allow_env",
                format!("{var:?} is not a variable name (ASCII letters, digits and _)"),
            ));
        }
    }
    if let Some(dirs) = &sandbox.allow_dirs
        && let Some(dir) = dirs.iter().find(|d| !d.is_absolute())
    {
        return Err(invalid(
            "sandbox.allow_dirs",
            format!("{} must be an absolute path", dir.display()),
        ));
    }
    let allow_private_hosts = sandbox
        .allow_private_hosts
        .iter()
        .map(|h| IpNet::parse(h).map_err(|e| refused("sandbox.allow_private_hosts", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sources = BTreeMap::new();
    for (name, raw) in secrets {
        if !valid_var_name(&name) {
            return Err(invalid(
                "secrets",
                format!("{name:?} is not a variable name (ASCII letters, digits and _)"),
            ));
        }
        let source = match (raw.env, raw.file) {
            (Some(var), None) => SecretSource::Env(var),
            (None, Some(file)) => SecretSource::File(file),
            _ => {
                return Err(invalid(
                    "secrets",
                    format!("{name}: give exactly one of env = \"VAR\" or file = \"/path\""),
                ));
            }
        };
        source.read().map_err(|e| {
            refused(
                "secrets",
                NamedSecretError {
                    name: name.clone(),
                    source: e,
                },
            )
        })?;
        sources.insert(name, source);
    }
    Ok((
        SandboxPolicy {
            allow_dirs: sandbox.allow_dirs,
            allow_env: sandbox.allow_env,
            allow_private_hosts,
            allow_plain_http: sandbox.allow_plain_http,
        },
        Arc::new(sources),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(text: &str) -> Result<SandboxPolicy, ConfigError> {
        let raw: RawSandbox = toml::from_str(text).map_err(|e| refused("sandbox", e))?;
        resolve(raw, BTreeMap::new()).map(|(policy, _)| policy)
    }

    #[test]
    fn outbound_network_keys_parse_and_are_checked() {
        let p = sandbox(
            "allow_private_hosts = [\"127.0.0.1\", \"10.0.0.0/8\"]\nallow_plain_http = true",
        )
        .unwrap();
        assert_eq!(p.allow_private_hosts.len(), 2);
        assert!(p.allow_plain_http);
        let d = sandbox("").unwrap();
        assert!(d.allow_private_hosts.is_empty() && !d.allow_plain_http);
        let e = sandbox("allow_private_hosts = [\"10.0.0.0/99\"]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid setting sandbox.allow_private_hosts: \"10.0.0.0/99\": prefix length must be 0..=32"
        );
        assert_eq!(e.key(), Some("sandbox.allow_private_hosts"));
    }
}
