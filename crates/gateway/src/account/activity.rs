//! `/api/me`, `/api/logs` and `/api/usage`: the logged-in user's account, request log and usage, with the admin
//! API's filters and shapes but only ever their own rows.

use super::guard::SessionUser;
use super::login::Me;
use crate::admin::extract::{List, Params};
use crate::admin::schemas::{ErrorBody, LogList, UsageList};
use crate::admin::{logs, usage};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::Value;
use store::{LogFilter, LogRow, UsageDim};

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The logged-in user", body = Me),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's, which has no account", body = ErrorBody),
    )
)]
pub async fn me(me: SessionUser) -> Json<Me> {
    Json(Me::from(&me.user))
}

#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "my_logs",
    tag = "account",
    params(
        ("request_id" = Option<String>, Query, description = "Only this request"),
        ("key_id" = Option<i64>, Query, description = "Only this key's requests"),
        ("model" = Option<String>, Query, description = "Only this model"),
        ("status" = Option<i64>, Query, description = "Only this HTTP status"),
        ("since" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "From this time on (inclusive); RFC 3339 or `YYYY-MM-DD`"),
        ("until" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Before this time (exclusive); RFC 3339 or `YYYY-MM-DD`"),
        ("limit" = Option<i64>, Query, description = "Page size (default 100, at most 1000)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (default 0)"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the user's own log rows, newest first", body = LogList),
        (status = 400, description = "Unknown or invalid query parameter (named in `param`)", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's, which has no account", body = ErrorBody),
    )
)]
pub async fn logs(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<LogRow>>, ApiError> {
    let params = params.only(&[
        "request_id",
        "key_id",
        "model",
        "status",
        "since",
        "until",
        "limit",
        "offset",
    ])?;
    let (limit, offset) = params.page()?;
    let f = LogFilter {
        user_id: Some(me.user.id),
        limit,
        offset,
        ..logs::filter(params)?
    };
    let (data, total) = state.store.query_logs(&f).await?;
    Ok(Json(List { data, total }))
}

#[utoipa::path(
    get,
    path = "/usage",
    operation_id = "my_usage",
    tag = "account",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated dimensions: `day`, `model`; none gives one grand total"),
        ("since" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "From this time on (inclusive); RFC 3339 or `YYYY-MM-DD`"),
        ("until" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Before this time (exclusive); RFC 3339 or `YYYY-MM-DD`"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's own totals per bucket", body = UsageList),
        (status = 400, description = "Unknown or invalid query parameter (named in `param`)", body = ErrorBody),
        (status = 401, description = "Not logged in, or the session expired or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's, which has no account", body = ErrorBody),
    )
)]
pub async fn usage(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<Value>>, ApiError> {
    let params = params.only(&["group_by", "since", "until"])?;
    let dims = usage::dims(params.text("group_by"))?;
    if dims.contains(&UsageDim::User) || dims.contains(&UsageDim::Channel) {
        return Err(ApiError::invalid(
            "`group_by` takes day and model here.",
            Some("group_by"),
        ));
    }
    let buckets = state
        .store
        .usage_of(
            Some(me.user.id),
            &dims,
            params.time("since")?,
            params.time("until")?,
        )
        .await?;
    Ok(Json(List::all(
        buckets
            .into_iter()
            .map(|b| usage::bucket(b, &dims))
            .collect(),
    )))
}
