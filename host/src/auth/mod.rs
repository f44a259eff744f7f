//! Who is calling: the principal, its tenant, and the authenticators that
//! establish them.
//!
//! Owns the [`Principal`] type every layer below `protocol` receives and
//! the [`Authenticate`] trait the HTTP transport runs on every request,
//! with berth's two implementations: [`Anonymous`] (everyone is the
//! anonymous principal of the default tenant, right for stdio and
//! loopback) and [`ApiKeys`], stored as SHA-256 hashes. JWT bearer tokens
//! come later; an embedder may bring its own. Must not import `session`, `plugin` or `transport`.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
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
#[non_exhaustive]
pub struct Principal {
    /// Stable identifier of the caller.
    pub subject: Arc<str>,
    /// The tenant the caller belongs to.
    pub tenant: TenantId,
    /// Scopes granted to the caller.
    pub scopes: Arc<[String]>,
}

impl Principal {
    /// A principal: `subject` of `tenant`, with `scopes`.
    pub fn new(subject: &str, tenant: TenantId, scopes: Vec<String>) -> Self {
        Self {
            subject: Arc::from(subject),
            tenant,
            scopes: Arc::from(scopes),
        }
    }

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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct ApiKey {
    /// Hex SHA-256 of the key (the key itself is never stored).
    pub sha256: String,
    /// The principal the key stands for.
    pub principal: Principal,
}

impl ApiKey {
    /// The key whose SHA-256 is `sha256` (hex, as [`hash_key`] prints it)
    /// stands for `principal`.
    pub fn new(sha256: &str, principal: Principal) -> Self {
        Self {
            sha256: sha256.to_owned(),
            principal,
        }
    }
}

/// A boxed future returned by [`Authenticate::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, AuthError>> + Send + 'a>>;

/// How callers are authenticated: the HTTP transport runs it on every
/// request (not only the first of a session) before any handler, and
/// refuses the request with 401 when it fails. berth brings [`Anonymous`]
/// and [`ApiKeys`]; an embedder may bring its own and pass it to
/// `HostBuilder::authenticator`.
///
/// ```
/// use berth::auth::{AuthError, AuthFuture, Authenticate, Principal, TenantId};
///
/// /// Lets in whoever presents `X-Team: <name>`, as a member of that team.
/// struct TeamHeader;
///
/// impl Authenticate for TeamHeader {
///     fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a> {
///         Box::pin(async move {
///             let team = headers.get("x-team").ok_or(AuthError::Missing)?;
///             let team = team.to_str().map_err(|_| AuthError::Invalid)?;
///             Ok(Principal::new(team, TenantId::new(team), Vec::new()))
///         })
///     }
/// }
/// ```
pub trait Authenticate: Send + Sync + 'static {
    /// The principal of a request with these headers.
    ///
    /// # Errors
    /// [`AuthError::Missing`] or [`AuthError::Invalid`]: the request is
    /// refused with 401 and the error's message.
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a>;
}

impl fmt::Debug for dyn Authenticate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Authenticate")
    }
}

/// No authentication: everyone is [`Principal::anonymous`]. Right for
/// stdio and a server on loopback.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl Authenticate for Anonymous {
    fn authenticate<'a>(&'a self, _headers: &'a http::HeaderMap) -> AuthFuture<'a> {
        Box::pin(std::future::ready(Ok(Principal::anonymous())))
    }
}

/// `Authorization: Bearer <key>`, matched by the key's SHA-256 (the key
/// itself is never stored).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    keys: HashMap<String, Principal>,
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

impl ApiKeys {
    /// An API-key authenticator.
    ///
    /// # Errors
    /// [`KeyConfigError`] when a hash is not 64 hex digits or appears
    /// twice.
    pub fn new(keys: Vec<ApiKey>) -> Result<Self, KeyConfigError> {
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
        Ok(Self { keys: map })
    }

    /// The principal of a request with this `Authorization` header value.
    ///
    /// # Errors
    /// [`AuthError::Missing`] or [`AuthError::Invalid`].
    pub fn check(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let (scheme, key) = header.split_once(' ').ok_or(AuthError::Invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Invalid);
        }
        self.keys
            .get(&hash_key(key.trim()))
            .cloned()
            .ok_or(AuthError::Invalid)
    }
}

impl Authenticate for ApiKeys {
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a> {
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        Box::pin(std::future::ready(self.check(authorization)))
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
        let auth = ApiKeys::new(vec![ApiKey {
            sha256: hash_key("s3cret"),
            principal: principal("alice", "acme"),
        }])
        .unwrap();
        let alice = auth.check(Some("Bearer s3cret")).unwrap();
        assert_eq!(&*alice.subject, "alice");
        assert_eq!(alice.tenant.as_str(), "acme");
        assert_eq!(auth.check(Some("bearer s3cret")).unwrap(), alice);
        assert_eq!(auth.check(None), Err(AuthError::Missing));
        assert_eq!(auth.check(Some("Bearer wrong")), Err(AuthError::Invalid));
        assert_eq!(auth.check(Some("Basic s3cret")), Err(AuthError::Invalid));
        assert_eq!(auth.check(Some("s3cret")), Err(AuthError::Invalid));
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn the_trait_reads_the_authorization_header() {
        let auth: Arc<dyn Authenticate> = Arc::new(
            ApiKeys::new(vec![ApiKey::new(&hash_key("k"), principal("bob", "b"))]).unwrap(),
        );
        let mut headers = http::HeaderMap::new();
        assert_eq!(auth.authenticate(&headers).await, Err(AuthError::Missing));
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer k"),
        );
        assert_eq!(&*auth.authenticate(&headers).await.unwrap().subject, "bob");
        assert_eq!(
            Anonymous.authenticate(&headers).await,
            Ok(Principal::anonymous())
        );
    }

    #[test]
    fn malformed_or_duplicate_hashes_are_refused() {
        let key = |h: &str| ApiKey {
            sha256: h.to_owned(),
            principal: Principal::anonymous(),
        };
        assert_eq!(
            ApiKeys::new(vec![key("abc")]).unwrap_err().to_string(),
            "the key of anonymous must be given as 64 hex digits of its SHA-256"
        );
        let h = hash_key("k");
        assert_eq!(
            ApiKeys::new(vec![key(&h), key(&h)]).unwrap_err(),
            KeyConfigError::Duplicate
        );
    }
}
