//! Session ids and other unguessable tokens.

use std::fmt;
use std::sync::Arc;

/// A token of 160 random bits from the OS CSPRNG, as `prefix` + 40 hex
/// digits (visible ASCII, safe in headers and JSON).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 20];
    // The OS CSPRNG failing is not recoverable: without it no id is safe.
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!(error = %e, "the OS random number generator failed");
        std::process::abort();
    }
    let mut out = String::with_capacity(prefix.len() + 40);
    out.push_str(prefix);
    for b in bytes {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Identifies a legacy session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(Arc::from(random_token("")))
    }

    /// An id presented by a client (e.g. an `Mcp-Session-Id` header);
    /// `None` unless it is 1-128 visible ASCII characters.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(Arc::from(s)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared text, for use as a kv scope.
    pub fn as_arc(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl fmt::Display for SessionId {
    /// Prints only a prefix: logs must not leak whole ids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get(..8).unwrap_or(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_visible_ascii() {
        let a = random_token("bs_");
        let b = random_token("bs_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_graphic()));
        assert_eq!(SessionId::generate().to_string().len(), 8);
    }
}
