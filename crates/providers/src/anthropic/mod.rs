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

use crate::error::UpstreamError;
use crate::flow::ChatFlow;
use crate::openai::send_with_timeouts;
use crate::transport::EventStream;
use crate::transport::{self, Auth, json_body};
use crate::{ChunkStream, UpstreamCtx, unix_now};
use api_types::ChannelKind;
use bytes::Bytes;
use serde_json::{Map, Value};

/// Sent as `anthropic-version` unless the channel's extra headers set one.
pub const API_VERSION: &str = "2023-06-01";

pub struct AnthropicAdapter;

/// POSTs an Anthropic Messages body and waits for a success status; error answers keep Anthropic's message and
/// type, with an OpenAI-ish `code`.
pub(crate) async fn send(
    ctx: &UpstreamCtx,
    body: Bytes,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    let url = ctx.url("/v1/messages");
    let mut req = transport::post_json(ctx, &url, Auth::Header("x-api-key"), body);
    let has_version = ctx
        .extra_headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("anthropic-version"));
    if !has_version {
        req = req.header("anthropic-version", API_VERSION);
    }
    // The shared sender parses `{"error":{"type","message"}}`, which Anthropic's error body also matches.
    send_with_timeouts(ctx, req)
        .await
        .map_err(response::with_anthropic_code)
}

impl ChatFlow for AnthropicAdapter {
    const KIND: ChannelKind = ChannelKind::Anthropic;

    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
        response::error_from_body(status, body)
    }

    async fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<crate::client::UpstreamResponse, UpstreamError> {
        let mut converted = convert::to_anthropic(body, &ctx.media, ctx.forward_image_urls).await?;
        if let Some(obj) = converted.as_object_mut() {
            obj.remove("stream");
            if stream {
                obj.insert("stream".into(), Value::Bool(true));
            }
        }
        send(ctx, json_body(&converted)?).await
    }

    fn completion(answer: Bytes, _body: &Map<String, Value>) -> Result<Bytes, UpstreamError> {
        let completion = response::completion_from_message(&answer, unix_now())?;
        Ok(Bytes::from(completion.to_string()))
    }

    fn chunks(
        events: EventStream,
        _body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        Ok(stream::openai_chunks(events, unix_now()))
    }
}
