//! `GET /mj/image/{id}?expires=&signature=`: streams a task's image from the upstream without exposing it. Works
//! without a key (for `<img>` tags) but only with a valid, unexpired signature; bounded in size and time.

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

/// Largest image relayed (Midjourney upscales are a few MB).
const MAX_IMAGE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
pub struct Signed {
    expires: Option<i64>,
    signature: Option<String>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let err = api_types::ErrorBody::new(message, "invalid_request_error", None, None);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        err.to_json_bytes(),
    )
        .into_response()
}

pub async fn proxy(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<Signed>,
) -> Response {
    let (Some(expires), Some(signature)) = (q.expires, q.signature) else {
        return refuse(StatusCode::FORBIDDEN, "This image link is not signed.");
    };
    if !state
        .mj_signer
        .verify(id, expires, &signature, chrono::Utc::now().timestamp())
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "This image link is invalid or has expired.",
        );
    }
    let Ok(task) = state.store.get_mj_task(id).await else {
        return refuse(StatusCode::NOT_FOUND, "No such image.");
    };
    let Some(url) = task.image_url.filter(|u| !u.is_empty()) else {
        return refuse(StatusCode::NOT_FOUND, "This task has no image yet.");
    };
    let fetch = state.http.get(&url).timeout(
        state
            .settings
            .image_timeout
            .max(std::time::Duration::from_secs(30)),
    );
    let resp = match fetch.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            tracing::warn!(
                task = id,
                status = r.status().as_u16(),
                "upstream image fetch failed"
            );
            return refuse(
                StatusCode::BAD_GATEWAY,
                "The image could not be fetched from the upstream.",
            );
        }
        Err(e) => {
            tracing::warn!(task = id, error = %e.without_url(), "upstream image fetch failed");
            return refuse(
                StatusCode::BAD_GATEWAY,
                "The image could not be fetched from the upstream.",
            );
        }
    };
    if resp.content_length().is_some_and(|n| n > MAX_IMAGE_BYTES) {
        return refuse(
            StatusCode::BAD_GATEWAY,
            "The image is larger than the gateway relays.",
        );
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let mut sent: u64 = 0;
    let stream = resp.bytes_stream().map(move |chunk| {
        let chunk: Bytes = chunk.map_err(std::io::Error::other)?;
        sent += chunk.len() as u64;
        if sent > MAX_IMAGE_BYTES {
            return Err(std::io::Error::other("image larger than the relay limit"));
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let mut out = Response::new(Body::from_stream(stream));
    out.headers_mut().insert(header::CONTENT_TYPE, content_type);
    out.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    out
}
