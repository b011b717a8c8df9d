//! `/api/keys[/{id}]`: the logged-in user's own API keys, with the admin API's fields and rules (the same
//! functions do the work); another user's key id is a 404.

use super::guard::SessionUser;
use crate::admin::extract::{JsonBody, List, Params, PathParam};
use crate::admin::keys::{self, CreatedKey, KeyInput, KeyView};
use crate::error::ApiError;
use crate::openapi::schemas::{ErrorBody, KeyList};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;

#[utoipa::path(
    get,
    path = "/api/keys",
    operation_id = "my_list_keys",
    tag = "account",
    params(
        ("limit" = Option<i64>, Query, description = "Page size (default 100, at most 1000)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (default 0)"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the user's keys", body = KeyList),
        (status = 400, description = "Unknown or invalid query parameter (named in `param`)", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's, which has no account", body = ErrorBody),
    )
)]
pub async fn list(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<KeyView>>, ApiError> {
    let (limit, offset) = params.only(&["limit", "offset"])?.page()?;
    let (data, total) = state
        .store
        .list_keys(Some(me.user.id), limit, offset)
        .await?;
    Ok(Json(List {
        data: data.into_iter().map(KeyView::from).collect(),
        total,
    }))
}

#[utoipa::path(
    get,
    path = "/api/keys/{id}",
    operation_id = "my_get_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The key (without its secret)", body = KeyView),
        (status = 400, description = "Malformed path", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's, which has no account", body = ErrorBody),
        (status = 404, description = "No such key of this user", body = ErrorBody),
    )
)]
pub async fn get(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<Json<KeyView>, ApiError> {
    let id = id.id("API key")?;
    Ok(Json(
        keys::owned(&state, id, Some(me.user.id)).await?.into(),
    ))
}

#[utoipa::path(
    post,
    path = "/api/keys",
    operation_id = "my_create_key",
    tag = "account",
    request_body(content = KeyInput, description = "`name` is required; `user_id`, if given, must be the user's own"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new key with its `sk-…` secret, shown this once", body = CreatedKey),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        (status = 409, description = "The user has a key of that name", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
    )
)]
pub async fn create(
    me: SessionUser,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<KeyInput>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    keys::create_for(&state, me.user.id, input).await
}

#[utoipa::path(
    method(patch, put),
    path = "/api/keys/{id}",
    operation_id = "my_update_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    request_body(content = KeyInput, description = "Fields to change; absent fields stay as they are, `null` clears"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The updated key", body = KeyView),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        (status = 404, description = "No such key of this user", body = ErrorBody),
        (status = 409, description = "The user has another key of that name", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
    )
)]
pub async fn update(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
    JsonBody(input): JsonBody<KeyInput>,
) -> Result<Json<KeyView>, ApiError> {
    let id = id.id("API key")?;
    keys::update_scoped(&state, id, Some(me.user.id), input).await
}

#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    operation_id = "my_delete_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed path", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        (status = 404, description = "No such key of this user", body = ErrorBody),
    )
)]
pub async fn delete(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<StatusCode, ApiError> {
    let id = id.id("API key")?;
    keys::delete_scoped(&state, id, Some(me.user.id)).await
}
