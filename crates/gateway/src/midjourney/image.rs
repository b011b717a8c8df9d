//! `GET /mj/image/{id}?expires=&signature=`: streams a task's image from the upstream without exposing it. Works
//! without a key (for `<img>` tags) but only with a valid, unexpired signature; bounded in size and time.
//!
//! The upstream reports the image URL, and it may be hostile (issue 15): the URL is fetched only where
//! [`super::image_source`] allows, and only PNG, JPEG, GIF and WebP are relayed — recognised by their first bytes,
//! sent with that type, `nosniff` and a sandboxing CSP — so nothing the upstream serves runs on Tollgate's origin.

use super::image_source;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;

/// Largest image relayed (Midjourney upscales are a few MB).
const MAX_IMAGE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes needed to recognise every relayed format (WebP: `RIFF····WEBP`).
const SNIFF_BYTES: usize = 12;

const FETCH_FAILED: &str = "The image could not be fetched from the upstream.";

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
    let channel_base = state
        .catalog
        .snapshot()
        .channel(task.channel_id)
        .map(|c| c.channel.base_url.clone());
    let request = match image_source::request(&state, &url, channel_base.as_deref()) {
        Ok(r) => r,
        Err(why) => {
            tracing::warn!(task = id, reason = %why, "upstream image URL refused");
            return refuse(StatusCode::BAD_GATEWAY, FETCH_FAILED);
        }
    };
    let resp = match request.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let status = r.status().as_u16();
            tracing::warn!(task = id, status, "upstream image fetch failed");
            return refuse(StatusCode::BAD_GATEWAY, FETCH_FAILED);
        }
        Err(e) => {
            tracing::warn!(task = id, error = %e.without_url(), "upstream image fetch failed");
            return refuse(StatusCode::BAD_GATEWAY, FETCH_FAILED);
        }
    };
    relay(resp).await.unwrap_or_else(|why| {
        tracing::warn!(task = id, reason = why, "upstream image not relayed");
        refuse(StatusCode::BAD_GATEWAY, why)
    })
}

/// Streams `resp` to the client if its first bytes are a relayed image format; else why not.
async fn relay(resp: reqwest::Response) -> Result<Response, &'static str> {
    if resp.content_length().is_some_and(|n| n > MAX_IMAGE_BYTES) {
        return Err("The image is larger than the gateway relays.");
    }
    let mut body = Box::pin(resp.bytes_stream());
    let head = read_head(&mut body).await?;
    let media_type = providers::media::sniff(&head)
        .ok_or("The upstream's image is not a PNG, JPEG, GIF or WebP image.")?;
    let mut sent = head.len() as u64;
    let rest = body.map(move |chunk| {
        let chunk: Bytes = chunk.map_err(std::io::Error::other)?;
        sent += chunk.len() as u64;
        if sent > MAX_IMAGE_BYTES {
            return Err(std::io::Error::other("image larger than the relay limit"));
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let stream = futures::stream::once(async move { Ok(head) }).chain(rest);
    let mut out = Response::new(Body::from_stream(stream));
    let headers = out.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(out)
}

/// The first chunks of `body`, at least [`SNIFF_BYTES`] long unless the body is shorter.
async fn read_head<S>(body: &mut S) -> Result<Bytes, &'static str>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    let mut head = Vec::new();
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(FETCH_FAILED),
            None => break,
        }
    }
    if head.len() as u64 > MAX_IMAGE_BYTES {
        return Err("The image is larger than the gateway relays.");
    }
    Ok(Bytes::from(head))
}
