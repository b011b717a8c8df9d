//! Self-service writes of API keys: a user creating a key (within a per-user count) and setting the owner's
//! limits on it (`user_*` columns). These never touch the operator's columns, which only the admin API writes.

use crate::backend::finish;
use crate::codec::{bool_int, now_ms, opt_json, to_json, to_ms};
use crate::keys::{KEY_COLS, key_conflict, key_from_row};
use crate::{ApiKey, NewApiKey, OwnerLimits, Store, StoreError};
use sqlx::{Any, QueryBuilder};

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
        let row = sqlx::query(&self.sql(&format!(
            "INSERT INTO api_keys (user_id, name, key_hash, prefix, enabled, models, spend_cap, \
             spent, reserved, expires_at, ip_allowlist, rpm_limit, tpm_limit, created_at, \
             user_disabled, user_models, user_spend_cap, user_expires_at, user_ip_allowlist, \
             user_rpm_limit, user_tpm_limit) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {KEY_COLS}"
        )))
        .bind(k.user_id)
        .bind(&k.name)
        .bind(&k.key_hash)
        .bind(&k.prefix)
        .bind(bool_int(k.enabled))
        .bind(opt_json(k.models.as_ref())?)
        .bind(k.spend_cap)
        .bind(k.expires_at.map(to_ms))
        .bind(to_json(&k.ip_allowlist)?)
        .bind(k.rpm_limit)
        .bind(k.tpm_limit)
        .bind(now_ms())
        .bind(bool_int(owner.disabled))
        .bind(opt_json(owner.models.as_ref())?)
        .bind(owner.spend_cap)
        .bind(owner.expires_at.map(to_ms))
        .bind(to_json(&owner.ip_allowlist)?)
        .bind(owner.rpm_limit)
        .bind(owner.tpm_limit)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_write(e, |m| key_conflict(&k.name, m)))?;
        let key = key_from_row(&row)?;
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
        let mut qb: QueryBuilder<'_, Any> = QueryBuilder::new("UPDATE api_keys SET ");
        let mut sets = qb.separated(", ");
        if let Some(n) = name {
            sets.push("name = ").push_bind_unseparated(n.to_owned());
        }
        sets.push("user_disabled = ")
            .push_bind_unseparated(bool_int(owner.disabled));
        sets.push("user_models = ")
            .push_bind_unseparated(opt_json(owner.models.as_ref())?);
        sets.push("user_spend_cap = ")
            .push_bind_unseparated(owner.spend_cap);
        sets.push("user_expires_at = ")
            .push_bind_unseparated(owner.expires_at.map(to_ms));
        sets.push("user_ip_allowlist = ")
            .push_bind_unseparated(to_json(&owner.ip_allowlist)?);
        sets.push("user_rpm_limit = ")
            .push_bind_unseparated(owner.rpm_limit);
        sets.push("user_tpm_limit = ")
            .push_bind_unseparated(owner.tpm_limit);
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(format!(" RETURNING {KEY_COLS}"));
        let (sql, args) = finish(self.backend, &mut qb)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| StoreError::from_write(e, |m| key_conflict(name.unwrap_or_default(), m)))?
            .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }
}
