//! `GET /api/admin/mj/tasks?user_id=&status=&limit=&offset=`: every user's Midjourney tasks, newest first, in the admin
//! API's record shape, with a signed image link (the upstream's address stays hidden from the browser).

use super::extract::{List, Params};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use store::MjTask;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    id: i64,
    upstream_id: String,
    user_id: i64,
    key_id: i64,
    channel_id: i64,
    action: String,
    #[schema(required)]
    #[schema(value_type = Option<String>)]
    mode: Option<api_types::MjMode>,
    #[schema(required)]
    prompt: Option<String>,
    status: String,
    progress: String,
    /// A signed `/mj/image/{id}` link while the task has an image.
    #[schema(required)]
    image_url: Option<String>,
    #[schema(required)]
    fail_reason: Option<String>,
    cost: i64,
    refunded: bool,
    #[schema(required)]
    submit_time: Option<i64>,
    #[schema(required)]
    finish_time: Option<i64>,
    created_at: DateTime<Utc>,
}

fn view(state: &AppState, t: MjTask) -> TaskView {
    let image_url = t
        .image_url
        .as_ref()
        .map(|_| state.mj_signer.url("", t.id, state.settings.mj_image_ttl));
    TaskView {
        id: t.id,
        upstream_id: t.upstream_id,
        user_id: t.user_id,
        key_id: t.key_id,
        channel_id: t.channel_id,
        action: t.action,
        mode: t.mode,
        prompt: t.prompt,
        status: t.status,
        progress: t.progress,
        image_url,
        fail_reason: t.fail_reason,
        cost: t.cost,
        refunded: t.refunded,
        submit_time: t.submit_time,
        finish_time: t.finish_time,
        created_at: t.created_at,
    }
}

/// One page of Midjourney tasks, newest first, optionally of one user or in one status.
pub(super) async fn list(
    state: &AppState,
    params: Params,
) -> Result<Json<List<TaskView>>, ApiError> {
    let params = params.only(&["user_id", "status", "limit", "offset"])?;
    let (limit, offset) = params.page()?;
    let (tasks, total) = state
        .store
        .list_mj_tasks(
            params.int("user_id")?,
            params.text("status").filter(|s| !s.is_empty()),
            limit,
            offset,
        )
        .await?;
    Ok(Json(List {
        data: tasks.into_iter().map(|t| view(state, t)).collect(),
        total,
    }))
}
