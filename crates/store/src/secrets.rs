//! Upstream channel keys encrypted at rest: AES-256-GCM with a key derived from the operator's secret
//! (`TOLLGATE_SECRET_KEY`) by HKDF-SHA256. A sealed value reads `enc:v2:<key id>:<base64(nonce ‖ ciphertext)>`,
//! where the key id (8 hex digits of the key's SHA-256) says which key sealed it, so rotation can find what to
//! re-seal. `enc:v1:` values were sealed with the key derived the old way (a bare SHA-256 of the secret): they
//! still open, and are re-sealed as `v2` at start-up like values from a previous secret. Values without a prefix
//! are plaintext from before encryption was turned on, and are re-sealed at start-up too.
//!
//! [`derive_key`] also gives the gateway its other secret-derived keys (the session signing key, the admin
//! token's hash key): one KDF, one salt, a distinct purpose label each.

use crate::StoreError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v2:";
/// Sealed with the SHA-256-derived key of before: opened, never written.
const PREFIX_V1: &str = "enc:v1:";
/// HKDF's salt: fixed (the secret is the only input key material), names the scheme.
const SALT: &[u8] = b"tollgate secret-key derivation v2";
const CHANNEL_KEYS: &str = "channel keys (AES-256-GCM)";

/// A 32-byte key for `purpose`, derived from the operator's secret with HKDF-SHA256.
pub fn derive_key(secret: &str, purpose: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8,160-byte output limit, the only way `expand` can fail.
    let _ = Hkdf::<Sha256>::new(Some(SALT), secret.as_bytes()).expand(purpose.as_bytes(), &mut key);
    key
}

/// The short id of a key, stored beside what it sealed (not secret: a hash of the key).
pub fn key_id(key: &[u8; 32]) -> String {
    Sha256::digest(key)
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn from_bytes(bytes: [u8; 32]) -> Result<Self, StoreError> {
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| StoreError::Corrupt("bad secret key".into()))?;
        Ok(Self {
            id: key_id(&bytes),
            cipher,
        })
    }

    fn derive(secret: &str) -> Result<Self, StoreError> {
        Self::from_bytes(derive_key(secret, CHANNEL_KEYS))
    }

    /// The key `enc:v1:` values were sealed with.
    fn derive_v1(secret: &str) -> Result<Self, StoreError> {
        Self::from_bytes(Sha256::digest(secret.as_bytes()).into())
    }
}

/// The current key (seals and opens), earlier keys (open only, during a rotation), and the keys of the old
/// derivation for every configured secret (open only).
pub struct SecretCipher {
    current: Key,
    previous: Vec<Key>,
    legacy: Vec<Key>,
}

impl SecretCipher {
    /// `secret`: the operator's secret (a long random string); `previous`: secrets used before a rotation.
    pub fn new(secret: &str, previous: &[String]) -> Result<Self, StoreError> {
        if secret.len() < 16 {
            return Err(StoreError::Corrupt(
                "the secret key must be at least 16 characters".into(),
            ));
        }
        let previous: Vec<&str> = previous
            .iter()
            .map(String::as_str)
            .filter(|p| !p.is_empty())
            .collect();
        Ok(Self {
            current: Key::derive(secret)?,
            previous: previous
                .iter()
                .map(|p| Key::derive(p))
                .collect::<Result<_, _>>()?,
            legacy: std::iter::once(secret)
                .chain(previous.iter().copied())
                .map(Key::derive_v1)
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn seal(&self, plain: &str) -> Result<String, StoreError> {
        let nonce_bytes: [u8; 12] = rand_nonce();
        let ct = self
            .current
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), plain.as_bytes())
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let mut blob = nonce_bytes.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.current.id,
            STANDARD.encode(blob)
        ))
    }

    /// Plaintext of a stored value (plaintext values pass through).
    pub fn open(&self, stored: &str) -> Result<String, StoreError> {
        let (rest, keys) = if let Some(rest) = stored.strip_prefix(PREFIX) {
            let keys: Vec<&Key> = std::iter::once(&self.current)
                .chain(&self.previous)
                .collect();
            (rest, keys)
        } else if let Some(rest) = stored.strip_prefix(PREFIX_V1) {
            (rest, self.legacy.iter().collect())
        } else {
            return Ok(stored.to_owned());
        };
        let (id, b64) = rest
            .split_once(':')
            .ok_or_else(|| StoreError::Corrupt("malformed sealed value".into()))?;
        let key = keys.into_iter().find(|k| k.id == id).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "a channel key was sealed with key {id}, which is neither TOLLGATE_SECRET_KEY nor in \
                 TOLLGATE_SECRET_KEY_PREVIOUS"
            ))
        })?;
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| StoreError::Corrupt("malformed sealed value".into()))?;
        if blob.len() < 12 {
            return Err(StoreError::Corrupt("malformed sealed value".into()));
        }
        let (nonce, ct) = blob.split_at(12);
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                StoreError::Corrupt("a sealed channel key failed authentication".into())
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("a sealed channel key is not text".into()))
    }

    /// Whether `stored` is sealed with the current key and derivation (nothing to re-seal).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .is_some_and(|rest| rest.starts_with(&format!("{}:", self.current.id)))
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX) || stored.starts_with(PREFIX_V1)
}

