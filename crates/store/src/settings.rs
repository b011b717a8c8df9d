//! Operator settings: a flat key/value table of text.

use crate::{Store, StoreError};

impl Store {
    pub async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar(&self.sql("SELECT value FROM settings WHERE name = ?"))
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Inserts or replaces the value.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(&self.sql(
            "INSERT INTO settings (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        ))
        .bind(name)
        .bind(value)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
