//! `/api/admin/codes`: redemption codes. `POST {"amount","count"}` creates a batch (answered in full: the codes
//! are the product), `GET` lists them (`status=unused|used`), `GET /export` downloads them as CSV, `DELETE`
//! withdraws one. Users redeem them with `POST /api/redeem`.

use super::crud;
use super::extract::{List, Params, bad};
use super::logs_csv::csv_attachment;
use crate::auth::key_format;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
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

/// A batch of `count` new codes worth `amount` each, answered in full.
pub(super) async fn create(
    state: &AppState,
    input: CodesInput,
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
pub(super) async fn export(state: &AppState, params: Params) -> Result<Response, ApiError> {
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
