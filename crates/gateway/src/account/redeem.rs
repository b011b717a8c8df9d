//! `POST /api/redeem {"code"}`: adds a redemption code's amount to the balance of the logged-in user (or of the
//! owner of the `sk-` key sent as Bearer), once.

use super::guard::Redeemer;
use crate::admin::extract::bad;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
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

/// Redeems a code once, adding its amount to the redeemer's balance in the same transaction.
pub(super) async fn redeem(
    Redeemer(user): Redeemer,
    state: &AppState,
    input: RedeemInput,
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
