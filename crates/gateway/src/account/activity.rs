//! `/api/me`, `/api/logs` and `/api/usage`: the logged-in user's account, request log and usage, with the admin
//! API's filters and shapes but only ever their own rows.

use super::guard::SessionUser;
use super::login::Me;
use crate::admin::documented::{LogFilters, TimeRange};
use crate::admin::extract::{List, Params};
use crate::admin::schemas::Page;
use crate::admin::{logs, usage};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use serde_json::Value;
use store::{LogFilter, LogRow, UsageDim};

/// The logged-in user's own record.
pub(super) async fn me(me: SessionUser) -> Json<Me> {
    Json(Me::from(&me.user))
}

/// One page of the user's own log rows.
pub(super) async fn logs(
    me: SessionUser,
    state: &AppState,
    params: Params,
) -> Result<Json<List<LogRow>>, ApiError> {
    let params = params.accepts::<(LogFilters, TimeRange, Page)>()?;
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

/// The user's own usage totals (by day or model only: other users and channels are not theirs to see).
pub(super) async fn usage(
    me: SessionUser,
    state: &AppState,
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
