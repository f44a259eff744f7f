//! The operator's side of grants: where secret values come from
//! (`[secrets]` in berth.toml) and the `[sandbox]` policy that caps what
//! any manifest may grant. A manifest asks; [`resolve`] checks the ask
//! against this policy at load and produces what the sandbox gets.
//!
//! Secret values are held in [`SecretValue`], whose `Debug` is redacted,
//! and appear in no error message.

use super::manifest::{DirGrant, Manifest};
use super::netrule::{HostPattern, IpNet};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where one secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the berth process.
    Env(String),
    /// A file readable by its owner only; one trailing newline is dropped.
    File(PathBuf),
}

/// A secret's value. Never printed: `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl SecretValue {
    /// The value, to hand to a sandbox.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl SecretSource {
    /// Reads the value now.
    ///
    /// # Errors
    /// Why it cannot be read (never containing the value).
    pub fn read(&self) -> Result<SecretValue, String> {
        match self {
            Self::Env(var) => std::env::var(var).map(SecretValue).map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    format!("the environment variable {var} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("the environment variable {var} is not valid UTF-8")
                }
            }),
            Self::File(path) => read_secret_file(path),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<SecretValue, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{shown} is accessible by group or others (mode {mode:04o}); a secret file must be readable by its owner only: chmod 600 {shown}"
            ));
        }
    }
    let mut text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(SecretValue(text))
}

/// `[secrets]`: name → source. Shared, cheap to clone.
pub type Secrets = Arc<BTreeMap<String, SecretSource>>;

/// Whether `name` can be an environment variable name in every guest
/// language: ASCII letters, digits and `_`, not starting with a digit.
pub fn valid_var_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `[sandbox]`: what the operator lets any manifest grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// Host directories (and everything under them) a manifest may grant.
    /// `None` (the key unset): read-only directories inside the plugin's
    /// own directory only.
    pub allow_dirs: Option<Vec<PathBuf>>,
    /// Host environment variables a manifest may pass through. Empty (the
    /// default): none.
    pub allow_env: Vec<String>,
    /// Private and special addresses (loopback, RFC 1918, link-local, …)
    /// that granted HTTP may reach. Empty (the default): none.
    pub allow_private_hosts: Vec<IpNet>,
    /// Whether plain `http://` is allowed (default: https only).
    pub allow_plain_http: bool,
}

impl SandboxPolicy {
    /// Why `ip` may not be reached over HTTP under this policy, or `None`.
    pub fn refuses(&self, ip: std::net::IpAddr) -> Option<&'static str> {
        let why = super::netrule::internal(ip)?;
        (!self.allow_private_hosts.iter().any(|n| n.contains(ip))).then_some(why)
    }
}

/// What a plugin's sandbox gets, after the policy: the manifest's grants
/// resolved and checked, with values read.
#[derive(Debug, Clone, Default)]
pub struct Granted {
    /// Environment variables (granted host variables that are set, then
    /// secrets), by name.
    pub(crate) env: Vec<(String, EnvValue)>,
    /// Directories, host paths canonical.
    pub(crate) dirs: Vec<DirGrant>,
    /// Hosts the plugin may send HTTP requests to.
    pub(crate) http: Vec<HostPattern>,
}

/// A value in a plugin's environment.
#[derive(Debug, Clone)]
pub(crate) enum EnvValue {
    /// Passed through from berth's environment.
    Plain(String),
    /// A secret.
    Secret(SecretValue),
}

impl EnvValue {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Plain(v) => v,
            Self::Secret(s) => s.expose(),
        }
    }
}

