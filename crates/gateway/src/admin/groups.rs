//! `/api/admin/groups[/{name}]`: price groups and their per-mille multiplier (1000 = ×1, 1500 = ×1.5).

use super::crud;
use super::extract::{JsonBody, List, Params, PathParam, bad, not_found, not_negative, nullable};
use super::guard::Admin;
use crate::admin::schemas::{AdminWriteRefusals, ErrorBody, GroupList};
use crate::config::validate;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde::Deserialize;
use store::{Group, StoreError};

/// The group every user and channel is in unless told otherwise; it cannot be deleted.
const DEFAULT_GROUP: &str = "default";

/// Body of `POST /groups` (`name` required, `multiplier` defaults to 1000) and `PUT`/`PATCH /groups/{name}`
/// (`name` optional, must match the path).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    name: Option<String>,
    multiplier: Option<i64>,
    /// Default requests per minute for each key of the group (null = none).
    #[serde(default, deserialize_with = "nullable")]
    rpm_limit: Option<Option<i64>>,
    /// Default tokens per minute for each key of the group (null = none).
    #[serde(default, deserialize_with = "nullable")]
    tpm_limit: Option<Option<i64>>,
}

fn limit(v: Option<Option<i64>>, field: &str) -> Result<Option<Option<i64>>, ApiError> {
    match v {
        Some(Some(n)) if n < 1 => Err(bad(
            field,
            format!("`{field}` must be at least 1, or null for no limit."),
        )),
        other => Ok(other),
    }
}

fn what(name: &str) -> impl FnOnce() -> String + '_ {
    move || format!("Group `{name}`")
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    validate::group_name(name).map_err(|m| bad("name", m))?;
    Ok(name.to_owned())
}

async fn find(state: &AppState, name: &str) -> Result<Option<Group>, ApiError> {
    match state.store.get_group(name).await {
        Ok(g) => Ok(Some(g)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

crud::record!(Groups, "Group", by name, in_catalog = true, load = get_group => Group as Group);

crud::list_route!(
    Groups,
    "/groups",
    "admin_list_groups",
    "groups",
    [],
    Group as GroupList,
    "Every group",
    "A query parameter was given (none are accepted)"
);

impl crud::Listed for Groups {
    type Item = Group;
    type View = Group;
    const FILTERS: &'static [&'static str] = &[];
    const PAGED: bool = false;
    async fn fetch(store: &store::Store, _: &Params) -> Result<List<Group>, ApiError> {
        Ok(List::all(store.list_groups().await?))
    }
}

crud::get_route!(
    Groups,
    "/groups/{name}",
    "admin_get_group",
    "groups",
    "name": String = "Group name",
    Group as store::Group,
    "The group",
    "No such group"
);

/// 409 when the group exists already (use `PUT /groups/{name}` to change it).
#[utoipa::path(
    post,
    path = "/groups",
    operation_id = "admin_create_group",
    tag = "groups",
    request_body(content = GroupInput, description = "`name` is required; `multiplier` defaults to 1000"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new group", body = store::Group),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 409, description = "The group exists already (use `PUT /api/admin/groups/{name}`)", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<GroupInput>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let Some(name) = input.name else {
        return Err(bad("name", "`name` is required."));
    };
    let name = checked_name(&name)?;
    let multiplier = not_negative(input.multiplier.unwrap_or(1000), "multiplier")?;
    let rpm_limit = limit(input.rpm_limit, "rpm_limit")?.flatten();
    let tpm_limit = limit(input.tpm_limit, "tpm_limit")?.flatten();
    if find(&state, &name).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "Group `{name}` already exists."
        )));
    }
    let group = state
        .store
        .upsert_group(&Group {
            name,
            multiplier,
            rpm_limit,
            tpm_limit,
        })
        .await?;
    state.refresh_catalog().await;
    Ok((StatusCode::CREATED, Json(group)))
}

/// `PUT` and `PATCH`: create or change; 201 when new, else 200. Without `multiplier` an existing group stays as
/// it is and a new one gets 1000.
#[utoipa::path(
    method(put, patch),
    path = "/groups/{name}",
    operation_id = "admin_upsert_group",
    tag = "groups",
    params(
        ("name" = String, Path, description = "Group name"),
    ),
    request_body(content = GroupInput, description = "`name`, if given, must match the path"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The changed group", body = store::Group),
        (status = 201, description = "The new group", body = store::Group),
        (status = 400, description = "Invalid body, an invalid group name, or a `name` differing from the path's", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn upsert(
    _: Admin,
    State(state): State<AppState>,
    path: PathParam,
    JsonBody(input): JsonBody<GroupInput>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let name = checked_name(&path.0)?;
    if let Some(body_name) = &input.name
        && body_name.trim() != name
    {
        return Err(bad(
            "name",
            format!(
                "`name` in the body (`{body_name}`) differs from the group in the path (`{name}`); groups cannot be renamed."
            ),
        ));
    }
    let existing = find(&state, &name).await?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let rpm = limit(input.rpm_limit, "rpm_limit")?;
    let tpm = limit(input.tpm_limit, "tpm_limit")?;
    if input.multiplier.is_none()
        && rpm.is_none()
        && tpm.is_none()
        && let Some(g) = existing
    {
        return Ok((status, Json(g)));
    }
    let multiplier = match (input.multiplier, &existing) {
        (Some(m), _) => not_negative(m, "multiplier")?,
        (None, Some(g)) => g.multiplier,
        (None, None) => 1000,
    };
    let rpm_limit = rpm.unwrap_or_else(|| existing.as_ref().and_then(|g| g.rpm_limit));
    let tpm_limit = tpm.unwrap_or_else(|| existing.as_ref().and_then(|g| g.tpm_limit));
    let group = state
        .store
        .upsert_group(&Group {
            name,
            multiplier,
            rpm_limit,
            tpm_limit,
        })
        .await?;
    state.refresh_catalog().await;
    Ok((status, Json(group)))
}

/// 409 while users are still in the group, and always for `default`.
#[utoipa::path(
    delete,
    path = "/groups/{name}",
    operation_id = "admin_delete_group",
    tag = "groups",
    params(
        ("name" = String, Path, description = "Group name"),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed path", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "The group still has users, or is `default`", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn delete(
    _: Admin,
    State(state): State<AppState>,
    name: PathParam,
) -> Result<StatusCode, ApiError> {
    let name = name.0;
    if name == DEFAULT_GROUP {
        return Err(ApiError::Conflict(
            "The `default` group cannot be deleted; users and channels fall back to it.".to_owned(),
        ));
    }
    state.store.delete_group(&name).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::Conflict(format!(
            "Group `{name}` still has users; move them to another group first."
        )),
        other => not_found(what(&name))(other),
    })?;
    state.refresh_catalog().await;
    Ok(StatusCode::NO_CONTENT)
}
