//! What an operator watches: `GET /metrics` (Prometheus), `GET /healthz` (the process answers) and `GET /readyz`
//! (the process can serve: its database and, when configured, Redis answer). `/metrics` asks for
//! `Authorization: Bearer <token>` when `--metrics-token` is set (it names channels, models and volumes).

pub mod metrics;
pub mod redact;

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use std::time::Duration;

const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 `{"status":"ready",…}` when the database (and Redis, if configured) answer within 2 s; 503 naming the
/// part that does not, so a load balancer stops sending traffic to an instance that cannot serve it.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: no answer within 2s".to_owned(),
    };
    let redis = if state.shared.is_redis() {
        match state.shared.ping().await {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        }
    } else {
        "not configured".to_owned()
    };
    let ready = database == "ok" && !redis.starts_with("error");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database,
        "redis": redis,
    });
    (status, Json(body)).into_response()
}

/// Whether the request carries the metrics token (compared as SHA-256 digests, so in constant time).
fn metrics_allowed(expected: Option<&str>, headers: &http::HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let (a, b) = (
        crate::auth::token::hash_bytes(expected.trim()),
        crate::auth::token::hash_bytes(presented.trim()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

pub async fn metrics(State(state): State<AppState>, headers: http::HeaderMap) -> Response {
    if !metrics_allowed(state.settings.metrics_token.as_deref(), &headers) {
        return crate::error::ApiError::MetricsUnauthorized.into_response();
    }
    let snapshot = state.catalog.snapshot();
    let present = metrics::Present {
        snapshot: &snapshot,
        pools: state.store.pool_stats(),
        redis_up: state.shared.ping().await.is_ok(),
        log_queue: state.logs.queued(),
    };
    let text = state.metrics.render(&present);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
