//! `/api/admin/prices[/{model}]`: integer money units per million tokens or per request, keyed by model name.
//! The model `*` is the operator's default price, used for every model without one of its own (without it,
//! unpriced models are refused). Model names may contain `/` (`meta-llama/Llama-3-70b`), hence the wildcard path.

use super::crud;
use super::extract::{JsonBody, List, Params, PathParam, bad, non_empty, nullable};
use super::guard::Admin;
use crate::admin::schemas::{AdminWriteRefusals, ErrorBody, PriceList};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;
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
        if let Some(v) = self.input_per_million {
            base.input_per_million = v;
        }
        if let Some(v) = self.cached_input_per_million {
            base.cached_input_per_million = v;
        }
        if let Some(v) = self.output_per_million {
            base.output_per_million = v;
        }
        if let Some(v) = self.per_request {
            base.per_request = v;
        }
        if let Some(v) = self.max_output_tokens {
            base.max_output_tokens = v;
        }
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
    if let Some((field, Some(v))) = fields.iter().find(|(_, v)| v.is_some_and(|v| v < 0)) {
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
fn path_model(path: PathParam, body: Option<&str>) -> Result<String, ApiError> {
    let model = non_empty(path.0, "model")?;
    match body {
        Some(b) if b.trim() != model => Err(bad(
            "model",
            format!("`model` in the body (`{b}`) differs from the model in the path (`{model}`)."),
        )),
        _ => Ok(model),
    }
}

crud::record!(Prices, "Price for model", by name, in_catalog = true, load = get_price => Price as Price, remove = delete_price);

crud::list_route!(
    Prices,
    "/prices",
    "admin_list_prices",
    "prices",
    [],
    Price as PriceList,
    "Every price",
    "A query parameter was given (none are accepted)"
);

impl crud::Listed for Prices {
    type Item = Price;
    type View = Price;
    const FILTERS: &'static [&'static str] = &[];
    const PAGED: bool = false;
    async fn fetch(store: &store::Store, _: &Params) -> Result<List<Price>, ApiError> {
        Ok(List::all(store.list_prices().await?))
    }
}

crud::get_route!(
    Prices,
    "/prices/{*model}",
    "admin_get_price",
    "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    Price as store::Price,
    "The model's price",
    "No such price"
);

/// Creates or replaces the price of `model`; always 201.
#[utoipa::path(
    post,
    path = "/prices",
    operation_id = "admin_create_price",
    tag = "prices",
    request_body(content = PriceInput, description = "`model` is required; creates or replaces its price"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The saved price", body = store::Price),
        (status = 400, description = "Invalid body: a negative price, no price at all, or a `model` differing from the path's", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(mut input): JsonBody<PriceInput>,
) -> Result<(StatusCode, Json<Price>), ApiError> {
    let Some(model) = input.model.take() else {
        return Err(bad(
            "model",
            "`model` is required (`*` for the default price).",
        ));
    };
    let model = non_empty(model, "model")?;
    let price = check(input.merge(Price {
        model,
        ..Price::default()
    }))?;
    let saved = state.store.upsert_price(&price).await?;
    state.refresh_catalog().await;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `PUT` (replace) or `PATCH` (merge) of `/prices/{model}`; 201 when the price is new, else 200.
async fn upsert(
    state: AppState,
    path: PathParam,
    mut input: PriceInput,
    replace: bool,
) -> Result<(StatusCode, Json<Price>), ApiError> {
    let model = path_model(path, input.model.take().as_deref())?;
    let existing = match state.store.get_price(&model).await {
        Ok(p) => Some(p),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let base = match existing {
        Some(p) if !replace => p,
        _ => Price {
            model,
            ..Price::default()
        },
    };
    let saved = state.store.upsert_price(&check(input.merge(base))?).await?;
    state.refresh_catalog().await;
    Ok((status, Json(saved)))
}

#[utoipa::path(
    put,
    path = "/prices/{*model}",
    operation_id = "admin_put_price",
    tag = "prices",
    params(
        ("model" = String, Path, description = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)"),
    ),
    request_body(content = PriceInput, description = "Replaces every field (absent = null)"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The replaced price", body = store::Price),
        (status = 201, description = "The new price", body = store::Price),
        (status = 400, description = "Invalid body: a negative price, no price at all, or a `model` differing from the path's", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn put(
    _: Admin,
    State(state): State<AppState>,
    model: PathParam,
    JsonBody(input): JsonBody<PriceInput>,
) -> Result<(StatusCode, Json<Price>), ApiError> {
    upsert(state, model, input, true).await
}

#[utoipa::path(
    patch,
    path = "/prices/{*model}",
    operation_id = "admin_patch_price",
    tag = "prices",
    params(
        ("model" = String, Path, description = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)"),
    ),
    request_body(content = PriceInput, description = "Changes only the fields present"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The updated price", body = store::Price),
        (status = 201, description = "The new price", body = store::Price),
        (status = 400, description = "Invalid body: a negative price, no price at all, or a `model` differing from the path's", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn patch(
    _: Admin,
    State(state): State<AppState>,
    model: PathParam,
    JsonBody(input): JsonBody<PriceInput>,
) -> Result<(StatusCode, Json<Price>), ApiError> {
    upsert(state, model, input, false).await
}

crud::delete_route!(
    Prices,
    "/prices/{*model}",
    "admin_delete_price",
    "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    "Deleted",
    "No such price"
);
