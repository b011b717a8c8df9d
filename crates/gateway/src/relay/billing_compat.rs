//! `GET /v1/dashboard/billing/subscription` and `/v1/dashboard/billing/usage` (also without `/v1`): OpenAI's old
//! billing API, which Chatbox-style clients call with the user's key to show "used / total". Answered as new-api
//! does: for a key with a spend cap, the cap and the key's spend; otherwise the owner's total (balance + spent) and
//! spend. Amounts are US dollars (subscription) and cents (usage) as floats because that is the shape clients
//! parse; they are derived from the exact integer micro-units and are for display only. The `start_date` /
//! `end_date` of the usage call are accepted and, as in new-api, not used: the usage is all-time.

use super::incoming::Incoming;
use crate::auth::authenticate::authenticate;
use crate::error::ApiError;
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// Micro-units → a float of `unit` (1 = dollars, 100 = cents).
fn display(micro: i64, unit: f64) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "display only; exact below 2^53 micro-units"
    )]
    let micro = micro as f64;
    micro / 1_000_000.0 * unit
}

/// (total granted, spent) in micro-units, fresh from the store.
async fn totals(incoming: &Incoming) -> Result<(i64, i64, i64), ApiError> {
    let state = &incoming.state;
    let snap = state.catalog.snapshot();
    let caller = authenticate(
        &state.auth_failures,
        &snap,
        &incoming.headers,
        incoming.meta.client_ip,
    )?;
    // Fresh spend from the store, limits as enforced (the operator's or the owner's, whichever is tighter).
    let key = crate::catalog::enforced::enforced(
        &state.store.get_key(caller.key.key.id).await?,
        snap.group_limits(&caller.user.group),
    );
    let expires = key.expires_at.map_or(0, |t| t.timestamp());
    if let Some(cap) = key.spend_cap {
        return Ok((cap, key.spent, expires));
    }
    let user = state.store.get_user(caller.user.id).await?;
    Ok((user.balance.saturating_add(user.spent), user.spent, expires))
}

/// Answers with the JSON `body` builds from the caller's (total, spent, expires), or the authentication or
/// store error.
async fn answer(incoming: &Incoming, body: impl FnOnce((i64, i64, i64)) -> Value) -> Response {
    match totals(incoming).await {
        Ok(totals) => Json(body(totals)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET {prefix}/dashboard/billing/subscription` and `…/usage`, under `/v1` and without it.
pub fn routes() -> Router<AppState> {
    ["/v1", ""]
        .into_iter()
        .fold(Router::new(), |router, prefix| {
            router
                .route(
                    &format!("{prefix}/dashboard/billing/subscription"),
                    get(subscription),
                )
                .route(&format!("{prefix}/dashboard/billing/usage"), get(usage))
        })
}

pub async fn subscription(incoming: Incoming) -> Response {
    answer(&incoming, |(total, _, expires)| {
        let usd = display(total, 1.0);
        json!({
            "object": "billing_subscription",
            "has_payment_method": true,
            "soft_limit_usd": usd,
            "hard_limit_usd": usd,
            "system_hard_limit_usd": usd,
            "access_until": expires,
        })
    })
    .await
}

pub async fn usage(incoming: Incoming) -> Response {
    answer(&incoming, |(_, spent, _)| {
        json!({
            "object": "list",
            "total_usage": display(spent, 100.0),
        })
    })
    .await
}
