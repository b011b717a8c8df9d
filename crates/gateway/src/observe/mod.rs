//! What an operator watches: `GET /metrics` (Prometheus), `GET /healthz` (the process answers) and `GET /readyz`
//! (the process can serve: its database and, when configured, Redis answer). `/metrics` asks for
//! `Authorization: Bearer <token>` when `--metrics-token` is set (it names channels, models and volumes).

pub mod metrics;
pub mod redact;

use crate::http::header_text;
use axum::Json;
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
pub async fn readiness(store: &store::Store, shared: &cache::Shared) -> Response {
    let database = match tokio::time::timeout(READY_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: no answer within 2s".to_owned(),
    };
    let redis = if shared.is_redis() {
        match shared.ping().await {
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
pub fn metrics_allowed(expected: Option<&str>, headers: &http::HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let presented = header_text(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let (a, b) = (
        crate::auth::key_format::hash_bytes(expected.trim()),
        crate::auth::key_format::hash_bytes(presented.trim()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The Prometheus page (ask [`metrics_allowed`] first).
pub fn metrics_page(metrics: &metrics::Metrics, present: &metrics::Present<'_>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        metrics.render(present),
    )
        .into_response()
}
