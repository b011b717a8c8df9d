//! `/api/admin/codes`: redemption codes. `POST {"amount","count"}` creates a batch (answered in full: the codes
//! are the product), `GET` lists them (`status=unused|used`), `GET /export` downloads them as CSV, `DELETE`
//! withdraws one. Users redeem them with `POST /api/redeem`.

use super::crud;
use super::documented::BadQuery;
use super::extract::{JsonBody, List, Params, bad};
use super::guard::Admin;
use super::logs_csv::csv_attachment;
use crate::admin::schemas::{AdminReadRefusals, AdminWriteRefusals, CodeList, ErrorBody};
use crate::auth::key_format;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use store::{CodeStatus, RedemptionCode};

/// Most codes one request may create.
const MAX_BATCH: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesInput {
    /// Integer micro-units each code adds.
    amount: i64,
    /// How many codes to create.
    #[serde(default = "one")]
    #[schema(default = 1, minimum = 1, maximum = 1000)]
    count: i64,
}

fn one() -> i64 {
    1
}

fn status(params: &Params) -> Result<CodeStatus, ApiError> {
    match params.text("status") {
        None | Some("" | "all") => Ok(CodeStatus::Any),
        Some("unused") => Ok(CodeStatus::Unused),
        Some("used") => Ok(CodeStatus::Used),
        Some(other) => Err(bad(
            "status",
            format!("`status` must be unused, used or all, got `{other}`."),
        )),
    }
}

crud::record!(Codes, "Code", by id, in_catalog = false, remove = delete_code);

#[utoipa::path(
    post,
    path = "/codes",
    operation_id = "admin_create_codes",
    tag = "codes",
    request_body(content = CodesInput, description = "`amount` per code (micro-units) and how many codes (1 to 1000, default 1)"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new codes", body = CodeList),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 409, description = "A generated code exists already", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn create(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CodesInput>,
) -> Result<(StatusCode, Json<List<RedemptionCode>>), ApiError> {
    if input.amount <= 0 {
        return Err(bad(
            "amount",
            "`amount` must be a positive integer (micro-units).",
        ));
    }
    if !(1..=MAX_BATCH).contains(&input.count) {
        return Err(bad(
            "count",
            format!("`count` must be between 1 and {MAX_BATCH}."),
        ));
    }
    let codes: Vec<String> = (0..input.count)
        .map(|_| key_format::random_secret("tg-", 32))
        .collect();
    let created = state.store.create_codes(&codes, input.amount).await?;
    Ok((StatusCode::CREATED, Json(List::all(created))))
}

crud::list_route!(
    Codes,
    "/codes",
    "admin_list_codes",
    "codes",
    [
        ("status" = Option<String>, Query, description = "`unused`, `used` or `all` (default)"),
        crate::admin::schemas::Page,
    ],
    RedemptionCode as CodeList,
    "One page of codes",
    "Unknown or invalid query parameter (named in `param`)"
);

impl crud::Listed for Codes {
    type Item = RedemptionCode;
    type View = RedemptionCode;
    const FILTERS: &'static [&'static str] = &["status"];
    const PAGED: bool = true;
    async fn fetch(
        store: &store::Store,
        params: &Params,
    ) -> Result<List<RedemptionCode>, ApiError> {
        let (limit, offset) = params.page()?;
        let (data, total) = store.list_codes(status(params)?, limit, offset).await?;
        Ok(List { data, total })
    }
}

/// Every code matching `status` (default: unused) as CSV: `code,amount,created_at,redeemed_by,redeemed_at`.
#[utoipa::path(
    get,
    path = "/codes/export",
    operation_id = "admin_export_codes",
    tag = "codes",
    params(
        ("status" = Option<String>, Query, description = "`unused` (default), `used` or `all`"),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The codes as CSV: `code,amount,created_at,redeemed_by,redeemed_at`", content_type = "text/csv", body = String),
        BadQuery,
        AdminReadRefusals,
    )
)]
pub async fn export(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    let params = params.only(&["status"])?;
    let status = match params.text("status") {
        None => CodeStatus::Unused,
        Some(_) => status(params)?,
    };
    let mut csv = String::from("code,amount,created_at,redeemed_by,redeemed_at\n");
    let mut offset = 0;
    loop {
        let (page, _) = state.store.list_codes(status, 1000, offset).await?;
        for c in &page {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                c.code,
                c.amount,
                c.created_at.to_rfc3339(),
                c.redeemed_by.map(|u| u.to_string()).unwrap_or_default(),
                c.redeemed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ));
        }
        if page.len() < 1000 {
            break;
        }
        offset += 1000;
    }
    Ok(csv_attachment("redemption-codes.csv", csv))
}

crud::delete_route!(
    Codes,
    "/codes/{id}",
    "admin_delete_code",
    "codes",
    "id": i64 = "Code id",
    "Withdrawn",
    "No such code"
);
