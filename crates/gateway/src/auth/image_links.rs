//! Signed image links: `/mj/image/{task}?expires=<unix s>&signature=<hex HMAC-SHA256>` so `<img>` tags work without a
//! key, the upstream host stays hidden, and a link cannot be forged, altered or used after it expires. The signing
//! key is generated once and kept in the settings table, so links survive restarts and work on every instance; with
//! `TOLLGATE_SECRET_KEY` it is derived from that too, so a copied database alone forges no link.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use store::{Store, StoreError};

const SETTING: &str = "mj_image_signing_key";

#[derive(Clone)]
pub struct ImageSigner {
    key: Vec<u8>,
}

fn mac(key: &[u8], task_id: i64, expires: i64) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
    m.update(format!("{task_id}.{expires}").as_bytes());
    Some(m)
}

impl ImageSigner {
    pub async fn bootstrap(store: &Store, secret: Option<&str>) -> Result<Self, StoreError> {
        let key =
            crate::auth::signing_key::setting_key(store, SETTING, secret, "midjourney image links")
                .await?;
        Ok(Self { key: key.to_vec() })
    }

    pub fn sign(&self, task_id: i64, expires: i64) -> String {
        mac(&self.key, task_id, expires)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Valid signature and not expired.
    pub fn verify(&self, task_id: i64, expires: i64, signature: &str, now: i64) -> bool {
        let Ok(sig) = hex::decode(signature) else {
            return false;
        };
        expires >= now
            && mac(&self.key, task_id, expires).is_some_and(|m| m.verify_slice(&sig).is_ok())
    }

    /// The link for a task's image, valid for `ttl` from now. `base` is the gateway's public root ("" = relative).
    pub fn url(&self, base: &str, task_id: i64, ttl: Duration) -> String {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = chrono::Utc::now().timestamp().saturating_add(ttl);
        format!(
            "{base}/mj/image/{task_id}?expires={expires}&signature={}",
            self.sign(task_id, expires)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_task_and_expiry() {
        let s = ImageSigner { key: vec![7; 32] };
        let sig = s.sign(5, 1000);
        assert!(s.verify(5, 1000, &sig, 999));
        assert!(!s.verify(5, 1000, &sig, 1001), "expired");
        assert!(!s.verify(6, 1000, &sig, 999), "other task");
        assert!(!s.verify(5, 2000, &sig, 999), "extended expiry");
        assert!(!s.verify(5, 1000, "zz", 999));
        assert!(
            !ImageSigner { key: vec![8; 32] }.verify(5, 1000, &sig, 999),
            "other key"
        );
    }
}
