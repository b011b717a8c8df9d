//! Task reads: `fetch` and `list-by-condition` answer from the store (only the caller's user's tasks — any of that
//! user's keys sees them; another user's task id is a 404), `image-seed` asks the channel that ran the task.

use super::auth;
use super::error::mj_error;
use super::shape::{public_base, task_json};
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::body::{parse_object, read_limited};
use crate::http::meta::RequestMeta;
use crate::routing::upstream::upstream_ctx;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::Value;
use std::sync::Arc;
use store::MjTask;

/// The caller's task `id` (any key of the same user), or a 404 — another user's task is not revealed.
async fn own_task(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
    id: &str,
) -> Result<(Arc<Snapshot>, MjTask), ApiError> {
    let snap = state.catalog.snapshot();
    let caller = auth::caller(&state.auth_failures, &snap, headers, meta.client_ip)?;
    let task = state
        .store
        .find_mj_task_for_user(caller.user.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("Task {id}"),
        })?;
    Ok((snap, task))
}

/// A task query's JSON answer, or its failure in midjourney-proxy's error shape.
fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => mj_error(&e),
    }
}

pub async fn fetch(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (_, task) = own_task(&state, &headers, &meta, &id).await?;
        Ok::<_, ApiError>(task_json(&state, &public_base(&state, &headers), &task))
    }
    .await;
    answer(result)
}

pub async fn list_by_condition(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let snap = state.catalog.snapshot();
        let caller = auth::caller(&state.auth_failures, &snap, &headers, meta.client_ip)?;
        let bytes = read_limited(
            &headers,
            body,
            state.settings.max_body_bytes,
            state.settings.client_body_timeout,
        )
        .await?;
        let req = parse_object(&bytes)?;
        let ids = super::policy::listed_ids(&req)?;
        let tasks = state
            .store
            .list_mj_tasks_for_user(caller.user.id, &ids)
            .await?;
        let base = public_base(&state, &headers);
        Ok::<_, ApiError>(Value::Array(
            tasks.iter().map(|t| task_json(&state, &base, t)).collect(),
        ))
    }
    .await;
    answer(result)
}

pub async fn image_seed(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (snap, task) = own_task(&state, &headers, &meta, &id).await?;
        let channel = snap
            .channel(task.channel_id)
            .cloned()
            .ok_or_else(|| ApiError::NoChannel { model: "mj_image_seed".to_owned() })?;
        let key = channel
            .pick_key()
            .or_else(|| channel.channel.keys.first())
            .cloned()
            .ok_or_else(|| ApiError::NoChannel { model: "mj_image_seed".to_owned() })?;
        let ctx = upstream_ctx(&state, &channel, &key);
        let r = providers::midjourney::image_seed(&ctx, &task.upstream_id).await.map_err(ApiError::Upstream)?;
        Ok::<_, ApiError>(serde_json::json!({"code": r.code, "description": r.description, "result": r.result, "properties": r.properties}))
    }
    .await;
    answer(result)
}
