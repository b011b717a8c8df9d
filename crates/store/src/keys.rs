//! API keys of users: CRUD and paging. Spend counters (`spent`, `reserved`) are only moved by the ledger. The
//! operator's columns are written by `create_key`/`update_key` (admin API, declarative config, import), the owner's
//! `user_*` columns only by `create_owned_key`/`set_owner_limits` (self-service).

use crate::backend::finish;
use crate::codec::{RowExt, bool_int, now_ms, opt_json, to_json, to_ms};
use crate::{ApiKey, ApiKeyPatch, NewApiKey, OwnerLimits, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, QueryBuilder};

pub(crate) const KEY_COLS: &str = "id, user_id, name, key_hash, prefix, enabled, models, spend_cap, spent, \
                        reserved, expires_at, ip_allowlist, rpm_limit, tpm_limit, created_at, \
                        user_disabled, user_models, user_spend_cap, user_expires_at, user_ip_allowlist, \
                        user_rpm_limit, user_tpm_limit";

pub(crate) fn key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.int("id")?,
        user_id: row.int("user_id")?,
        name: row.text("name")?,
        key_hash: row.text("key_hash")?,
        prefix: row.text("prefix")?,
        enabled: row.flag("enabled")?,
        models: row.opt_json("models")?,
        spend_cap: row.opt_int("spend_cap")?,
        spent: row.int("spent")?,
        reserved: row.int("reserved")?,
        expires_at: row.opt_time("expires_at")?,
        ip_allowlist: row.json("ip_allowlist")?,
        rpm_limit: row.opt_int("rpm_limit")?,
        tpm_limit: row.opt_int("tpm_limit")?,
        created_at: row.time("created_at")?,
        owner: OwnerLimits {
            disabled: row.flag("user_disabled")?,
            models: row.opt_json("user_models")?,
            spend_cap: row.opt_int("user_spend_cap")?,
            expires_at: row.opt_time("user_expires_at")?,
            ip_allowlist: row.json("user_ip_allowlist")?,
            rpm_limit: row.opt_int("user_rpm_limit")?,
            tpm_limit: row.opt_int("user_tpm_limit")?,
        },
    })
}

/// Tells the two unique constraints of `api_keys` apart.
pub(crate) fn key_conflict(name: &str, db_message: &str) -> String {
    if db_message.contains("key_hash") {
        "key with this secret".to_owned()
    } else {
        format!("key {name}")
    }
}

/// All keys ordered by id.
pub(crate) async fn fetch_keys(conn: &mut AnyConnection) -> Result<Vec<ApiKey>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {KEY_COLS} FROM api_keys ORDER BY id"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(key_from_row).collect()
}

impl Store {
    /// One page ordered by id (optionally only one user's keys), plus the total for that filter.
    pub async fn list_keys(
        &self,
        user_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ApiKey>, i64), StoreError> {
        let filter = if user_id.is_some() {
            " WHERE user_id = ?"
        } else {
            ""
        };
        let mut tx = self.read_tx().await?;
        let count_sql = format!("SELECT COUNT(*) FROM api_keys{filter}");
        let count_sql = self.sql(&count_sql);
        let mut count = sqlx::query_scalar(&count_sql);
        let page_sql =
            format!("SELECT {KEY_COLS} FROM api_keys{filter} ORDER BY id LIMIT ? OFFSET ?");
        let page_sql = self.sql(&page_sql);
        let mut page = sqlx::query(&page_sql);
        if let Some(uid) = user_id {
            count = count.bind(uid);
            page = page.bind(uid);
        }
        let total: i64 = count.fetch_one(&mut *tx).await?;
        let rows = page
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let keys = rows.iter().map(key_from_row).collect::<Result<_, _>>()?;
        Ok((keys, total))
    }

    pub async fn get_key(&self, id: i64) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(&self.sql(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    pub async fn get_key_by_name(&self, user_id: i64, name: &str) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE user_id = ? AND name = ?"
        )))
        .bind(user_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    /// `NotFound` for an unknown user, `Conflict` for a taken (user, name) or a duplicate secret.
    pub async fn create_key(&self, k: &NewApiKey) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "INSERT INTO api_keys (user_id, name, key_hash, prefix, enabled, models, spend_cap, \
             spent, reserved, expires_at, ip_allowlist, rpm_limit, tpm_limit, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?) RETURNING {KEY_COLS}"
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
        .fetch_one(&self.write)
        .await
        .map_err(|e| StoreError::from_write(e, |m| key_conflict(&k.name, m)))?;
        key_from_row(&row)
    }

    /// Applies the fields that are `Some`; `NotFound` if the key is gone.
    pub async fn update_key(&self, id: i64, p: &ApiKeyPatch) -> Result<ApiKey, StoreError> {
        let mut qb: QueryBuilder<'_, Any> = QueryBuilder::new("UPDATE api_keys SET ");
        let mut sets = qb.separated(", ");
        if let Some(v) = &p.name {
            sets.push("name = ").push_bind_unseparated(v.clone());
        }
        if let Some((hash, prefix)) = &p.key_hash {
            sets.push("key_hash = ").push_bind_unseparated(hash.clone());
            sets.push("prefix = ").push_bind_unseparated(prefix.clone());
        }
        if let Some(v) = p.enabled {
            sets.push("enabled = ").push_bind_unseparated(bool_int(v));
        }
        if let Some(v) = &p.models {
            sets.push("models = ")
                .push_bind_unseparated(opt_json(v.as_ref())?);
        }
        if let Some(v) = p.spend_cap {
            sets.push("spend_cap = ").push_bind_unseparated(v);
        }
        if let Some(v) = p.expires_at {
            sets.push("expires_at = ")
                .push_bind_unseparated(v.map(to_ms));
        }
        if let Some(v) = &p.ip_allowlist {
            sets.push("ip_allowlist = ")
                .push_bind_unseparated(to_json(v)?);
        }
        if let Some(v) = p.tpm_limit {
            sets.push("tpm_limit = ").push_bind_unseparated(v);
        }
        if let Some(v) = p.rpm_limit {
            sets.push("rpm_limit = ").push_bind_unseparated(v);
        }
        // Keeps the statement valid when the patch is empty.
        sets.push("id = id");
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(format!(" RETURNING {KEY_COLS}"));
        let name = p.name.as_deref().unwrap_or_default();
        let (sql, args) = finish(self.backend, &mut qb)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| StoreError::from_write(e, |m| key_conflict(name, m)))?
            .ok_or(StoreError::NotFound)?;
        key_from_row(&row)
    }

    pub async fn delete_key(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM api_keys WHERE id = ?"))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
