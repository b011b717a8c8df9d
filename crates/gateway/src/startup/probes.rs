//! The route handlers of [`crate::observe`]: they take from the state what `observe` renders.

use crate::error::ApiError;
use crate::observe::{self, metrics::Present};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

pub async fn readyz(State(state): State<AppState>) -> Response {
    observe::readiness(&state.store, &state.shared).await
}

pub async fn metrics(State(state): State<AppState>, headers: http::HeaderMap) -> Response {
    // Checked before anything is looked at (a Redis ping included), so a stranger costs nothing.
    if !observe::metrics_allowed(state.settings.metrics_token.as_deref(), &headers) {
        return ApiError::MetricsUnauthorized.into_response();
    }
    let snapshot = state.catalog.snapshot();
    let present = Present {
        snapshot: &snapshot,
        pools: state.store.pool_stats(),
        redis_up: state.shared.ping().await.is_ok(),
        log_queue: state.logs.queued(),
        ledger: state.ledger.figures(),
    };
    observe::metrics_page(&state.metrics, &present)
}
