//! Building a request upstream (a POST with the channel's key and extra headers), sending it — the one place that
//! applies the first-byte timeout and maps transport failures — and reading bodies under the idle timeout and a
//! size cap. Providers add their URL, their way of presenting the key and their own error-body parsing.

use crate::UpstreamCtx;
use crate::client::{SendError, UpstreamRequest, UpstreamResponse};
use crate::error::{UpstreamError, UpstreamErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value};

/// How an upstream takes the channel's key.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers).
    Bearer,
    /// The key as the value of this header (`api-key`, `x-api-key`, `x-goog-api-key`).
    Header(&'a str),
}

/// A POST of `body` (of `content_type`) to `url`, with the key as `auth` says and then the channel's extra headers.
pub fn post(
    ctx: &UpstreamCtx,
    url: &str,
    auth: Auth<'_>,
    content_type: &str,
    body: impl Into<Bytes>,
) -> UpstreamRequest {
    let req = ctx.client.post(url);
    let req = match auth {
        Auth::Bearer => req.bearer_auth(&ctx.api_key),
        Auth::Header(name) => req.header(name, &ctx.api_key),
    };
    with_extra_headers(
        ctx,
        req.header(http::header::CONTENT_TYPE.as_str(), content_type)
            .body(body),
    )
}

/// [`post`] of a JSON body.
pub fn post_json(
    ctx: &UpstreamCtx,
    url: &str,
    auth: Auth<'_>,
    body: impl Into<Bytes>,
) -> UpstreamRequest {
    post(ctx, url, auth, "application/json", body)
}

/// `req` with the channel's extra headers added.
pub fn with_extra_headers(ctx: &UpstreamCtx, mut req: UpstreamRequest) -> UpstreamRequest {
    for (name, value) in &ctx.extra_headers {
        req = req.header(name, value);
    }
    req
}

/// `value` encoded as a JSON request body.
pub fn json_body(value: &impl serde::Serialize) -> Result<Bytes, UpstreamError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("cannot encode request: {e}"),
        )
    })
}

/// The request body's `model`, which must be a non-empty string.
pub fn body_model(body: &Map<String, Value>) -> Result<&str, UpstreamError> {
    body.get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| UpstreamError::new(UpstreamErrorKind::InvalidInput, "request has no model"))
}

/// Sends and waits for the response head within the first-byte timeout, whatever its status.
pub async fn transmit(
    ctx: &UpstreamCtx,
    req: UpstreamRequest,
) -> Result<UpstreamResponse, UpstreamError> {
    match tokio::time::timeout(ctx.first_byte_timeout, req.send()).await {
        Err(_) => Err(UpstreamError::new(
            UpstreamErrorKind::FirstByteTimeout(ctx.first_byte_timeout),
            format!(
                "upstream did not answer within {}s",
                ctx.first_byte_timeout.as_secs()
            ),
        )),
        Ok(Err(SendError::Build(why))) => Err(UpstreamError::new(
            UpstreamErrorKind::Connect,
            format!("cannot build the upstream request: {why}"),
        )),
        Ok(Err(SendError::Connect(why))) => Err(scrubbed(
            ctx,
            UpstreamError::new(
                UpstreamErrorKind::Connect,
                format!("cannot reach upstream: {why}"),
            ),
        )),
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// `transmit`, then a non-success status becomes an error read from the body by the provider's `parse_error`.
pub async fn send_checked(
    ctx: &UpstreamCtx,
    req: UpstreamRequest,
    parse_error: fn(u16, &[u8]) -> UpstreamError,
) -> Result<UpstreamResponse, UpstreamError> {
    let resp = transmit(ctx, req).await?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = read_body(ctx, resp, 64 * 1024).await.unwrap_or_default();
    Err(scrubbed(ctx, parse_error(status.as_u16(), &body)))
}

/// The error without the channel's key or anything shaped like a credential in its text.
fn scrubbed(ctx: &UpstreamCtx, mut err: UpstreamError) -> UpstreamError {
    err.message = crate::scrub::secrets(&err.message, Some(&ctx.api_key));
    err
}

/// Reads a whole body, failing on silence longer than the idle timeout or on more than `limit` bytes.
pub async fn read_body(
    ctx: &UpstreamCtx,
    resp: UpstreamResponse,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let mut stream = resp.bytes_stream();
    let mut out = bytes::BytesMut::new();
    loop {
        match tokio::time::timeout(ctx.idle_timeout, stream.next()).await {
            Err(_) => {
                return Err(UpstreamError::new(
                    UpstreamErrorKind::IdleTimeout(ctx.idle_timeout),
                    format!(
                        "upstream body was idle for more than {}s",
                        ctx.idle_timeout.as_secs()
                    ),
                ));
            }
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(e))) => {
                return Err(UpstreamError::new(
                    UpstreamErrorKind::Protocol,
                    format!("upstream connection broke while sending the body: {e}"),
                ));
            }
            Ok(Some(Ok(chunk))) => {
                if out.len() + chunk.len() > limit {
                    return Err(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream answer is too large",
                    ));
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

/// Decoded SSE events of an upstream answer.
pub type EventStream = BoxStream<'static, Result<crate::sse::SseEvent, UpstreamError>>;

/// A successful stream answer decoded into SSE events. An answer that is not an event stream (some upstreams
/// answer a stream request with a JSON error and status 200) is an error, read by the provider's `parse_error`.
pub async fn event_stream(
    ctx: &UpstreamCtx,
    resp: UpstreamResponse,
    parse_error: fn(u16, &[u8]) -> UpstreamError,
) -> Result<EventStream, UpstreamError> {
    let is_sse = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if !is_sse {
        let bytes = read_body(ctx, resp, 64 * 1024).await.unwrap_or_default();
        let mut err = scrubbed(ctx, parse_error(502, &bytes));
        err.kind = UpstreamErrorKind::Protocol;
        if err.error_type.is_none() {
            err.message = "upstream answered a stream request without an event stream".to_owned();
        }
        return Err(err);
    }
    Ok(crate::sse::decode_body(
        resp.bytes_stream(),
        ctx.idle_timeout,
    ))
}

/// Raw body bytes as they arrive.
pub type ByteStream = BoxStream<'static, Result<Bytes, UpstreamError>>;

/// A successful answer's body as it arrives (audio, files), failing on silence longer than the idle timeout; the
/// stream ends after its first error.
pub fn byte_stream(ctx: &UpstreamCtx, resp: UpstreamResponse) -> ByteStream {
    let idle = ctx.idle_timeout;
    futures::stream::unfold(Some(resp.bytes_stream()), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Err(_) => Some((
                Err(UpstreamError::new(
                    UpstreamErrorKind::IdleTimeout(idle),
                    format!("upstream body was idle for more than {}s", idle.as_secs()),
                )),
                None,
            )),
            Ok(None) => None,
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((
                Err(UpstreamError::new(
                    UpstreamErrorKind::Protocol,
                    format!("upstream connection broke while sending the body: {e}"),
                )),
                None,
            )),
        }
    })
    .boxed()
}
