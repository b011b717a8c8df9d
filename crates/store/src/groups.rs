//! Price groups (name + per-mille multiplier). The migration seeds `default` at 1000.

use crate::record::{keyed_api, record, touched_one};
use crate::{Group, Store, StoreError};

record! {
    Group in "user_groups" order "name" upsert name {
        name: text,
        multiplier: int,
        rpm_limit: opt_int,
        tpm_limit: opt_int,
    }
}

keyed_api!(Group: list list_groups, get get_group, upsert upsert_group);

impl Store {
    /// `NotFound` if absent; `Conflict` while any user still belongs to the group.
    pub async fn delete_group(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let users: i64 =
            sqlx::query_scalar(&self.sql("SELECT COUNT(*) FROM users WHERE group_name = ?"))
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        if users > 0 {
            // Reads "user in group vip already exists".
            return Err(StoreError::Conflict(format!("user in group {name}")));
        }
        let done = sqlx::query(&self.sql("DELETE FROM user_groups WHERE name = ?"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        touched_one(done)?;
        tx.commit().await?;
        Ok(())
    }
}
