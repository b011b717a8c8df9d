//! Google Gemini (AI Studio `generativelanguage` API, not Vertex AI). The folder:
//! - `wire.rs`: Gemini's own request/response/error JSON;
//! - `convert.rs`: OpenAI chat request → `generateContent` body (images inlined via the media fetcher);
//! - `schema.rs`: JSON Schema → the subset Gemini accepts for tool parameters and response schemas;
//! - `response.rs`: `GenerateContentResponse` → `chat.completion`, error bodies → `UpstreamError`;
//! - `stream.rs`: `streamGenerateContent?alt=sse` events → `chat.completion.chunk` payloads.
//!
//! This file only adds I/O: the URL, the `x-goog-api-key` header (never `?key=`, which would land in logs) and
//! the timeouts.

mod convert;
mod response;
mod schema;
mod stream;
mod wire;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::read_body;
use crate::{ChatProvider, ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};

pub use convert::build_request;
pub use response::{completion_from_body, error_from_body};
pub use schema::clean_schema;
pub use stream::{StreamMapper, gemini_chunks};

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

pub struct GeminiAdapter;

/// `{base}/v1beta/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`). A base that already
/// ends in `/v1beta` is accepted; a model written as `models/x` or `tunedModels/x` is used as that resource path.
pub fn endpoint_url(base: &str, model: &str, stream: bool) -> String {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v1beta").unwrap_or(base);
    let resource = if model.starts_with("models/") || model.starts_with("tunedModels/") {
        model.to_owned()
    } else {
        format!("models/{model}")
    };
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    format!("{base}/v1beta/{resource}:{method}")
}

fn upstream_model(body: &Map<String, Value>) -> Result<&str, UpstreamError> {
    body.get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| UpstreamError::new(UpstreamErrorKind::InvalidInput, "request has no model"))
}

/// The upstream HTTP request for a chat body, built but not sent. Async only because images may be downloaded.
pub async fn http_request(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<reqwest::Request, UpstreamError> {
    let model = upstream_model(body)?;
    let request = build_request(body, &ctx.media).await?;
    let bytes = serde_json::to_vec(&request).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("cannot encode request: {e}"),
        )
    })?;
    let mut req = ctx
        .client
        .post(endpoint_url(&ctx.base_url, model, stream))
        .header("x-goog-api-key", &ctx.api_key)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(bytes);
    for (name, value) in &ctx.extra_headers {
        req = req.header(name, value);
    }
    req.build().map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Connect,
            format!("cannot build the upstream request: {}", e.without_url()),
        )
    })
}

async fn send(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<reqwest::Response, UpstreamError> {
    let req = http_request(ctx, body, stream).await?;
    send_with_timeouts(
        ctx,
        reqwest::RequestBuilder::from_parts(ctx.client.clone(), req),
    )
    .await
}

/// A non-success answer is read as a Gemini error body (its own shape; a bad key is reported as 400).
async fn send_with_timeouts(
    ctx: &UpstreamCtx,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, UpstreamError> {
    crate::transport::send_checked(ctx, req, error_from_body).await
}

#[async_trait]
impl ChatProvider for GeminiAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Gemini
    }

    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError> {
        let resp = send(ctx, body, false).await?;
        let bytes = read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        let completion = completion_from_body(&bytes, upstream_model(body)?)?;
        Ok(Bytes::from(completion.to_string()))
    }

    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        let resp = send(ctx, body, true).await?;
        let events = crate::transport::event_stream(ctx, resp, error_from_body).await?;
        Ok(gemini_chunks(events, upstream_model(body)?))
    }
}

#[cfg(test)]
mod tests;
