//! Azure OpenAI: the OpenAI protocol behind a deployment URL, an `api-version` query and an `api-key` header.
//! The request body goes out unchanged (Azure ignores `model`; the deployment in the path picks the model, and
//! the channel's model mapping is the model → deployment map). Answers are OpenAI's, except that streams carry
//! content-filter chunks with no choices, which `stream.rs` drops.
//!
//! Folder: this file (URL, headers, I/O), `stream.rs` (chunk filtering), `tests.rs`. Error bodies have OpenAI's
//! shape and go through `openai::error_from_body`, so there is no `wire.rs`/`convert.rs` of its own.

mod stream;

use crate::error::UpstreamError;
use crate::flow::ChatFlow;
use crate::transport::{self, Auth, EventStream, json_body};
use crate::{ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
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
    operation_url(base, deployment, "chat/completions", api_version)
}

/// The URL of `operation` (`chat/completions`, `embeddings`, …) for a deployment; see [`chat_url`].
pub fn operation_url(
    base: &str,
    deployment: &str,
    operation: &str,
    api_version: Option<&str>,
) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/openai/v1") {
        return format!("{base}/{operation}");
    }
    let base = base.strip_suffix("/openai").unwrap_or(base);
    let version = api_version
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_API_VERSION);
    format!("{base}/openai/deployments/{deployment}/{operation}?api-version={version}")
}

/// The upstream HTTP request for a chat body, built but not sent (pure, so tests can inspect it).
pub fn http_request(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
) -> Result<crate::client::UpstreamRequest, UpstreamError> {
    let deployment = transport::body_model(body)?;
    let url = chat_url(&ctx.base_url, deployment, ctx.api_version.as_deref());
    Ok(transport::post_json(
        ctx,
        &url,
        Auth::Header("api-key"),
        json_body(body)?,
    ))
}

impl ChatFlow for AzureAdapter {
    const KIND: ChannelKind = ChannelKind::Azure;

    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
        crate::openai::error_from_body(status, body)
    }

    /// The body says itself whether it asks for a stream.
    async fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        _stream: bool,
    ) -> Result<crate::client::UpstreamResponse, UpstreamError> {
        let req = http_request(ctx, body)?;
        transport::send_checked(ctx, req, Self::error_from_body).await
    }

    /// `prompt_filter_results` / `content_filter_results` stay in the body: OpenAI clients ignore them.
    fn completion(answer: Bytes, _body: &Map<String, Value>) -> Result<Bytes, UpstreamError> {
        crate::openai::checked_completion(answer)
    }

    fn chunks(
        events: EventStream,
        _body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        Ok(azure_chunks(events))
    }
}

#[cfg(test)]
mod tests;
