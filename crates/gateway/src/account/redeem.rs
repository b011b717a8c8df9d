//! `POST /api/redeem {"code"}`: adds a redemption code's amount to the balance of the logged-in user (or of the
//! owner of the `sk-` key sent as Bearer), once.

use super::guard::Redeemer;
use crate::admin::documented::TooLarge;
use crate::admin::extract::{JsonBody, bad};
use crate::admin::schemas::ErrorBody;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use store::StoreError;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemInput {
    code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redeemed {
    /// What the code added.
    pub amount: i64,
    /// The balance after it.
    pub balance: i64,
}

#[utoipa::path(
    post,
    path = "/redeem",
    operation_id = "redeem_code",
    tag = "account",
    request_body(content = RedeemInput, description = "The redemption code"),
    security(("session" = [], "csrf" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Redeemed: the amount added and the new balance", body = Redeemed),
        (status = 400, description = "Invalid body, or the code does not exist or was used (`code`: `invalid_code`)", body = ErrorBody),
        (status = 401, description = "Not logged in (no session, no API key), the session expired, the key is invalid, or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        TooLarge,
    )
)]
pub async fn redeem(
    Redeemer(user): Redeemer,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RedeemInput>,
) -> Result<Json<Redeemed>, ApiError> {
    let code = input.code.trim();
    if code.is_empty() {
        return Err(bad("code", "`code` is required."));
    }
    let (redeemed, user) = match state.store.redeem_code(code, user.id).await {
        Ok(done) => done,
        Err(StoreError::NotFound) => {
            return Err(ApiError::InvalidRequest {
                message: "This code does not exist or has already been used.".to_owned(),
                param: Some("code".to_owned()),
                code: Some("invalid_code"),
            });
        }
        Err(e) => return Err(e.into()),
    };
    // The balance moved: the catalog and an in-memory ledger pick it up.
    state.refresh_catalog().await;
    Ok(Json(Redeemed {
        amount: redeemed.amount,
        balance: user.balance,
    }))
}
