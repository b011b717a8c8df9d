//! `/api/me`, `/api/logs` and `/api/usage`: the logged-in user's account, request log and usage, with the admin
//! API's filters and shapes but only ever their own rows.

use super::guard::SessionUser;
use super::login::Me;
use crate::admin::documented::{BadQuery, LogFilters, SessionRefusals, TimeRange};
use crate::admin::extract::{List, Params};
use crate::admin::schemas::{LogList, Page, UsageList};
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
        SessionRefusals,
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
    params(LogFilters, TimeRange, Page),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the user's own log rows, newest first", body = LogList),
        BadQuery,
        SessionRefusals,
    )
)]
pub async fn logs(
    me: SessionUser,
    State(state): State<AppState>,
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

#[utoipa::path(
    get,
    path = "/usage",
    operation_id = "my_usage",
    tag = "account",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated dimensions: `day`, `model`; none gives one grand total"),
        TimeRange,
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's own totals per bucket", body = UsageList),
        BadQuery,
        SessionRefusals,
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
