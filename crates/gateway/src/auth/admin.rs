//! The admin token: taken from the settings, or generated on first start (printed once) and kept only as a hash.

use super::token;
use store::{Store, StoreError};

const SETTING: &str = "admin_token_sha256";

#[derive(Clone)]
pub struct AdminAuth {
    hash: [u8; 32],
}

impl AdminAuth {
    /// Resolves the admin token. Returns the generated token when one had to be created (the caller prints it).
    pub async fn bootstrap(
        store: &Store,
        configured: Option<&str>,
    ) -> Result<(Self, Option<String>), StoreError> {
        if let Some(t) = configured {
            return Ok((
                Self {
                    hash: token::hash_bytes(t),
                },
                None,
            ));
        }
        if let Some(stored) = store.get_setting(SETTING).await? {
            let mut hash = [0u8; 32];
            if hex::decode_to_slice(&stored, &mut hash).is_ok() {
                return Ok((Self { hash }, None));
            }
        }
        let generated = token::random_secret("tg-admin-", 40);
        store
            .set_setting(SETTING, &token::hash_key(&generated))
            .await?;
        Ok((
            Self {
                hash: token::hash_bytes(&generated),
            },
            Some(generated),
        ))
    }

    /// What admin-token sessions are fingerprinted with: a new admin token ends them.
    pub fn credential_id(&self) -> String {
        hex::encode(self.hash)
    }

    pub fn verify(&self, presented: &str) -> bool {
        // Comparing hashes keeps the comparison time independent of where the presented token differs.
        let h = token::hash_bytes(presented);
        h.iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}
