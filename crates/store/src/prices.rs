//! Model prices keyed by model name; model `*` is the operator's default price.

use crate::codec::RowExt;
use crate::{Price, Store, StoreError};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

const COLS: &str = "model, input_per_million, cached_input_per_million, output_per_million, per_request, \
     max_output_tokens";

fn price_from_row(row: &AnyRow) -> Result<Price, StoreError> {
    Ok(Price {
        model: row.text("model")?,
        input_per_million: row.opt_int("input_per_million")?,
        cached_input_per_million: row.opt_int("cached_input_per_million")?,
        output_per_million: row.opt_int("output_per_million")?,
        per_request: row.opt_int("per_request")?,
        max_output_tokens: row.opt_int("max_output_tokens")?,
    })
}

/// All prices ordered by model.
pub(crate) async fn fetch_prices(conn: &mut AnyConnection) -> Result<Vec<Price>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM prices ORDER BY model"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(price_from_row).collect()
}

impl Store {
    pub async fn list_prices(&self) -> Result<Vec<Price>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_prices(&mut conn).await
    }

    pub async fn get_price(&self, model: &str) -> Result<Price, StoreError> {
        let row = sqlx::query(&self.sql(&format!("SELECT {COLS} FROM prices WHERE model = ?")))
            .bind(model)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        price_from_row(&row)
    }

    /// Inserts the price or replaces every field of the existing one.
    pub async fn upsert_price(&self, p: &Price) -> Result<Price, StoreError> {
        let mut conn = self.write.acquire().await?;
        upsert_price_in(&mut conn, p).await
    }

    pub async fn delete_price(&self, model: &str) -> Result<(), StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM prices WHERE model = ?"))
            .bind(model)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// Inserts the price or replaces every field of it, on `conn` (which may be inside a transaction).
pub(crate) async fn upsert_price_in(
    conn: &mut sqlx::AnyConnection,
    p: &Price,
) -> Result<Price, StoreError> {
    let sql = crate::backend::Backend::of(conn)
        .sql(&format!(
            "INSERT INTO prices ({COLS}) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (model) DO UPDATE SET \
         input_per_million = excluded.input_per_million, \
         cached_input_per_million = excluded.cached_input_per_million, \
         output_per_million = excluded.output_per_million, \
         per_request = excluded.per_request, \
         max_output_tokens = excluded.max_output_tokens \
         RETURNING {COLS}"
        ))
        .into_owned();
    let row = sqlx::query(&sql)
        .bind(&p.model)
        .bind(p.input_per_million)
        .bind(p.cached_input_per_million)
        .bind(p.output_per_million)
        .bind(p.per_request)
        .bind(p.max_output_tokens)
        .fetch_one(conn)
        .await?;
    price_from_row(&row)
}
