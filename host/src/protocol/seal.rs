//! Integrity-protected `requestState` (2026-07-28 multi round-trip
//! requests): the questions a round asked and the plugin's state, bound to
//! the principal and the request, with an expiry, signed with HMAC-SHA-256
//! under a host key. Readable by the client (not encrypted), unforgeable.
//!
//! Form: `base64url(payload JSON) "." base64url(HMAC(key, payload))`.
//! HMAC from the `hmac` crate, checked in constant time (`subtle`).

use crate::auth::Principal;
use crate::session::RandomnessError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// A host key for sealing: 32 bytes. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// A key of these bytes (`[protocol] state_key`).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the OS random source.
    ///
    /// # Errors
    /// [`RandomnessError`] when the OS has no randomness to give.
    pub fn random() -> Result<Self, RandomnessError> {
        let mut key = [0u8; 32];
        crate::session::fill_random(&mut key)?;
        Ok(Self(key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC pads a short key with zeros to the block size (RFC 2104);
        // padded here, so constructing cannot fail.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        <Hmac<Sha256> as KeyInit>::new(&block.into())
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

/// What a sealed state carries back to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The keys of the questions asked.
    pub keys: Vec<String>,
    /// The plugin's state.
    pub state: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u8,
    /// Tenant and subject of the principal.
    ten: String,
    sub: String,
    /// The request binding.
    req: String,
    keys: Vec<String>,
    st: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    exp: u64,
}

/// Most bytes of a sealed state accepted.
const MAX_SEALED: usize = 64 * 1024;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// HMAC-SHA-256 (RFC 2104) of `message` under `key`.
fn hmac(key: &SealKey, message: &[u8]) -> [u8; 32] {
    key.mac()
        .chain_update(message)
        .finalize()
        .into_bytes()
        .into()
}

/// Seals `sealed` for `principal` and the request `binding`, valid for `ttl`.
pub fn seal(
    key: &SealKey,
    sealed: &Sealed,
    principal: &Principal,
    binding: &str,
    ttl: Duration,
) -> String {
    seal_until(
        key,
        sealed,
        principal,
        binding,
        now_secs().saturating_add(ttl.as_secs()),
    )
}

/// Seals, expiring at `exp` (seconds since the Unix epoch).
fn seal_until(
    key: &SealKey,
    sealed: &Sealed,
    principal: &Principal,
    binding: &str,
    exp: u64,
) -> String {
    let payload = Payload {
        v: 1,
        ten: principal.tenant.to_string(),
        sub: principal.subject.to_string(),
        req: binding.to_owned(),
        keys: sealed.keys.clone(),
        st: sealed.state.clone(),
        exp,
    };
    // Serialising a struct of strings cannot fail.
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    let body = B64.encode(&json);
    let mac = B64.encode(hmac(key, body.as_bytes()));
    format!("{body}.{mac}")
}

/// Opens a sealed state, checking signature, principal, request and expiry.
///
/// # Errors
/// Which check failed, for the client's error message.
pub fn open(
    key: &SealKey,
    text: &str,
    principal: &Principal,
    binding: &str,
) -> Result<Sealed, &'static str> {
    if text.len() > MAX_SEALED {
        return Err("too long");
    }
    let (body, mac) = text.split_once('.').ok_or("malformed")?;
    let mac = B64.decode(mac).map_err(|_| "malformed")?;
    // In time independent of where they differ (a length differs openly).
    if !bool::from(mac.as_slice().ct_eq(&hmac(key, body.as_bytes()))) {
        return Err("bad signature");
    }
    let json = B64.decode(body).map_err(|_| "malformed")?;
    let p: Payload = serde_json::from_slice(&json).map_err(|_| "malformed")?;
    if p.v != 1 {
        return Err("unknown version");
    }
    if p.ten != principal.tenant.to_string() || p.sub != *principal.subject {
        return Err("issued to another caller");
    }
    if p.req != binding {
        return Err("issued for another request");
    }
    if p.exp < now_secs() {
        return Err("expired");
    }
    Ok(Sealed {
        keys: p.keys,
        state: p.st,
    })
}

/// Most spent states remembered; when full (after forgetting the expired
/// ones), further states are refused until some expire.
const MAX_SPENT: usize = 1 << 20;

/// States already used: a state is good for one retry, so a replay (by the
/// client or anyone who saw it) is refused until it would have expired
/// anyway. Kept in this process; a state is bound to its request, so a
/// replay on another node could only repeat that request.
#[derive(Debug, Default)]
pub struct Spent {
    inner: std::sync::Mutex<SpentInner>,
}

#[derive(Debug, Default)]
struct SpentInner {
    until: std::collections::HashMap<[u8; 32], std::time::Instant>,
    /// Size at which expired entries are next forgotten.
    next_purge: usize,
}

impl Spent {
    /// Marks `text` used for `ttl` (at least its remaining life); false if
    /// it was already used, or too many states are remembered.
    pub fn claim(&self, text: &str, ttl: Duration) -> bool {
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let now = std::time::Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.until.len() >= inner.next_purge {
            inner.until.retain(|_, until| *until > now);
            inner.next_purge = (inner.until.len() * 2).max(4096);
        }
        match inner.until.get(&key) {
            Some(until) if *until > now => false,
            _ if inner.until.len() >= MAX_SPENT => false,
            _ => {
                inner.until.insert(key, now + ttl);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_with_a_32_byte_key() {
        // RFC 4231 test case 2 uses the key "Jefe"; a 32-byte key padded
        // with zeros gives the same HMAC (keys are zero-padded to 64 bytes).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac(&SealKey(key), b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sealed_state_opens_only_unchanged_for_its_caller_and_request() {
        let key = SealKey([7u8; 32]);
        let alice = Principal::anonymous();
        let sealed = Sealed {
            keys: vec!["a".to_owned()],
            state: Some("s".to_owned()),
        };
        let text = seal(&key, &sealed, &alice, "req", Duration::from_secs(60));
        assert_eq!(open(&key, &text, &alice, "req"), Ok(sealed));
        assert!(open(&key, &format!("{text}-TAMPERED"), &alice, "req").is_err());
        let mut flipped = text.clone().into_bytes();
        flipped[3] ^= 1;
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(open(&key, &flipped, &alice, "req").is_err());
        assert_eq!(
            open(&key, &text, &alice, "other"),
            Err("issued for another request")
        );
        assert_eq!(
            open(&SealKey([8u8; 32]), &text, &alice, "req"),
            Err("bad signature")
        );
        // An expired state, signed with the right key.
        let body = B64.encode(
            serde_json::to_vec(&Payload {
                v: 1,
                ten: alice.tenant.to_string(),
                sub: alice.subject.to_string(),
                req: "req".to_owned(),
                keys: vec![],
                st: None,
                exp: 1,
            })
            .unwrap(),
        );
        let old = format!("{body}.{}", B64.encode(hmac(&key, body.as_bytes())));
        assert_eq!(open(&key, &old, &alice, "req"), Err("expired"));
    }

    /// A state sealed by berth before it used the `hmac` crate (its own
    /// RFC 2104 code), key bytes 0..32, for tenant `acme`, subject `alice`,
    /// request `binding-1`, questions `name` and `confirm`, state `step-2`,
    /// expiring at 2100-01-01: the wire format must not change.
    const SEALED_BEFORE: &str = "eyJ2IjoxLCJ0ZW4iOiJhY21lIiwic3ViIjoiYWxpY2UiLCJyZXEiOiJiaW5kaW5nLTEiLCJrZXlzIjpbIm5hbWUiLCJjb25maXJtIl0sInN0Ijoic3RlcC0yIiwiZXhwIjo0MTAyNDQ0ODAwfQ.jeUXVeLRH-KVUJGaVyAs8XAoEPpmPGPCa4fAyMzbYcw";

    fn vector() -> (SealKey, Principal, Sealed) {
        let principal = Principal {
            subject: std::sync::Arc::from("alice"),
            tenant: crate::auth::TenantId::new("acme"),
            scopes: std::sync::Arc::from(Vec::new()),
        };
        let sealed = Sealed {
            keys: vec!["name".to_owned(), "confirm".to_owned()],
            state: Some("step-2".to_owned()),
        };
        (
            SealKey(core::array::from_fn(|i| i as u8)),
            principal,
            sealed,
        )
    }

    #[test]
    fn a_state_sealed_by_the_previous_code_opens() {
        let (key, principal, sealed) = vector();
        assert_eq!(
            open(&key, SEALED_BEFORE, &principal, "binding-1"),
            Ok(sealed)
        );
        // The signature's first character changed (`j` to `k`).
        let forged = SEALED_BEFORE.replace(".jeU", ".keU");
        assert_eq!(
            open(&key, &forged, &principal, "binding-1"),
            Err("bad signature")
        );
    }

    #[test]
    fn the_same_inputs_seal_to_the_same_text_as_before() {
        let (key, principal, sealed) = vector();
        let text = seal_until(&key, &sealed, &principal, "binding-1", 4_102_444_800);
        assert_eq!(text, SEALED_BEFORE);
    }

    #[test]
    fn a_random_key_is_random_and_not_printed() {
        let a = SealKey::random().unwrap();
        assert_ne!(a, SealKey::random().unwrap());
        assert_eq!(format!("{a:?}"), "SealKey(<redacted>)");
    }

    #[test]
    fn a_state_is_good_for_one_use() {
        let spent = Spent::default();
        let ttl = Duration::from_secs(60);
        assert!(spent.claim("state-a", ttl));
        assert!(!spent.claim("state-a", ttl));
        assert!(spent.claim("state-b", ttl));
        // Once it would have expired, it is forgotten (and would fail open).
        assert!(spent.claim("state-c", Duration::ZERO));
        assert!(spent.claim("state-c", ttl));
    }
}