fn rand_nonce() -> [u8; 12] {
    use aes_gcm::aead::OsRng;
    use aes_gcm::aead::rand_core::RngCore;
    let mut n = [0u8; 12];
    OsRng.fill_bytes(&mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_rotate() {
        let a = SecretCipher::new("first-secret-0123456789", &[]).unwrap();
        let sealed = a.seal("sk-upstream-1").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("sk-upstream-1"));
        assert_ne!(
            sealed,
            a.seal("sk-upstream-1").unwrap(),
            "fresh nonce every time"
        );
        assert_eq!(a.open(&sealed).unwrap(), "sk-upstream-1");
        assert_eq!(a.open("plain-old").unwrap(), "plain-old");
        assert!(a.is_current(&sealed));
        let b = SecretCipher::new(
            "second-secret-0123456789",
            &["first-secret-0123456789".into()],
        )
        .unwrap();
        assert_eq!(b.open(&sealed).unwrap(), "sk-upstream-1");
        assert!(!b.is_current(&sealed));
        let c = SecretCipher::new("second-secret-0123456789", &[]).unwrap();
        assert!(
            c.open(&sealed)
                .unwrap_err()
                .to_string()
                .contains("TOLLGATE_SECRET_KEY_PREVIOUS")
        );
        let mut tampered = sealed;
        tampered.pop();
        tampered.push('A');
        assert!(a.open(&tampered).is_err());
    }

    /// What the old derivation wrote: AES-256-GCM under SHA-256(secret), `enc:v1:<id>:…`.
    fn seal_the_old_way(secret: &str, plain: &str) -> String {
        let key = Key::derive_v1(secret).unwrap();
        let nonce = [9u8; 12];
        let mut blob = nonce.to_vec();
        blob.extend(
            key.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                .unwrap(),
        );
        format!("enc:v1:{}:{}", key.id, STANDARD.encode(blob))
    }

    #[test]
    fn values_sealed_by_the_old_derivation_open_and_are_not_current() {
        let old = seal_the_old_way("first-secret-0123456789", "sk-upstream-old");
        // Same secret, new binary: opens, and start-up re-seals it with the HKDF key.
        let same = SecretCipher::new("first-secret-0123456789", &[]).unwrap();
        assert!(is_sealed(&old));
        assert_eq!(same.open(&old).unwrap(), "sk-upstream-old");
        assert!(!same.is_current(&old));
        let resealed = same.seal(&same.open(&old).unwrap()).unwrap();
        assert!(resealed.starts_with("enc:v2:") && same.is_current(&resealed));
        // Rotated away from that secret: still opens through the previous list.
        let rotated = SecretCipher::new(
            "second-secret-0123456789",
            &["first-secret-0123456789".into()],
        )
        .unwrap();
        assert_eq!(rotated.open(&old).unwrap(), "sk-upstream-old");
        let stranger = SecretCipher::new("second-secret-0123456789", &[]).unwrap();
        assert!(stranger.open(&old).is_err());
        // The new derivation is not the old one.
        assert_ne!(
            derive_key("first-secret-0123456789", CHANNEL_KEYS),
            <[u8; 32]>::from(Sha256::digest("first-secret-0123456789".as_bytes()))
        );
    }
}
