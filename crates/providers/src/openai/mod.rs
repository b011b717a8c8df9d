//! OpenAI-compatible upstreams (OpenAI, DeepSeek, vLLM, Ollama, OpenRouter…): the request body is already OpenAI
//! chat, so this adapter only adds the URL and `Authorization`, and checks that what comes back is the protocol.

mod convert;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::transport::{self, Auth, json_body};
use crate::{ChatProvider, ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};

pub use convert::{error_from_body, openai_chunks};

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

pub struct OpenAiAdapter;

impl OpenAiAdapter {
    async fn send_bytes(
        &self,
        ctx: &UpstreamCtx,
        bytes: Bytes,
    ) -> Result<crate::client::UpstreamResponse, UpstreamError> {
        let url = ctx.url("/v1/chat/completions");
        send_with_timeouts(ctx, transport::post_json(ctx, &url, Auth::Bearer, bytes)).await
    }
}

/// Sends and waits for the response head within the first-byte timeout; a non-success status becomes an error
/// carrying the upstream's own (OpenAI-shaped) message.
pub async fn send_with_timeouts(
    ctx: &UpstreamCtx,
    req: crate::client::UpstreamRequest,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    crate::transport::send_checked(ctx, req, error_from_body).await
}

pub use crate::transport::read_body;

#[async_trait]
impl ChatProvider for OpenAiAdapter {
    fn kind(&self) -> ChannelKind {
        ChannelKind::OpenAi
    }

    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError> {
        self.chat_verbatim(ctx, body, json_body(body)?).await
    }

    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        self.chat_stream_verbatim(ctx, body, json_body(body)?).await
    }

    async fn chat_verbatim(
        &self,
        ctx: &UpstreamCtx,
        _body: &Map<String, Value>,
        verbatim: Bytes,
    ) -> Result<Bytes, UpstreamError> {
        let resp = self.send_bytes(ctx, verbatim).await?;
        completion_body(ctx, resp).await
    }

    async fn chat_stream_verbatim(
        &self,
        ctx: &UpstreamCtx,
        _body: &Map<String, Value>,
        verbatim: Bytes,
    ) -> Result<ChunkStream, UpstreamError> {
        let resp = self.send_bytes(ctx, verbatim).await?;
        Ok(convert::openai_chunks(event_stream(ctx, resp).await?))
    }
}

/// A successful non-stream answer that must be a `chat.completion` (an error object or anything else is not).
pub async fn completion_body(
    ctx: &UpstreamCtx,
    resp: crate::client::UpstreamResponse,
) -> Result<Bytes, UpstreamError> {
    checked_completion(read_body(ctx, resp, MAX_RESPONSE_BYTES).await?)
}

/// `bytes` when they are a `chat.completion` (an error object or anything else is not).
pub fn checked_completion(bytes: Bytes) -> Result<Bytes, UpstreamError> {
    match TopLevel::of(&bytes) {
        Some(TopLevel {
            choices: Some(_), ..
        }) => Ok(bytes),
        Some(TopLevel { error: Some(_), .. }) => Err(error_from_body(502, &bytes)),
        _ => Err(UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "upstream answered 200 with a body that is not a chat completion",
        )),
    }
}

/// Which of the keys that tell a completion from an error a JSON object has. Checked without building a tree:
/// `IgnoredAny` validates the JSON and allocates nothing.
#[derive(serde::Deserialize)]
pub struct TopLevel {
    #[serde(default)]
    pub choices: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub error: Option<serde::de::IgnoredAny>,
}

impl TopLevel {
    /// `None` unless `bytes` is one JSON object (a derived struct would also accept an array).
    pub fn of(bytes: &[u8]) -> Option<TopLevel> {
        let starts_as_object = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{');
        if !starts_as_object {
            return None;
        }
        serde_json::from_slice(bytes).ok()
    }
}

/// A successful stream answer decoded into SSE events (OpenAI-shaped error bodies).
pub async fn event_stream(
    ctx: &UpstreamCtx,
    resp: crate::client::UpstreamResponse,
) -> Result<crate::transport::EventStream, UpstreamError> {
    crate::transport::event_stream(ctx, resp, error_from_body).await
}
