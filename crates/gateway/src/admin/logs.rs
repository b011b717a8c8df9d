//! `GET /api/admin/logs`: request log rows, newest first, filtered and paged. The CSV export lives in
//! [`super::logs_csv`] and takes the same filters.

use super::extract::{List, Params};
use super::guard::Admin;
use crate::admin::schemas::{AdminReadRefusals, ErrorBody, LogList};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use store::{LogFilter, LogRow};

/// The filters both the list and the export accept.
pub const FILTERS: [&str; 8] = [
    "request_id",
    "user_id",
    "key_id",
    "model",
    "channel_id",
    "status",
    "since",
    "until",
];

/// Reads the filters (`since` inclusive, `until` exclusive); limit and offset are left to the caller.
pub fn filter(params: &Params) -> Result<LogFilter, ApiError> {
    let since = params.time("since")?;
    let until = params.time("until")?;
    if let (Some(s), Some(u)) = (since, until)
        && u < s
    {
        return Err(ApiError::invalid(
            "`until` must not be before `since`.",
            Some("until"),
        ));
    }
    Ok(LogFilter {
        request_id: params.text("request_id").map(str::to_owned),
        user_id: params.int("user_id")?,
        key_id: params.int("key_id")?,
        model: params.text("model").map(str::to_owned),
        channel_id: params.int("channel_id")?,
        status: params.int("status")?,
        since,
        until,
        limit: 0,
        offset: 0,
    })
}

#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "admin_list_logs",
    tag = "logs",
    params(
        ("request_id" = Option<String>, Query, description = "Only this request"),
        ("user_id" = Option<i64>, Query, description = "Only this user's requests"),
        ("key_id" = Option<i64>, Query, description = "Only this key's requests"),
        ("model" = Option<String>, Query, description = "Only this model"),
        ("channel_id" = Option<i64>, Query, description = "Only this channel's requests"),
        ("status" = Option<i64>, Query, description = "Only this HTTP status"),
        ("since" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "From this time on (inclusive); RFC 3339 or `YYYY-MM-DD`"),
        ("until" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Before this time (exclusive); RFC 3339 or `YYYY-MM-DD`"),
        ("limit" = Option<i64>, Query, description = "Page size (default 100, at most 1000)"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (default 0)"),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of log rows, newest first", body = LogList),
        (status = 400, description = "Unknown or invalid query parameter (named in `param`)", body = ErrorBody),
        AdminReadRefusals,
    )
)]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<LogRow>>, ApiError> {
    let allowed: Vec<&str> = FILTERS.iter().copied().chain(["limit", "offset"]).collect();
    let params = params.only(&allowed)?;
    let (limit, offset) = params.page()?;
    let f = LogFilter {
        limit,
        offset,
        ..filter(params)?
    };
    let (data, total) = state.store.query_logs(&f).await?;
    Ok(Json(List { data, total }))
}
