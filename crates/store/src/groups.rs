//! Price groups (name + per-mille multiplier). The migration seeds `default` at 1000.

use crate::record::{Record, fetch_all, record, touched_one};
use crate::{Group, Store, StoreError};
use sqlx::AnyConnection;

record! {
    Group in "user_groups" {
        name: text,
        multiplier: int,
        rpm_limit: opt_int,
        tpm_limit: opt_int,
    }
}

/// All groups ordered by name.
pub(crate) async fn fetch_groups(conn: &mut AnyConnection) -> Result<Vec<Group>, StoreError> {
    fetch_all(conn, "name").await
}

impl Store {
    pub async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_groups(&mut conn).await
    }

    pub async fn get_group(&self, name: &str) -> Result<Group, StoreError> {
        self.get_by("name", name.to_owned()).await
    }

    /// Inserts the group or replaces its multiplier.
    pub async fn upsert_group(&self, g: &Group) -> Result<Group, StoreError> {
        let mut conn = self.write.acquire().await?;
        upsert_group_in(&mut conn, g).await
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

/// Inserts the group or replaces its multiplier and limits, on `conn` (which may be inside a transaction).
pub(crate) async fn upsert_group_in(
    conn: &mut AnyConnection,
    g: &Group,
) -> Result<Group, StoreError> {
    let sql = crate::backend::Backend::of(conn)
        .sql(&format!(
            "INSERT INTO user_groups ({cols}) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET multiplier = excluded.multiplier, \
         rpm_limit = excluded.rpm_limit, tpm_limit = excluded.tpm_limit \
         RETURNING {cols}",
            cols = Group::COLS
        ))
        .into_owned();
    let row = sqlx::query(&sql)
        .bind(&g.name)
        .bind(g.multiplier)
        .bind(g.rpm_limit)
        .bind(g.tpm_limit)
        .fetch_one(conn)
        .await?;
    Group::from_row(&row)
}
