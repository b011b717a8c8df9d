//! The admin token: taken from the settings, or generated on first start (printed once) and kept only as a hash.
//!
//! With `TOLLGATE_SECRET_KEY` the hash is keyed: HMAC-SHA256 of the token's SHA-256 under a key derived from the
//! secret (HKDF), stored as `<key id>:<hex>` in `admin_token_hmac`. A copied database then neither lets anyone
//! test guesses offline nor gives the credential that admin-token sessions are fingerprinted with. An unkeyed
//! hash stored before the secret was set is keyed at start-up (it is the SHA-256 the HMAC takes), and a hash
//! keyed with a secret now in `TOLLGATE_SECRET_KEY_PREVIOUS` keeps working. Without a secret key: the SHA-256 in
//! `admin_token_sha256`, as before.

use super::key_format;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use store::secrets::{derive_key, key_id};
use store::{Store, StoreError};

const SETTING: &str = "admin_token_sha256";
const KEYED_SETTING: &str = "admin_token_hmac";
const PURPOSE: &str = "admin token hash";

#[derive(Clone)]
pub struct AdminAuth {
    hash: [u8; 32],
    /// The HMAC key of `hash`; `None` without a secret key (then `hash` is the token's SHA-256).
    key: Option<[u8; 32]>,
}

fn keyed(key: &[u8; 32], sha256: &[u8; 32]) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32]; // HMAC takes keys of any length; never reached.
    };
    mac.update(sha256);
    mac.finalize().into_bytes().into()
}

fn digest(key: Option<&[u8; 32]>, token: &str) -> [u8; 32] {
    let sha = key_format::hash_bytes(token);
    key.map_or(sha, |k| keyed(k, &sha))
}

fn decode(hex_text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).ok().map(|()| out)
}

impl AdminAuth {
    /// Resolves the admin token without a secret key. Returns the generated token when one had to be created
    /// (the caller prints it).
    pub async fn bootstrap(
        store: &Store,
        configured: Option<&str>,
    ) -> Result<(Self, Option<String>), StoreError> {
        Self::bootstrap_keyed(store, configured, None, &[]).await
    }

    /// [`Self::bootstrap`] with the operator's secret key and the secrets it replaced.
    pub async fn bootstrap_keyed(
        store: &Store,
        configured: Option<&str>,
        secret: Option<&str>,
        previous: &[String],
    ) -> Result<(Self, Option<String>), StoreError> {
        let key = secret.map(|s| derive_key(s, PURPOSE));
        if let Some(t) = configured {
            let hash = digest(key.as_ref(), t);
            return Ok((Self { hash, key }, None));
        }
        if let Some(found) = Self::stored(store, key, previous).await? {
            return Ok((found, None));
        }
        let generated = key_format::random_secret("tg-admin-", 40);
        let auth = Self {
            hash: digest(key.as_ref(), &generated),
            key,
        };
        auth.save(store).await?;
        Ok((auth, Some(generated)))
    }

    /// The stored hash this process can check tokens against, keying an unkeyed one when a secret is set.
    async fn stored(
        store: &Store,
        key: Option<[u8; 32]>,
        previous: &[String],
    ) -> Result<Option<Self>, StoreError> {
        let plain = store.get_setting(SETTING).await?.and_then(|v| decode(&v));
        let Some(current) = key else {
            return Ok(plain.map(|hash| Self { hash, key: None }));
        };
        if let Some(row) = store.get_setting(KEYED_SETTING).await?
            && let Some((id, hex_hash)) = row.split_once(':')
            && let Some(hash) = decode(hex_hash)
        {
            let candidates =
                std::iter::once(current).chain(previous.iter().map(|p| derive_key(p, PURPOSE)));
            if let Some(k) = candidates.into_iter().find(|k| key_id(k) == id) {
                return Ok(Some(Self { hash, key: Some(k) }));
            }
            tracing::warn!(
                "the stored admin token hash was keyed with another secret key; generating a new token"
            );
        }
        let Some(sha) = plain else { return Ok(None) };
        let auth = Self {
            hash: keyed(&current, &sha),
            key: Some(current),
        };
        auth.save(store).await?;
        store.set_setting(SETTING, "").await?;
        Ok(Some(auth))
    }

    async fn save(&self, store: &Store) -> Result<(), StoreError> {
        match &self.key {
            None => store.set_setting(SETTING, &hex::encode(self.hash)).await,
            Some(k) => {
                let row = format!("{}:{}", key_id(k), hex::encode(self.hash));
                store.set_setting(KEYED_SETTING, &row).await
            }
        }
    }

    /// What admin-token sessions are fingerprinted with: a new admin token ends them.
    pub fn credential_id(&self) -> String {
        hex::encode(self.hash)
    }

    pub fn verify(&self, presented: &str) -> bool {
        // Comparing hashes keeps the comparison time independent of where the presented token differs.
        let h = digest(self.key.as_ref(), presented);
        h.iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}
