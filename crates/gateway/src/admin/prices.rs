//! `/api/admin/prices[/{model}]`: integer money units per million tokens or per request, keyed by model name.
//! The model `*` is the operator's default price, used for every model without one of its own (without it,
//! unpriced models are refused). Model names may contain `/` (`meta-llama/Llama-3-70b`), hence the wildcard path.

use super::crud;
use super::extract::{bad, non_empty, nullable};
use crate::error::ApiError;
use crate::state::AppState;
use serde::Deserialize;
use store::{Price, StoreError};

/// Body of `POST /prices` (`model` required) and `PUT`/`PATCH /prices/{model}` (`model` optional, must match the
/// path). `PUT` replaces every field (absent = null); `PATCH` changes only the fields present.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    model: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    input_per_million: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    cached_input_per_million: Option<Option<i64>>,
    /// Prompt-cache writes (null: the input price).
    #[serde(default, deserialize_with = "nullable")]
    cache_write_per_million: Option<Option<i64>>,
    /// One-hour prompt-cache writes (null: `cache_write_per_million`).
    #[serde(default, deserialize_with = "nullable")]
    cache_write_1h_per_million: Option<Option<i64>>,
    /// Realtime audio input tokens (null: no audio input).
    #[serde(default, deserialize_with = "nullable")]
    audio_input_per_million: Option<Option<i64>>,
    /// Realtime audio output tokens (null: no audio output).
    #[serde(default, deserialize_with = "nullable")]
    audio_output_per_million: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    output_per_million: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    per_request: Option<Option<i64>>,
    /// The model's output ceiling in tokens (null: `--default-max-output-tokens`).
    #[serde(default, deserialize_with = "nullable")]
    max_output_tokens: Option<Option<i64>>,
}

impl PriceInput {
    /// Applies the present fields onto `base`.
    fn merge(self, mut base: Price) -> Price {
        macro_rules! present {
            ($($field:ident),+) => {$(
                if let Some(v) = self.$field {
                    base.$field = v;
                }
            )+};
        }
        present!(
            input_per_million,
            cached_input_per_million,
            cache_write_per_million,
            cache_write_1h_per_million,
            audio_input_per_million,
            audio_output_per_million,
            output_per_million,
            per_request,
            max_output_tokens
        );
        base
    }
}

fn check(p: Price) -> Result<Price, ApiError> {
    if let Some(n) = p.max_output_tokens.filter(|n| *n < 1) {
        return Err(bad(
            "max_output_tokens",
            format!("`max_output_tokens` must be at least 1 (or null), got {n}."),
        ));
    }
    let fields = [
        ("input_per_million", p.input_per_million),
        ("cached_input_per_million", p.cached_input_per_million),
        ("output_per_million", p.output_per_million),
        ("per_request", p.per_request),
    ];
    let write_prices = [
        ("cache_write_per_million", p.cache_write_per_million),
        ("cache_write_1h_per_million", p.cache_write_1h_per_million),
        ("audio_input_per_million", p.audio_input_per_million),
        ("audio_output_per_million", p.audio_output_per_million),
    ];
    let negative = fields
        .iter()
        .chain(&write_prices)
        .find(|(_, v)| v.is_some_and(|v| v < 0));
    if let Some((field, Some(v))) = negative {
        return Err(bad(
            field,
            format!("`{field}` must not be negative, got {v}."),
        ));
    }
    if fields.iter().all(|(_, v)| v.is_none()) {
        return Err(bad(
            "input_per_million",
            "A price needs at least one of `input_per_million`, `cached_input_per_million`, \
             `output_per_million` or `per_request`.",
        ));
    }
    Ok(p)
}

/// The model named by the path; a `model` in the body must agree with it.
fn path_model(path: &str, body: Option<&str>) -> Result<String, ApiError> {
    let model = non_empty(path.to_owned(), "model")?;
    match body {
        Some(b) if b.trim() != model => Err(bad(
            "model",
            format!("`model` in the body (`{b}`) differs from the model in the path (`{model}`)."),
        )),
        _ => Ok(model),
    }
}

crud::record!(Prices, "Price for model", by name, in_catalog = true, load = get_price => Price as Price, remove = delete_price);

crud::whole_list!(Prices, list_prices => Price as Price);

impl crud::Create for Prices {
    type Input = PriceInput;
    type New = Price;
    async fn prepare(_: &AppState, mut input: PriceInput) -> Result<Price, ApiError> {
        let Some(model) = input.model.take() else {
            return Err(bad(
                "model",
                "`model` is required (`*` for the default price).",
            ));
        };
        let model = non_empty(model, "model")?;
        check(input.merge(Price {
            model,
            ..Price::default()
        }))
    }
    async fn insert(store: &store::Store, price: &Price) -> Result<Price, StoreError> {
        store.upsert_price(price).await
    }
}

impl crud::Upsert for Prices {
    type Input = PriceInput;
    type Whole = Price;
    /// `PUT` (`replace`) starts from an empty price, `PATCH` from the stored one.
    fn merge(
        model: &String,
        existing: Option<Price>,
        mut input: PriceInput,
        replace: bool,
    ) -> Result<Price, ApiError> {
        let model = path_model(model, input.model.take().as_deref())?;
        let base = match existing {
            Some(p) if !replace => p,
            _ => Price {
                model,
                ..Price::default()
            },
        };
        check(input.merge(base))
    }
    async fn upsert(store: &store::Store, price: &Price) -> Result<Price, StoreError> {
        store.upsert_price(price).await
    }
}
