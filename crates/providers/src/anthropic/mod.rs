//! Anthropic Messages upstream: converts the OpenAI chat request to `/v1/messages`, and the answer (body or event
//! stream) back to OpenAI shapes. Conversion lives in pure functions (`convert`, `response`, `stream`); this file
//! only adds HTTP: `x-api-key`, `anthropic-version`, the shared timeouts, and Anthropic's error bodies.

pub mod convert;
mod messages;
pub mod native;
pub mod response;
pub mod stream;
mod tools;
mod wire;

#[cfg(test)]
mod tests;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::{read_body, send_with_timeouts};
use crate::{ChatProvider, ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};

/// Sent as `anthropic-version` unless the channel's extra headers set one.
pub const API_VERSION: &str = "2023-06-01";

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

pub struct AnthropicAdapter;

/// POSTs an Anthropic Messages body and waits for a success status; error answers keep Anthropic's message and
/// type, with an OpenAI-ish `code`.
pub(crate) async fn send(
    ctx: &UpstreamCtx,
    body: Bytes,
) -> Result<reqwest::Response, UpstreamError> {
    let mut req = ctx
        .client
        .post(ctx.url("/v1/messages"))
        .header("x-api-key", &ctx.api_key)
        .header(http::header::CONTENT_TYPE, "application/json");
    let has_version = ctx
        .extra_headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("anthropic-version"));
    if !has_version {
        req = req.header("anthropic-version", API_VERSION);
    }
    for (name, value) in &ctx.extra_headers {
        req = req.header(name, value);
    }
    // The shared sender parses `{"error":{"type","message"}}`, which Anthropic's error body also matches.
    send_with_timeouts(ctx, req.body(body))
        .await
        .map_err(response::with_anthropic_code)
}

async fn send_converted(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<reqwest::Response, UpstreamError> {
    let mut converted = convert::to_anthropic(body, &ctx.media, ctx.forward_image_urls).await?;
    if let Some(obj) = converted.as_object_mut() {
        obj.remove("stream");
        if stream {
            obj.insert("stream".into(), Value::Bool(true));
        }
    }
    let bytes = serde_json::to_vec(&converted).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("cannot encode request: {e}"),
        )
    })?;
    send(ctx, Bytes::from(bytes)).await
}

/// Seconds since the Unix epoch, for `created`.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl ChatProvider for AnthropicAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Anthropic
    }

    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError> {
        let resp = send_converted(ctx, body, false).await?;
        let bytes = read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        let completion = response::completion_from_message(&bytes, unix_now())?;
        Ok(Bytes::from(completion.to_string()))
    }

    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        let resp = send_converted(ctx, body, true).await?;
        let events = crate::transport::event_stream(ctx, resp, response::error_from_body).await?;
        Ok(stream::openai_chunks(events, unix_now()))
    }
}
