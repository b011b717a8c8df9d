//! Azure OpenAI: the OpenAI protocol behind a deployment URL, an `api-version` query and an `api-key` header.
//! The request body goes out unchanged (Azure ignores `model`; the deployment in the path picks the model, and
//! the channel's model mapping is the model → deployment map). Answers are OpenAI's, except that streams carry
//! content-filter chunks with no choices, which `stream.rs` drops.
//!
//! Folder: this file (URL, headers, I/O), `stream.rs` (chunk filtering), `tests.rs`. Error bodies have OpenAI's
//! shape and go through `openai::error_from_body`, so there is no `wire.rs`/`convert.rs` of its own.

mod stream;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::send_with_timeouts;
use crate::{ChatProvider, ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};

pub use stream::{azure_chunks, is_filter_only};

/// Used when the channel sets no `api_version`: the GA version that has `stream_options.include_usage`.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

pub struct AzureAdapter;

/// The chat-completions URL for a deployment. `base` is the resource endpoint (`https://res.openai.azure.com`),
/// with or without a trailing `/openai`. A base ending in `/openai/v1` selects Azure's v1 API, which takes the
/// deployment from the body's `model` and has no `api-version`.
pub fn chat_url(base: &str, deployment: &str, api_version: Option<&str>) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/openai/v1") {
        return format!("{base}/chat/completions");
    }
    let base = base.strip_suffix("/openai").unwrap_or(base);
    let version = api_version
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_API_VERSION);
    format!("{base}/openai/deployments/{deployment}/chat/completions?api-version={version}")
}

/// The upstream HTTP request for a chat body, built but not sent (pure, so tests can inspect it).
pub fn http_request(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
) -> Result<reqwest::Request, UpstreamError> {
    let deployment = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            UpstreamError::new(UpstreamErrorKind::InvalidInput, "request has no model")
        })?;
    let bytes = serde_json::to_vec(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("cannot encode request: {e}"),
        )
    })?;
    let url = chat_url(&ctx.base_url, deployment, ctx.api_version.as_deref());
    let mut req = ctx
        .client
        .post(url)
        .header("api-key", &ctx.api_key)
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
) -> Result<reqwest::Response, UpstreamError> {
    let req = http_request(ctx, body)?;
    send_with_timeouts(
        ctx,
        reqwest::RequestBuilder::from_parts(ctx.client.clone(), req),
    )
    .await
}

#[async_trait]
impl ChatProvider for AzureAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Azure
    }

    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError> {
        // `prompt_filter_results` / `content_filter_results` stay in the body: OpenAI clients ignore them.
        let resp = send(ctx, body).await?;
        crate::openai::completion_body(ctx, resp).await
    }

    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        let resp = send(ctx, body).await?;
        Ok(azure_chunks(crate::openai::event_stream(ctx, resp).await?))
    }
}

#[cfg(test)]
mod tests;
