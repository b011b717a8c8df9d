//! Named leases: at most one holder of a name at a time, across every instance sharing the database.
//!
//! Expiry compares against each caller's wall clock, so instances need clocks that agree to well within
//! the TTL they use.

use crate::codec::now_ms;
use crate::{Store, StoreError};
use std::time::Duration;

impl Store {
    /// Takes (or keeps) lease `name` for `holder` until `ttl` from now: succeeds when nobody holds it,
    /// when the current lease has expired, or when `holder` already holds it (which extends it).
    /// Returns false while another holder's lease is live. One upsert statement, so callers racing for
    /// the same name cannot both win.
    pub async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        // `ON CONFLICT … DO UPDATE … WHERE` changes no row when the WHERE is false (SQLite and PostgreSQL).
        let done = sqlx::query(&self.sql(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
        ))
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives lease `name` up if `holder` holds it. Returns whether it did.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM leases WHERE name = ? AND holder = ?"))
            .bind(name)
            .bind(holder)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
