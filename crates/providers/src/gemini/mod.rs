//! Google Gemini (AI Studio `generativelanguage` API, not Vertex AI). The folder:
//! - `wire.rs`: Gemini's own request/response/error JSON;
//! - `convert.rs`: OpenAI chat request → `generateContent` body (images inlined via the media fetcher);
//! - `schema.rs`: JSON Schema → the subset Gemini accepts for tool parameters and response schemas;
//! - `response.rs`: `GenerateContentResponse` → `chat.completion`, error bodies → `UpstreamError`;
//! - `stream.rs`: `streamGenerateContent?alt=sse` events → `chat.completion.chunk` payloads;
//! - `native.rs`: a client's own `generateContent` body relayed untouched (the gateway's Gemini routes).
//!
//! This file only adds I/O: the URL, the `x-goog-api-key` header (never `?key=`, which would land in logs) and
//! the timeouts.

mod convert;
pub mod native;
mod response;
mod schema;
mod stream;
mod wire;

use crate::error::UpstreamError;
use crate::flow::ChatFlow;
use crate::transport::EventStream;
use crate::transport::{self, Auth, json_body};
use crate::{ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use bytes::Bytes;
use serde_json::{Map, Value};

pub use convert::build_request;
pub use response::{completion_from_body, error_from_body};
pub use schema::clean_schema;
pub use stream::{StreamMapper, gemini_chunks};

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

/// The body's model, without new-api's thinking suffix (`providers::reasoning`).
fn upstream_model(body: &Map<String, Value>) -> Result<&str, UpstreamError> {
    Ok(crate::reasoning::plan(body, transport::body_model(body)?).0)
}

/// The upstream HTTP request for a chat body, built but not sent. Async only because images may be downloaded.
pub async fn http_request(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<crate::client::UpstreamRequest, UpstreamError> {
    let model = upstream_model(body)?;
    let request = json_body(&build_request(body, &ctx.media).await?)?;
    let url = endpoint_url(&ctx.base_url, model, stream);
    Ok(transport::post_json(
        ctx,
        &url,
        Auth::Header("x-goog-api-key"),
        request,
    ))
}

/// A non-success answer is read as a Gemini error body (its own shape; a bad key is reported as 400).
async fn send(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    let req = http_request(ctx, body, stream).await?;
    transport::send_checked(ctx, req, error_from_body).await
}

impl ChatFlow for GeminiAdapter {
    const KIND: ChannelKind = ChannelKind::Gemini;

    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
        error_from_body(status, body)
    }

    async fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<crate::client::UpstreamResponse, UpstreamError> {
        send(ctx, body, stream).await
    }

    fn completion(answer: Bytes, body: &Map<String, Value>) -> Result<Bytes, UpstreamError> {
        let completion = completion_from_body(&answer, upstream_model(body)?)?;
        Ok(Bytes::from(completion.to_string()))
    }

    fn chunks(
        events: EventStream,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        Ok(gemini_chunks(events, upstream_model(body)?))
    }
}

#[cfg(test)]
mod tests;
