//! Building a request upstream (a POST with the channel's key and extra headers), sending it — the one place that
//! applies the first-byte timeout and maps transport failures — and reading bodies under the idle timeout and a
//! size cap. Providers add their URL, their way of presenting the key and their own error-body parsing.

use crate::UpstreamCtx;
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

/// The most upstream URLs kept parsed. A deployment sends to a handful (each channel's base URL and a route's path);
/// past this many, URLs are parsed each time.
const PARSED_URLS: usize = 1024;

/// `url` parsed, from a cache: parsing a URL (with its IDNA host processing) costs a relay more than building the
/// rest of its request, and the same few URLs are used for every request. `None` for a URL that does not parse
/// (reqwest then reports it when the request is sent, as before).
fn parsed_url(url: &str) -> Option<reqwest::Url> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, PoisonError, RwLock};
    static URLS: LazyLock<RwLock<HashMap<Box<str>, reqwest::Url>>> =
        LazyLock::new(Default::default);
    if let Some(parsed) = URLS.read().unwrap_or_else(PoisonError::into_inner).get(url) {
        return Some(parsed.clone());
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let mut urls = URLS.write().unwrap_or_else(PoisonError::into_inner);
    if urls.len() < PARSED_URLS {
        urls.insert(url.into(), parsed.clone());
    }
    Some(parsed)
}

/// A POST of `body` (of `content_type`) to `url`, with the key as `auth` says and then the channel's extra headers.
pub fn post(
    ctx: &UpstreamCtx,
    url: &str,
    auth: Auth<'_>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let req = match parsed_url(url) {
        Some(parsed) => ctx.client.post(parsed),
        None => ctx.client.post(url),
    };
    let req = match auth {
        Auth::Bearer => req.bearer_auth(&ctx.api_key),
        Auth::Header(name) => req.header(name, &ctx.api_key),
    };
    with_extra_headers(
        ctx,
        req.header(http::header::CONTENT_TYPE, content_type)
            .body(body),
    )
}

/// [`post`] of a JSON body.
pub fn post_json(
    ctx: &UpstreamCtx,
    url: &str,
    auth: Auth<'_>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    post(ctx, url, auth, "application/json", body)
}

/// `req` with the channel's extra headers added.
pub fn with_extra_headers(
    ctx: &UpstreamCtx,
    mut req: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
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

/// `req` built, for adapters that let tests inspect the request before it is sent (see [`send_built`]).
pub fn build(req: reqwest::RequestBuilder) -> Result<reqwest::Request, UpstreamError> {
    req.build().map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Connect,
            format!("cannot build the upstream request: {}", e.without_url()),
        )
    })
}

/// [`send_checked`] of a request already built by [`build`].
pub async fn send_built(
    ctx: &UpstreamCtx,
    req: reqwest::Request,
    parse_error: fn(u16, &[u8]) -> UpstreamError,
) -> Result<reqwest::Response, UpstreamError> {
    let req = reqwest::RequestBuilder::from_parts(ctx.client.clone(), req);
    send_checked(ctx, req, parse_error).await
}

/// Sends and waits for the response head within the first-byte timeout, whatever its status.
pub async fn transmit(
    ctx: &UpstreamCtx,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, UpstreamError> {
    match tokio::time::timeout(ctx.first_byte_timeout, req.send()).await {
        Err(_) => Err(UpstreamError::new(
            UpstreamErrorKind::FirstByteTimeout(ctx.first_byte_timeout),
            format!(
                "upstream did not answer within {}s",
                ctx.first_byte_timeout.as_secs()
            ),
        )),
        Ok(Err(e)) => {
            let kind = if e.is_timeout() {
                UpstreamErrorKind::FirstByteTimeout(ctx.first_byte_timeout)
            } else {
                UpstreamErrorKind::Connect
            };
            Err(UpstreamError::new(
                kind,
                format!("cannot reach upstream: {}", e.without_url()),
            ))
        }
        Ok(Ok(resp)) => Ok(resp),
    }
}

/// `transmit`, then a non-success status becomes an error read from the body by the provider's `parse_error`.
pub async fn send_checked(
    ctx: &UpstreamCtx,
    req: reqwest::RequestBuilder,
    parse_error: fn(u16, &[u8]) -> UpstreamError,
) -> Result<reqwest::Response, UpstreamError> {
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
    resp: reqwest::Response,
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
                    format!(
                        "upstream connection broke while sending the body: {}",
                        e.without_url()
                    ),
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
    resp: reqwest::Response,
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
pub fn byte_stream(ctx: &UpstreamCtx, resp: reqwest::Response) -> ByteStream {
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
                    format!(
                        "upstream connection broke while sending the body: {}",
                        e.without_url()
                    ),
                )),
                None,
            )),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_once_and_kept_exact() {
        let url = "http://127.0.0.1:9/some/prefix/v1/chat/completions?x=1";
        let first = parsed_url(url).unwrap();
        let again = parsed_url(url).unwrap();
        assert_eq!(first, again);
        assert_eq!(again.as_str(), url);
        assert_eq!(parsed_url("http://exa mple.com/"), None);
        assert_eq!(parsed_url("not a url"), None);
    }
}
