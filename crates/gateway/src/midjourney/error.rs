//! Errors on the Midjourney routes. Midjourney clients read `code` and `description` (midjourney-proxy's
//! SubmitResult), so refusals are answered in that shape; auth and quota failures keep their HTTP status.

use crate::error::ApiError;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// midjourney-proxy codes: 3 = not found, 4 = validation error.
pub fn mj_error(err: &ApiError) -> Response {
    let code = match err.status().as_u16() {
        404 => 3,
        400 | 403 | 413 => 4,
        _ => 9,
    };
    let body = json!({
        "code": code,
        "description": err.to_string(),
        "result": null,
        "properties": {},
        "error": err.body().error,
    });
    (err.status(), axum::Json(body)).into_response()
}
