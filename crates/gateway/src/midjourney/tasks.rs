//! Task reads: `fetch` and `list-by-condition` answer from the store (only the caller's user's tasks — any of that
//! user's keys sees them; another user's task id is a 404), `image-seed` asks the channel that ran the task.

use super::auth;
use super::error::mj_error;
use super::shape::{public_base, task_json};
use crate::auth::authenticate::Caller;
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::body::parse_object;
use crate::relay::incoming::Incoming;
use crate::routing::upstream::upstream_ctx;
use axum::Json;
use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use store::MjTask;

/// The snapshot and the caller of a task query (a key of the user whose tasks it may see).
fn authenticate(incoming: &Incoming) -> Result<(Arc<Snapshot>, Caller), ApiError> {
    let state = &incoming.state;
    let snap = state.catalog.snapshot();
    let caller = auth::caller(
        &state.auth_failures,
        &snap,
        &incoming.headers,
        incoming.meta.client_ip,
    )?;
    Ok((snap, caller))
}

/// The caller's task `id` (any key of the same user), or a 404 — another user's task is not revealed.
async fn own_task(incoming: &Incoming, id: &str) -> Result<(Arc<Snapshot>, MjTask), ApiError> {
    let (snap, caller) = authenticate(incoming)?;
    let task = incoming
        .state
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

/// Answers a query about the caller's own task `id` with what `respond` makes of it (and of the snapshot it was
/// found in).
async fn about_own_task(
    incoming: Incoming,
    id: &str,
    respond: impl AsyncFnOnce(&Incoming, Arc<Snapshot>, MjTask) -> Result<Value, ApiError>,
) -> Response {
    let result = async {
        let (snap, task) = own_task(&incoming, id).await?;
        respond(&incoming, snap, task).await
    }
    .await;
    answer(result)
}

pub async fn fetch(incoming: Incoming, Path(id): Path<String>) -> Response {
    about_own_task(incoming, &id, async |incoming, _, task| {
        let state = &incoming.state;
        Ok(task_json(
            state,
            &public_base(state, &incoming.headers),
            &task,
        ))
    })
    .await
}

pub async fn list_by_condition(incoming: Incoming, body: Body) -> Response {
    let result = async {
        let (state, headers) = (&incoming.state, &incoming.headers);
        let (_, caller) = authenticate(&incoming)?;
        let bytes = state.read_body(headers, body).await?;
        let req = parse_object(&bytes)?;
        let ids = super::policy::listed_ids(&req)?;
        let tasks = state
            .store
            .list_mj_tasks_for_user(caller.user.id, &ids)
            .await?;
        let base = public_base(state, headers);
        Ok::<_, ApiError>(Value::Array(
            tasks.iter().map(|t| task_json(state, &base, t)).collect(),
        ))
    }
    .await;
    answer(result)
}

pub async fn image_seed(incoming: Incoming, Path(id): Path<String>) -> Response {
    about_own_task(incoming, &id, async |incoming, snap, task| {
        let channel = snap
            .channel(task.channel_id)
            .cloned()
            .ok_or_else(|| ApiError::NoChannel { model: "mj_image_seed".to_owned() })?;
        let key = channel
            .pick_key()
            .or_else(|| channel.channel.keys.first())
            .cloned()
            .ok_or_else(|| ApiError::NoChannel { model: "mj_image_seed".to_owned() })?;
        let ctx = upstream_ctx(&incoming.state, &channel, &key);
        let r = providers::midjourney::image_seed(&ctx, &task.upstream_id).await.map_err(ApiError::Upstream)?;
        Ok(serde_json::json!({"code": r.code, "description": r.description, "result": r.result, "properties": r.properties}))
    })
    .await
}
