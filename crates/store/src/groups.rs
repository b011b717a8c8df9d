//! Price groups (name + per-mille multiplier). The migration seeds `default` at 1000.

use crate::record::{record, touched_one};
use crate::{Group, Store, StoreError};

record! {
    Group in "user_groups" order "name" upsert name {
        name: text,
        multiplier: int,
        rpm_limit: opt_int,
        tpm_limit: opt_int,
    }
}

impl Store {
    /// All groups ordered by name.
    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        self.list_all().await
    }

    pub async fn get_group(&self, name: &str) -> Result<Group, StoreError> {
        self.get_by("name", name.to_owned()).await
    }

    /// Inserts the group or replaces its multiplier and limits.
    pub async fn upsert_group(&self, g: &Group) -> Result<Group, StoreError> {
        self.upsert(g).await
    }

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
