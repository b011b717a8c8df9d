//! Client for midjourney-proxy upstreams (novicezk "open", the closed "plus" API and its C# re-implementation):
//! submit a task, poll tasks, read an image seed. Not a [`crate::ChatProvider`]: the gateway stores tasks and
//! polls; this module only speaks the wire. Every request carries `mj-api-secret: <ctx.api_key>` plus
//! `ctx.extra_headers`, waits at most `ctx.first_byte_timeout` for the answer head and reads bodies with a cap.

mod response;
#[cfg(test)]
mod tests;
mod types;

use serde_json::{Value, json};

pub use types::{SubmitResult, UpstreamTask, code};

use crate::UpstreamCtx;
use crate::client::UpstreamRequest;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::read_body;

/// The proxy's auth header.
pub const SECRET_HEADER: &str = "mj-api-secret";
/// Largest submit / seed / single-task answer read.
const MAX_SMALL_BODY: usize = 1024 * 1024;
/// Largest `list-by-condition` answer read.
const MAX_LIST_BODY: usize = 16 * 1024 * 1024;

/// `base_url` + `path` (`/mj/submit/imagine`). The base is the host root (`http://host:8080`) or already ends in
/// `/mj`; the `/mj` is never doubled.
pub fn url(ctx: &UpstreamCtx, path: &str) -> String {
    let base = ctx.base_url.trim_end_matches('/');
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    match path.strip_prefix("/mj") {
        Some(rest) if base.ends_with("/mj") && (rest.is_empty() || rest.starts_with('/')) => {
            format!("{base}{rest}")
        }
        _ => format!("{base}{path}"),
    }
}

/// POSTs a submit body to `path` (`/mj/submit/imagine`, `/mj/submit/action`, `/mj/insight-face/swap`…). Any
/// answer carrying a `code` is returned as is, even under a 4xx/5xx status: the caller decides from the code.
pub async fn submit(
    ctx: &UpstreamCtx,
    path: &str,
    body: &Value,
) -> Result<SubmitResult, UpstreamError> {
    let (status, bytes) = send(ctx, post(ctx, path, body)?, MAX_SMALL_BODY).await?;
    response::submit_result(status, &bytes)
}

/// `POST /mj/task/list-by-condition {"ids": […]}`: the tasks the upstream knows among `ids` (unknown ids are
/// simply absent). No request is made for an empty list.
pub async fn list_by_condition(
    ctx: &UpstreamCtx,
    ids: &[String],
) -> Result<Vec<UpstreamTask>, UpstreamError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let body = json!({ "ids": ids });
    let req = post(ctx, "/mj/task/list-by-condition", &body)?;
    let (status, bytes) = send(ctx, req, MAX_LIST_BODY).await?;
    response::task_list(status, &bytes)
}

/// `GET /mj/task/{id}/fetch`; `None` when the upstream does not know the task.
pub async fn fetch(ctx: &UpstreamCtx, id: &str) -> Result<Option<UpstreamTask>, UpstreamError> {
    let path = format!("/mj/task/{}/fetch", segment(id)?);
    let (status, bytes) = send(ctx, get(ctx, &path), MAX_SMALL_BODY).await?;
    response::one_task(status, &bytes)
}

/// `GET /mj/task/{id}/image-seed`: `result` is the seed string on code 1.
pub async fn image_seed(ctx: &UpstreamCtx, id: &str) -> Result<SubmitResult, UpstreamError> {
    let path = format!("/mj/task/{}/image-seed", segment(id)?);
    let (status, bytes) = send(ctx, get(ctx, &path), MAX_SMALL_BODY).await?;
    response::submit_result(status, &bytes)
}

fn post(ctx: &UpstreamCtx, path: &str, body: &Value) -> Result<UpstreamRequest, UpstreamError> {
    let req = ctx
        .client
        .post(&url(ctx, path))
        .header(http::header::CONTENT_TYPE.as_str(), "application/json")
        .body(crate::transport::json_body(body)?);
    Ok(with_headers(ctx, req))
}

fn get(ctx: &UpstreamCtx, path: &str) -> UpstreamRequest {
    with_headers(ctx, ctx.client.get(url(ctx, path)))
}

fn with_headers(ctx: &UpstreamCtx, mut req: UpstreamRequest) -> UpstreamRequest {
    if !ctx.api_key.is_empty() {
        req = req.header(SECRET_HEADER, &ctx.api_key);
    }
    crate::transport::with_extra_headers(ctx, req)
}

/// Sends within the first-byte timeout and reads the whole body (at most `limit` bytes), whatever the status.
async fn send(
    ctx: &UpstreamCtx,
    req: UpstreamRequest,
    limit: usize,
) -> Result<(u16, bytes::Bytes), UpstreamError> {
    let resp = crate::transport::transmit(ctx, req).await?;
    let status = resp.status().as_u16();
    let body = read_body(ctx, resp, limit).await?;
    Ok((status, body))
}

/// A task id as one URL path segment: percent-encoded, and never empty or a dot segment.
fn segment(id: &str) -> Result<String, UpstreamError> {
    if id.is_empty() || id.chars().all(|c| c == '.') {
        return Err(UpstreamError::new(
            UpstreamErrorKind::InvalidInput,
            "invalid midjourney task id",
        ));
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}
