//! Who is calling: the principal, its tenant, and the authenticators that
//! establish them.
//!
//! Owns the [`Principal`] type every layer below `protocol` receives and
//! the [`Authenticator`] the HTTP transport runs on every request: none
//! (everyone is the anonymous principal of the default tenant, right for
//! stdio and loopback) or API keys, stored as SHA-256 hashes. JWT bearer
//! tokens come later. Must not import `session`, `plugin` or `transport`.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Identifies a tenant: a set of principals with their own plugins, limits
/// and isolated state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// The tenant of unauthenticated callers.
    pub fn default_tenant() -> Self {
        Self(Arc::from("default"))
    }

    /// A tenant by name.
    pub fn new(name: &str) -> Self {
        Self(Arc::from(name))
    }

    /// The tenant's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The authenticated caller of a request. Credentials are never kept here:
/// this is what may be shown to plugins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Stable identifier of the caller.
    pub subject: Arc<str>,
    /// The tenant the caller belongs to.
    pub tenant: TenantId,
    /// Scopes granted to the caller.
    pub scopes: Arc<[String]>,
}

impl Principal {
    /// The caller when authentication is off.
    pub fn anonymous() -> Self {
        Self {
            subject: Arc::from("anonymous"),
            tenant: TenantId::default_tenant(),
            scopes: Arc::from(Vec::new()),
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("authentication required: send Authorization: Bearer <api key>")]
    Missing,
    /// The credentials are not valid.
    #[error("invalid credentials")]
    Invalid,
}

/// An API key entry: who the key authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Hex SHA-256 of the key (the key itself is never stored).
    pub sha256: String,
    /// The principal the key stands for.
    pub principal: Principal,
}

/// How callers are authenticated. Every request is checked, not only the
/// first of a session.
#[derive(Debug, Clone, Default)]
pub enum Authenticator {
    /// Everyone is [`Principal::anonymous`].
    #[default]
    None,
    /// `Authorization: Bearer <key>`, matched by hash.
    ApiKeys(HashMap<String, Principal>),
}

/// Why a set of configured API keys is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyConfigError {
    /// A hash that is not 64 hex digits.
    #[error("the key of {subject} must be given as 64 hex digits of its SHA-256")]
    NotAHash {
        /// Whose key.
        subject: Arc<str>,
    },
    /// Two keys with one hash.
    #[error("two API keys have the same hash")]
    Duplicate,
}

/// Hex SHA-256 of `key`, the form API keys are configured in.
pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Authenticator {
    /// An API-key authenticator.
    ///
    /// # Errors
    /// [`KeyConfigError`] when a hash is not 64 hex digits or appears
    /// twice.
    pub fn api_keys(keys: Vec<ApiKey>) -> Result<Self, KeyConfigError> {
        let mut map = HashMap::new();
        for key in keys {
            let hash = key.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(KeyConfigError::NotAHash {
                    subject: key.principal.subject,
                });
            }
            if map.insert(hash, key.principal).is_some() {
                return Err(KeyConfigError::Duplicate);
            }
        }
        Ok(Self::ApiKeys(map))
    }

    /// Whether requests must present credentials.
    pub fn is_enabled(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// The principal of a request with this `Authorization` header value.
    ///
    /// # Errors
    /// [`AuthError::Missing`] or [`AuthError::Invalid`].
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        match self {
            Self::None => Ok(Principal::anonymous()),
            Self::ApiKeys(keys) => {
                let header = authorization.ok_or(AuthError::Missing)?;
                let (scheme, key) = header.split_once(' ').ok_or(AuthError::Invalid)?;
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return Err(AuthError::Invalid);
                }
                keys.get(&hash_key(key.trim()))
                    .cloned()
                    .ok_or(AuthError::Invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(subject: &str, tenant: &str) -> Principal {
        Principal {
            subject: Arc::from(subject),
            tenant: TenantId::new(tenant),
            scopes: Arc::from(Vec::new()),
        }
    }

    #[test]
    fn api_keys_authenticate_by_hash_and_nothing_else_gets_in() {
        let auth = Authenticator::api_keys(vec![ApiKey {
            sha256: hash_key("s3cret"),
            principal: principal("alice", "acme"),
        }])
        .unwrap();
        let alice = auth.authenticate(Some("Bearer s3cret")).unwrap();
        assert_eq!(&*alice.subject, "alice");
        assert_eq!(alice.tenant.as_str(), "acme");
        assert_eq!(auth.authenticate(Some("bearer s3cret")).unwrap(), alice);
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(
            auth.authenticate(Some("Bearer wrong")),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            auth.authenticate(Some("Basic s3cret")),
            Err(AuthError::Invalid)
        );
        assert_eq!(auth.authenticate(Some("s3cret")), Err(AuthError::Invalid));
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_or_duplicate_hashes_are_refused() {
        let key = |h: &str| ApiKey {
            sha256: h.to_owned(),
            principal: Principal::anonymous(),
        };
        assert_eq!(
            Authenticator::api_keys(vec![key("abc")])
                .unwrap_err()
                .to_string(),
            "the key of anonymous must be given as 64 hex digits of its SHA-256"
        );
        let h = hash_key("k");
        assert_eq!(
            Authenticator::api_keys(vec![key(&h), key(&h)]).unwrap_err(),
            KeyConfigError::Duplicate
        );
        assert!(!Authenticator::None.is_enabled());
    }
}
