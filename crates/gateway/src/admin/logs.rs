//! `GET /api/admin/logs`: request log rows, newest first, filtered and paged. The CSV export lives in
//! [`super::logs_csv`] and takes the same filters.

use super::documented::{LogFilters, LogScope, TimeRange};
use super::extract::{List, Params};
use crate::admin::schemas::Page;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use store::{LogFilter, LogRow};

/// The filters both the list and the export accept.
pub type Filters = (LogFilters, LogScope, TimeRange);

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

/// One page of log rows matching the filters, newest first.
pub(super) async fn list(state: &AppState, params: Params) -> Result<Json<List<LogRow>>, ApiError> {
    let params = params.accepts::<(LogFilters, LogScope, TimeRange, Page)>()?;
    let (limit, offset) = params.page()?;
    let f = LogFilter {
        limit,
        offset,
        ..filter(params)?
    };
    let (data, total) = state.store.query_logs(&f).await?;
    Ok(Json(List { data, total }))
}
