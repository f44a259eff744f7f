//! Session ids and other unguessable tokens, and berth's one randomness
//! policy: every secret or unguessable value comes from the OS random
//! source ([`fill_random`]), and when it fails nothing is made up instead:
//! the caller gets a [`RandomnessError`] (at start, berth refuses to
//! start; on a running server, that request fails with an internal error).

use std::fmt;
use std::sync::Arc;

/// The OS random source failed: no unguessable id or key can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the OS random number generator failed")]
pub struct RandomnessError(#[source] getrandom::Error);

/// Fills `buf` from the OS random source.
///
/// # Errors
/// [`RandomnessError`] when the OS has none to give.
pub fn fill_random(buf: &mut [u8]) -> Result<(), RandomnessError> {
    #[cfg(test)]
    if failing::FAIL.with(std::cell::Cell::get) {
        return Err(RandomnessError(getrandom::Error::UNEXPECTED));
    }
    getrandom::fill(buf).map_err(RandomnessError)
}

/// A token of 160 random bits from the OS CSPRNG, as `prefix` + 40 hex
/// digits (visible ASCII, safe in headers and JSON).
///
/// # Errors
/// [`RandomnessError`] when the OS random source fails.
pub fn random_token(prefix: &str) -> Result<String, RandomnessError> {
    let mut bytes = [0u8; 20];
    fill_random(&mut bytes)?;
    let mut out = String::with_capacity(prefix.len() + 40);
    out.push_str(prefix);
    for b in bytes {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}

/// Tests of what happens without OS randomness: [`fill_random`] fails on
/// this thread while a [`failing::Guard`] lives.
#[cfg(test)]
pub(crate) mod failing {
    use std::cell::Cell;

    thread_local! {
        pub(super) static FAIL: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes the OS random source fail on this thread until dropped.
    pub(crate) struct Guard;

    impl Guard {
        pub(crate) fn new() -> Self {
            FAIL.with(|f| f.set(true));
            Self
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            FAIL.with(|f| f.set(false));
        }
    }
}

/// Identifies a legacy session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// A fresh random id.
    ///
    /// # Errors
    /// [`RandomnessError`] when the OS random source fails.
    pub fn generate() -> Result<Self, RandomnessError> {
        random_token("").map(|t| Self(Arc::from(t)))
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
        let a = random_token("bs_").unwrap();
        let b = random_token("bs_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_graphic()));
        assert_eq!(SessionId::generate().unwrap().to_string().len(), 8);
    }

    #[test]
    fn without_os_randomness_no_token_is_made() {
        let guard = failing::Guard::new();
        let e = random_token("bs_").unwrap_err();
        assert!(e.to_string().contains("OS random number generator"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(SessionId::generate(), Err(e));
        drop(guard);
        assert!(random_token("bs_").is_ok());
    }
}
