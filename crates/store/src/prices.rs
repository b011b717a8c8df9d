//! Model prices keyed by model name; model `*` is the operator's default price.

use crate::record::record;
use crate::{Price, Store, StoreError};

record! {
    Price in "prices" order "model" upsert model {
        model: text,
        input_per_million: opt_int,
        cached_input_per_million: opt_int,
        cache_write_per_million: opt_int,
        cache_write_1h_per_million: opt_int,
        audio_input_per_million: opt_int,
        audio_output_per_million: opt_int,
        output_per_million: opt_int,
        per_request: opt_int,
        max_output_tokens: opt_int,
    }
}

impl Store {
    /// All prices ordered by model.
    pub async fn list_prices(&self) -> Result<Vec<Price>, StoreError> {
        self.list_all().await
    }

    pub async fn get_price(&self, model: &str) -> Result<Price, StoreError> {
        self.get_by("model", model.to_owned()).await
    }

    /// Inserts the price or replaces every field of the existing one.
    pub async fn upsert_price(&self, p: &Price) -> Result<Price, StoreError> {
        self.upsert(p).await
    }

    pub async fn delete_price(&self, model: &str) -> Result<(), StoreError> {
        self.delete_by("prices", "model", model.to_owned()).await
    }
}
