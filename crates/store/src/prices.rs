//! Model prices keyed by model name; model `*` is the operator's default price.

use crate::record::{keyed_api, record};
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

keyed_api!(Price: list list_prices, get get_price, upsert upsert_price);

impl Store {
    pub async fn delete_price(&self, model: &str) -> Result<(), StoreError> {
        self.delete_by("prices", "model", model.to_owned()).await
    }
}
