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

/// Why a secret cannot be read. Never holds the value (nor, for an
/// environment variable that is not UTF-8, the bytes it has).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is not set.
    #[error("the environment variable {0} is not set")]
    NotSet(String),
    /// The variable is not UTF-8.
    #[error("the environment variable {0} is not valid UTF-8")]
    NotUnicode(String),
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file.
    #[error("{} is not a file", .0.display())]
    NotAFile(PathBuf),
    /// Readable by others than its owner.
    #[error(
        "{shown} is accessible by group or others (mode {mode:04o}); a secret file must be readable by its owner only: chmod 600 {shown}",
        shown = .path.display()
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Why a manifest's grants are refused under the operator's policy. Each
/// message starts with the grant key.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// A host variable the policy does not pass.
    #[error(
        "grants.env: {0:?} is not allowed by this berth's policy (berth.toml [sandbox] allow_env)"
    )]
    EnvNotAllowed(String),
    /// A secret berth.toml does not define.
    #[error("grants.secrets: {0:?} is not defined in berth.toml [secrets]")]
    UndefinedSecret(String),
    /// A secret that cannot be read.
    #[error("grants.secrets: secret {name:?}: {source}")]
    Secret {
        /// The secret's name.
        name: String,
        /// Why.
        #[source]
        source: SecretError,
    },
    /// A literal private address the policy does not allow.
    #[error(
        "grants.http: {pattern} is a {why} address, which this berth's policy does not allow (berth.toml [sandbox] allow_private_hosts)"
    )]
    PrivateHost {
        /// The entry.
        pattern: HostPattern,
        /// What kind of address.
        why: &'static str,
    },
    /// A granted directory that is refused.
    #[error("grants.dirs (guest {guest}): {fault}")]
    Dir {
        /// Where the plugin would see it.
        guest: String,
        /// What is wrong.
        #[source]
        fault: DirFault,
    },
}

/// What is wrong with a granted directory.
#[derive(Debug, thiserror::Error)]
pub enum DirFault {
    /// The host directory is not there.
    #[error("host directory {} does not exist", .0.display())]
    Missing(PathBuf),
    /// The host directory cannot be examined.
    #[error("host directory {}: {source}", .path.display())]
    Unreadable {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file, not a directory.
    #[error("host path {} is not a directory", .0.display())]
    NotADir(PathBuf),
    /// The plugin's own directory cannot be examined.
    #[error("{0}")]
    OwnDir(#[source] std::io::Error),
    /// Outside the plugin's directory, with no `allow_dirs`.
    #[error(
        "{} is not inside the plugin's own directory {}; by default berth grants only read-only directories there (list others in berth.toml [sandbox] allow_dirs)",
        .path.display(),
        .own.display()
    )]
    NotInOwnDir {
        /// The directory (canonical).
        path: PathBuf,
        /// The plugin's directory (canonical).
        own: PathBuf,
    },
    /// Writable, with no `allow_dirs`.
    #[error(
        "{} is writable; by default berth grants only read-only directories (list it in berth.toml [sandbox] allow_dirs to allow writing)",
        .0.display()
    )]
    Writable(PathBuf),
    /// Under none of `allow_dirs`.
    #[error(
        "{} is not under any directory in berth.toml [sandbox] allow_dirs",
        .0.display()
    )]
    NotAllowed(PathBuf),
}

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
    /// A [`SecretError`]: why it cannot be read (never containing the
    /// value).
    pub fn read(&self) -> Result<SecretValue, SecretError> {
        match self {
            // `VarError` is not kept: `NotUnicode` holds the value.
            Self::Env(var) => std::env::var(var).map(SecretValue).map_err(|e| match e {
                std::env::VarError::NotPresent => SecretError::NotSet(var.clone()),
                std::env::VarError::NotUnicode(_) => SecretError::NotUnicode(var.clone()),
            }),
            Self::File(path) => read_secret_file(path),
        }
    }
}

