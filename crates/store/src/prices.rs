//! Model prices keyed by model name; model `*` is the operator's default price.

use crate::record::{Record, fetch_all, record};
use crate::{Price, Store, StoreError};
use sqlx::AnyConnection;

record! {
    Price in "prices" {
        model: text,
        input_per_million: opt_int,
        cached_input_per_million: opt_int,
        output_per_million: opt_int,
        per_request: opt_int,
        max_output_tokens: opt_int,
    }
}

/// All prices ordered by model.
pub(crate) async fn fetch_prices(conn: &mut AnyConnection) -> Result<Vec<Price>, StoreError> {
    fetch_all(conn, "model").await
}

impl Store {
    pub async fn list_prices(&self) -> Result<Vec<Price>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_prices(&mut conn).await
    }

    pub async fn get_price(&self, model: &str) -> Result<Price, StoreError> {
        self.get_by("model", model.to_owned()).await
    }

    /// Inserts the price or replaces every field of the existing one.
    pub async fn upsert_price(&self, p: &Price) -> Result<Price, StoreError> {
        let mut conn = self.write.acquire().await?;
        upsert_price_in(&mut conn, p).await
    }

    pub async fn delete_price(&self, model: &str) -> Result<(), StoreError> {
        self.delete_by("prices", "model", model.to_owned()).await
    }
}

/// Inserts the price or replaces every field of it, on `conn` (which may be inside a transaction).
pub(crate) async fn upsert_price_in(
    conn: &mut sqlx::AnyConnection,
    p: &Price,
) -> Result<Price, StoreError> {
    let sql = crate::backend::Backend::of(conn)
        .sql(&format!(
            "INSERT INTO prices ({cols}) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (model) DO UPDATE SET \
         input_per_million = excluded.input_per_million, \
         cached_input_per_million = excluded.cached_input_per_million, \
         output_per_million = excluded.output_per_million, \
         per_request = excluded.per_request, \
         max_output_tokens = excluded.max_output_tokens \
         RETURNING {cols}",
            cols = Price::COLS
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
    Price::from_row(&row)
}
