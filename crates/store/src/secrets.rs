//! Upstream channel keys encrypted at rest: AES-256-GCM with a key derived from the operator's secret
//! (`TOLLGATE_SECRET_KEY`). A sealed value reads `enc:v1:<key id>:<base64(nonce ‖ ciphertext)>`, where the key id
//! (8 hex digits of the key's SHA-256) says which key sealed it, so rotation can find what to re-seal. Values
//! without the prefix are plaintext from before encryption was turned on, and are re-sealed at start-up.

use crate::StoreError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v1:";

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn derive(secret: &str) -> Result<Self, StoreError> {
        let bytes: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let id = hex_prefix(&Sha256::digest(bytes));
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| StoreError::Corrupt("bad secret key".into()))?;
        Ok(Self { id, cipher })
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The current key (seals and opens) and earlier keys (open only, during a rotation).
pub struct SecretCipher {
    current: Key,
    previous: Vec<Key>,
}

impl SecretCipher {
    /// `secret`: the operator's secret (a long random string); `previous`: secrets used before a rotation.
    pub fn new(secret: &str, previous: &[String]) -> Result<Self, StoreError> {
        if secret.len() < 16 {
            return Err(StoreError::Corrupt(
                "the secret key must be at least 16 characters".into(),
            ));
        }
        let previous = previous
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| Key::derive(p))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            current: Key::derive(secret)?,
            previous,
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
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, b64) = rest
            .split_once(':')
            .ok_or_else(|| StoreError::Corrupt("malformed sealed value".into()))?;
        let key = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == id)
            .ok_or_else(|| {
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

    /// Whether `stored` is sealed with the current key (nothing to re-seal).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .is_some_and(|rest| rest.starts_with(&format!("{}:", self.current.id)))
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
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
}
