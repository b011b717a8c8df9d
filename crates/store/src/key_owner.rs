//! Self-service writes of API keys: a user creating a key (within a per-user count) and setting the owner's
//! limits on it (`user_*` columns). These never touch the operator's columns, which only the admin API writes.

use crate::codec::{bool_int, opt_json, to_json, to_ms};
use crate::keys::{insert_key, key_conflict};
use crate::record::Update;
use crate::{ApiKey, NewApiKey, OwnerLimits, Store, StoreError};

impl Store {
    /// Creates `k` with the owner's limits `owner` (the operator's columns as `k` has them), unless its user
    /// already has `max_keys` keys: then `Ok(None)`, nothing written. The count and the insert are one
    /// transaction with the user's row locked, so concurrent creates cannot both take the last place.
    /// `NotFound` for an unknown user, `Conflict` for a taken (user, name) or a duplicate secret.
    pub async fn create_owned_key(
        &self,
        k: &NewApiKey,
        owner: &OwnerLimits,
        max_keys: i64,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut tx = self.write_tx().await?;
        let lock = format!(
            "SELECT id FROM users WHERE id = ?{}",
            self.backend.for_update()
        );
        let user: Option<i64> = sqlx::query_scalar(&self.sql(&lock))
            .bind(k.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if user.is_none() {
            return Err(StoreError::NotFound);
        }
        let count: i64 =
            sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM api_keys WHERE user_id = ?"))
                .bind(k.user_id)
                .fetch_one(&mut *tx)
                .await?;
        if count >= max_keys {
            return Ok(None);
        }
        let key = insert_key(&mut tx, k, owner).await?;
        tx.commit().await?;
        Ok(Some(key))
    }

    /// Renames key `id` (when `name` is given) and replaces all of its owner's limits with `owner`; the
    /// operator's columns stay as they are. `NotFound` if the key is gone, `Conflict` for a taken name.
    pub async fn set_owner_limits(
        &self,
        id: i64,
        name: Option<&str>,
        owner: &OwnerLimits,
    ) -> Result<ApiKey, StoreError> {
        let mut update = Update::new("api_keys");
        update
            .set("name", name.map(str::to_owned))
            .set("user_disabled", Some(bool_int(owner.disabled)))
            .set("user_models", Some(opt_json(owner.models.as_ref())?))
            .set("user_spend_cap", Some(owner.spend_cap))
            .set("user_expires_at", Some(owner.expires_at.map(to_ms)))
            .set("user_ip_allowlist", Some(to_json(&owner.ip_allowlist)?))
            .set("user_rpm_limit", Some(owner.rpm_limit))
            .set("user_tpm_limit", Some(owner.tpm_limit));
        let name = name.unwrap_or_default();
        update.returning(self, id, |m| key_conflict(name, m)).await
    }
}
