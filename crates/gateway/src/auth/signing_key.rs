//! Signing keys kept in the `settings` table (dashboard sessions, Midjourney image links), tied to
//! `TOLLGATE_SECRET_KEY` when one is configured.

use store::{Store, StoreError};

/// A signing key kept in the `settings` row `setting`: a random value made once, shared by every instance and kept
/// across restarts. Without a `secret` the stored value is the key; with one, the key is derived from both
/// (`purpose` names its use), so a copied database alone signs nothing.
pub async fn setting_key(
    store: &Store,
    setting: &str,
    secret: Option<&str>,
    purpose: &str,
) -> Result<[u8; 32], StoreError> {
    let mut stored = [0u8; 32];
    let found = store
        .get_setting(setting)
        .await?
        .is_some_and(|v| hex::decode_to_slice(&v, &mut stored).is_ok());
    if !found {
        stored = rand::random();
        store.set_setting(setting, &hex::encode(stored)).await?;
    }
    Ok(match secret {
        None => stored,
        Some(secret) => {
            store::secrets::derive_key(secret, &format!("{purpose} {}", hex::encode(stored)))
        }
    })
}