impl Granted {
    /// Names of the host variables passed through (those that are set).
    pub fn env_names(&self) -> Vec<&str> {
        self.env
            .iter()
            .filter(|(_, v)| matches!(v, EnvValue::Plain(_)))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Names of the secrets granted.
    pub fn secret_names(&self) -> Vec<&str> {
        self.env
            .iter()
            .filter(|(_, v)| matches!(v, EnvValue::Secret(_)))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// The directories granted (host paths canonical).
    pub fn dirs(&self) -> &[DirGrant] {
        &self.dirs
    }

    /// The hosts granted for outbound HTTP.
    pub fn http(&self) -> &[HostPattern] {
        &self.http
    }
}

/// Checks `manifest`'s grants against the operator's `policy` and
/// `secrets`, and resolves them: relative host directories against
/// `manifest_dir`, secrets read now.
///
/// # Errors
/// The grant key and why it is refused (never a secret's value).
pub fn resolve(
    manifest: &Manifest,
    manifest_dir: &Path,
    policy: &SandboxPolicy,
    secrets: &BTreeMap<String, SecretSource>,
) -> Result<Granted, String> {
    let manifest_dir = if manifest_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        manifest_dir
    };
    let mut granted = Granted::default();
    for var in &manifest.grants.env {
        if !policy.allow_env.iter().any(|a| a == var) {
            return Err(format!(
                "grants.env: {var:?} is not allowed by this berth's policy (berth.toml [sandbox] allow_env)"
            ));
        }
        if let Ok(value) = std::env::var(var) {
            granted.env.push((var.clone(), EnvValue::Plain(value)));
        }
    }
    for name in &manifest.grants.secrets {
        let source = secrets.get(name).ok_or_else(|| {
            format!("grants.secrets: {name:?} is not defined in berth.toml [secrets]")
        })?;
        let value = source
            .read()
            .map_err(|reason| format!("grants.secrets: secret {name:?}: {reason}"))?;
        granted.env.push((name.clone(), EnvValue::Secret(value)));
    }
    for dir in &manifest.grants.dirs {
        granted.dirs.push(resolve_dir(dir, manifest_dir, policy)?);
    }
    for pattern in &manifest.grants.http {
        if let Some(ip) = pattern.ip()
            && let Some(why) = policy.refuses(ip)
        {
            return Err(format!(
                "grants.http: {pattern} is a {why} address, which this berth's policy does not allow (berth.toml [sandbox] allow_private_hosts)"
            ));
        }
        granted.http.push(pattern.clone());
    }
    Ok(granted)
}

fn resolve_dir(
    dir: &DirGrant,
    manifest_dir: &Path,
    policy: &SandboxPolicy,
) -> Result<DirGrant, String> {
    let key = format!("grants.dirs (guest {})", dir.guest);
    let host = manifest_dir.join(&dir.host);
    let canonical = std::fs::canonicalize(&host).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{key}: host directory {} does not exist", host.display())
        } else {
            format!("{key}: host directory {}: {e}", host.display())
        }
    })?;
    if !canonical.is_dir() {
        return Err(format!(
            "{key}: host path {} is not a directory",
            host.display()
        ));
    }
    match &policy.allow_dirs {
        None => {
            let own = std::fs::canonicalize(manifest_dir).map_err(|e| format!("{key}: {e}"))?;
            if canonical == own || !canonical.starts_with(&own) {
                return Err(format!(
                    "{key}: {} is not inside the plugin's own directory {}; by default berth grants only read-only directories there (list others in berth.toml [sandbox] allow_dirs)",
                    canonical.display(),
                    own.display()
                ));
            }
            if dir.writable {
                return Err(format!(
                    "{key}: {} is writable; by default berth grants only read-only directories (list it in berth.toml [sandbox] allow_dirs to allow writing)",
                    canonical.display()
                ));
            }
        }
        Some(allowed) => {
            let inside = allowed
                .iter()
                .any(|a| std::fs::canonicalize(a).is_ok_and(|root| canonical.starts_with(&root)));
            if !inside {
                return Err(format!(
                    "{key}: {} is not under any directory in berth.toml [sandbox] allow_dirs",
                    canonical.display()
                ));
            }
        }
    }
    Ok(DirGrant {
        host: canonical,
        guest: dir.guest.clone(),
        writable: dir.writable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_value_is_never_printed() {
        let v = SecretValue("hunter2".to_owned());
        assert_eq!(format!("{v:?}"), "<redacted>");
        let g = Granted {
            env: vec![("K".to_owned(), EnvValue::Secret(v))],
            dirs: Vec::new(),
            http: Vec::new(),
        };
        assert!(!format!("{g:?}").contains("hunter2"));
    }

    #[test]
    fn a_literal_private_address_needs_the_operators_allowance() {
        let m =
            Manifest::parse("[grants]\nhttp = [\"127.0.0.1:8080\"]", Default::default()).unwrap();
        let dir = Path::new(".");
        let e = resolve(&m, dir, &SandboxPolicy::default(), &BTreeMap::new()).unwrap_err();
        assert!(
            e.contains("grants.http") && e.contains("allow_private_hosts"),
            "{e}"
        );
        let policy = SandboxPolicy {
            allow_private_hosts: vec![IpNet::parse("127.0.0.0/8").unwrap()],
            ..SandboxPolicy::default()
        };
        let g = resolve(&m, dir, &policy, &BTreeMap::new()).unwrap();
        assert_eq!(g.http().len(), 1);
    }

    #[test]
    fn variable_names_are_checked() {
        assert!(valid_var_name("GITHUB_TOKEN"));
        assert!(!valid_var_name("1X"));
        assert!(!valid_var_name("A-B"));
        assert!(!valid_var_name(""));
    }
}
