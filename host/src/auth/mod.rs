//! Who is calling: the principal and its tenant.
//!
//! Owns the [`Principal`] type every layer below `protocol` receives. The
//! authenticators (API keys, JWT) land here later; today every caller is the
//! anonymous principal of the default tenant, which is right for stdio and
//! loopback. Must not import `session`, `plugin` or `transport`.

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
