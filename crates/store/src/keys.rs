//! API keys of users: CRUD and paging. Spend counters (`spent`, `reserved`) are only moved by the ledger. The
//! operator's columns are written by `create_key`/`update_key` (admin API, declarative config, import), the owner's
//! `user_*` columns only by `create_owned_key`/`set_owner_limits` (self-service).

use crate::codec::{bool_int, now_ms, opt_json, to_json, to_ms};
use crate::record::{AnyQuery, Record, Update, record};
use crate::{ApiKey, ApiKeyPatch, NewApiKey, OwnerLimits, Store, StoreError};
use sqlx::{Any, AnyConnection, QueryBuilder};

record! {
    ApiKey in "api_keys" {
        id: int,
        user_id: int,
        name: text,
        key_hash: text,
        prefix: text,
        enabled: flag,
        models: opt_json,
        spend_cap: opt_int,
        spent: int,
        reserved: int,
        expires_at: opt_time,
        ip_allowlist: json,
        rpm_limit: opt_int,
        tpm_limit: opt_int,
        created_at: time,
    }
    nested owner: OwnerLimits {
        disabled: flag("user_disabled"),
        models: opt_json("user_models"),
        spend_cap: opt_int("user_spend_cap"),
        expires_at: opt_time("user_expires_at"),
        ip_allowlist: json("user_ip_allowlist"),
        rpm_limit: opt_int("user_rpm_limit"),
        tpm_limit: opt_int("user_tpm_limit"),
    }
}

/// Tells the two unique constraints of `api_keys` apart.
pub(crate) fn key_conflict(name: &str, db_message: &str) -> String {
    if db_message.contains("key_hash") {
        "key with this secret".to_owned()
    } else {
        format!("key {name}")
    }
}

/// The operator's limits of `k` in the shape of the owner's, so that one [`bind_limits`] binds either set.
fn operator_limits(k: &NewApiKey) -> OwnerLimits {
    OwnerLimits {
        disabled: !k.enabled,
        models: k.models.clone(),
        spend_cap: k.spend_cap,
        expires_at: k.expires_at,
        ip_allowlist: k.ip_allowlist.clone(),
        rpm_limit: k.rpm_limit,
        tpm_limit: k.tpm_limit,
    }
}

/// Binds one set of a key's limits (the operator's or the owner's `user_*`), in column order: `models`,
/// `spend_cap`, `expires_at`, `ip_allowlist`, `rpm_limit`, `tpm_limit`.
fn bind_limits<'q>(query: AnyQuery<'q>, l: &OwnerLimits) -> Result<AnyQuery<'q>, StoreError> {
    Ok(query
        .bind(opt_json(l.models.as_ref())?)
        .bind(l.spend_cap)
        .bind(l.expires_at.map(to_ms))
        .bind(to_json(&l.ip_allowlist)?)
        .bind(l.rpm_limit)
        .bind(l.tpm_limit))
}

/// Inserts key `k` with the owner's limits `owner`, on `conn` (which may be inside a transaction). `NotFound` for
/// an unknown user, `Conflict` for a taken (user, name) or a duplicate secret.
pub(crate) async fn insert_key(
    conn: &mut AnyConnection,
    k: &NewApiKey,
    owner: &OwnerLimits,
) -> Result<ApiKey, StoreError> {
    let sql = crate::backend::Backend::of(conn)
        .sql(&format!(
            "INSERT INTO api_keys (user_id, name, key_hash, prefix, spent, reserved, created_at, \
             enabled, models, spend_cap, expires_at, ip_allowlist, rpm_limit, tpm_limit, \
             user_disabled, user_models, user_spend_cap, user_expires_at, user_ip_allowlist, \
             user_rpm_limit, user_tpm_limit) \
             VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {}",
            ApiKey::COLS
        ))
        .into_owned();
    let query = sqlx::query(&sql)
        .bind(k.user_id)
        .bind(&k.name)
        .bind(&k.key_hash)
        .bind(&k.prefix)
        .bind(now_ms())
        .bind(bool_int(k.enabled));
    let query = bind_limits(query, &operator_limits(k))?.bind(bool_int(owner.disabled));
    let row = bind_limits(query, owner)?
        .fetch_one(conn)
        .await
        .map_err(|e| StoreError::from_write(e, |m| key_conflict(&k.name, m)))?;
    ApiKey::from_row(&row)
}

impl Store {
    /// One page ordered by id (optionally only one user's keys), plus the total for that filter.
    pub async fn list_keys(
        &self,
        user_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ApiKey>, i64), StoreError> {
        let filter = |qb: &mut QueryBuilder<'_, Any>| {
            if let Some(uid) = user_id {
                qb.push(" WHERE user_id = ").push_bind(uid);
            }
        };
        self.page(filter, "id", limit.max(0), offset).await
    }

    pub async fn get_key(&self, id: i64) -> Result<ApiKey, StoreError> {
        self.get_by("id", id).await
    }

    pub async fn get_key_by_name(&self, user_id: i64, name: &str) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "SELECT {} FROM api_keys WHERE user_id = ? AND name = ?",
            ApiKey::COLS
        )))
        .bind(user_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        ApiKey::from_row(&row)
    }

    /// `NotFound` for an unknown user, `Conflict` for a taken (user, name) or a duplicate secret. The owner's
    /// limits start empty.
    pub async fn create_key(&self, k: &NewApiKey) -> Result<ApiKey, StoreError> {
        let mut conn = self.write.acquire().await?;
        insert_key(&mut conn, k, &OwnerLimits::default()).await
    }

    /// Applies the fields that are `Some`; `NotFound` if the key is gone.
    pub async fn update_key(&self, id: i64, p: &ApiKeyPatch) -> Result<ApiKey, StoreError> {
        let hash = p.key_hash.as_ref();
        let mut update = Update::new("api_keys");
        update
            .set("name", p.name.clone())
            .set("key_hash", hash.map(|(hash, _)| hash.clone()))
            .set("prefix", hash.map(|(_, prefix)| prefix.clone()))
            .set("enabled", p.enabled.map(bool_int))
            .set(
                "models",
                p.models
                    .as_ref()
                    .map(|v| opt_json(v.as_ref()))
                    .transpose()?,
            )
            .set("spend_cap", p.spend_cap)
            .set("expires_at", p.expires_at.map(|v| v.map(to_ms)))
            .set(
                "ip_allowlist",
                p.ip_allowlist.as_ref().map(to_json).transpose()?,
            )
            .set("tpm_limit", p.tpm_limit)
            .set("rpm_limit", p.rpm_limit);
        let name = p.name.as_deref().unwrap_or_default();
        update.returning(self, id, |m| key_conflict(name, m)).await
    }

    pub async fn delete_key(&self, id: i64) -> Result<(), StoreError> {
        self.delete_by("api_keys", "id", id).await
    }
}