fn read_secret_file(path: &Path) -> Result<SecretValue, SecretError> {
    let unreadable = |source| SecretError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(SecretError::NotAFile(path.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = std::fs::read_to_string(path).map_err(unreadable)?;
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
/// A [`GrantError`]: the grant key and why it is refused (never a
/// secret's value).
pub fn resolve(
    manifest: &Manifest,
    manifest_dir: &Path,
    policy: &SandboxPolicy,
    secrets: &BTreeMap<String, SecretSource>,
) -> Result<Granted, GrantError> {
    let manifest_dir = if manifest_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        manifest_dir
    };
    let mut granted = Granted::default();
    for var in &manifest.grants.env {
        if !policy.allow_env.iter().any(|a| a == var) {
            return Err(GrantError::EnvNotAllowed(var.clone()));
        }
        if let Ok(value) = std::env::var(var) {
            granted.env.push((var.clone(), EnvValue::Plain(value)));
        }
    }
    for name in &manifest.grants.secrets {
        let source = secrets
            .get(name)
            .ok_or_else(|| GrantError::UndefinedSecret(name.clone()))?;
        let value = source.read().map_err(|source| GrantError::Secret {
            name: name.clone(),
            source,
        })?;
        granted.env.push((name.clone(), EnvValue::Secret(value)));
    }
    for dir in &manifest.grants.dirs {
        let granted_dir =
            resolve_dir(dir, manifest_dir, policy).map_err(|fault| GrantError::Dir {
                guest: dir.guest.clone(),
                fault,
            })?;
        granted.dirs.push(granted_dir);
    }
    for pattern in &manifest.grants.http {
        if let Some(ip) = pattern.ip()
            && let Some(why) = policy.refuses(ip)
        {
            return Err(GrantError::PrivateHost {
                pattern: pattern.clone(),
                why,
            });
        }
        granted.http.push(pattern.clone());
    }
    Ok(granted)
}

fn resolve_dir(
    dir: &DirGrant,
    manifest_dir: &Path,
    policy: &SandboxPolicy,
) -> Result<DirGrant, DirFault> {
    let host = manifest_dir.join(&dir.host);
    let canonical = std::fs::canonicalize(&host).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DirFault::Missing(host.clone())
        } else {
            DirFault::Unreadable {
                path: host.clone(),
                source,
            }
        }
    })?;
    if !canonical.is_dir() {
        return Err(DirFault::NotADir(host));
    }
    match &policy.allow_dirs {
        None => {
            let own = std::fs::canonicalize(manifest_dir).map_err(DirFault::OwnDir)?;
            if canonical == own || !canonical.starts_with(&own) {
                return Err(DirFault::NotInOwnDir {
                    path: canonical,
                    own,
                });
            }
            if dir.writable {
                return Err(DirFault::Writable(canonical));
            }
        }
        Some(allowed) => {
            let inside = allowed
                .iter()
                .any(|a| std::fs::canonicalize(a).is_ok_and(|root| canonical.starts_with(&root)));
            if !inside {
                return Err(DirFault::NotAllowed(canonical));
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
        assert_eq!(
            e.to_string(),
            "grants.http: 127.0.0.1:8080 is a loopback address, which this berth's policy does not allow (berth.toml [sandbox] allow_private_hosts)"
        );
        let policy = SandboxPolicy {
            allow_private_hosts: vec![IpNet::parse("127.0.0.0/8").unwrap()],
            ..SandboxPolicy::default()
        };
        let g = resolve(&m, dir, &policy, &BTreeMap::new()).unwrap();
        assert_eq!(g.http().len(), 1);
    }

    #[test]
    fn refusals_read_as_before_and_keep_their_cause() {
        let secrets = BTreeMap::from([(
            "TOKEN".to_owned(),
            SecretSource::File(PathBuf::from("/nonexistent/berth-secret")),
        )]);
        let m = Manifest::parse("[grants]\nsecrets = [\"TOKEN\"]", Default::default()).unwrap();
        let e = resolve(&m, Path::new("."), &SandboxPolicy::default(), &secrets).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(
                "grants.secrets: secret \"TOKEN\": cannot read /nonexistent/berth-secret: "
            ),
            "{text}"
        );
        let io = std::error::Error::source(&e)
            .and_then(std::error::Error::source)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .expect("the I/O error is kept");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        let m = Manifest::parse(
            "[grants]\ndirs = [{host = \"no-such-dir\", guest = \"/d\"}]",
            Default::default(),
        )
        .unwrap();
        let e = resolve(
            &m,
            Path::new("."),
            &SandboxPolicy::default(),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "grants.dirs (guest /d): host directory ./no-such-dir does not exist"
        );
        let m = Manifest::parse("[grants]\nenv = [\"HOME\"]", Default::default()).unwrap();
        let e = resolve(
            &m,
            Path::new("."),
            &SandboxPolicy::default(),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "grants.env: \"HOME\" is not allowed by this berth's policy (berth.toml [sandbox] allow_env)"
        );
    }

    #[test]
    fn variable_names_are_checked() {
        assert!(valid_var_name("GITHUB_TOKEN"));
        assert!(!valid_var_name("1X"));
        assert!(!valid_var_name("A-B"));
        assert!(!valid_var_name(""));
    }
}
