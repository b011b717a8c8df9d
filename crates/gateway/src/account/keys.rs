//! `/api/keys[/{id}]`: the logged-in user's own API keys, with the admin API's fields and rules (the same
//! functions do the work); another user's key id is a 404.

use super::guard::SessionUser;
use crate::admin::extract::{JsonBody, List, Params, PathParam};
use crate::admin::keys::{self, CreatedKey, KeyInput, KeyView};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;

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

pub async fn create(
    me: SessionUser,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<KeyInput>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    keys::create_for(&state, me.user.id, input).await
}

pub async fn update(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
    JsonBody(input): JsonBody<KeyInput>,
) -> Result<Json<KeyView>, ApiError> {
    let id = id.id("API key")?;
    keys::update_scoped(&state, id, Some(me.user.id), input).await
}

pub async fn delete(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<StatusCode, ApiError> {
    let id = id.id("API key")?;
    keys::delete_scoped(&state, id, Some(me.user.id)).await
}
