//! The chat flow of the adapters that do not relay the client's bytes as they are (Anthropic, Bedrock, Gemini,
//! Azure): the
//! OpenAI request (converted as the upstream needs it) sent, a whole answer read and made an OpenAI
//! `chat.completion`, a stream's events made `chat.completion.chunk` payloads. An adapter says how to do each step
//! ([`ChatFlow`]); [`ChatProvider`] follows from it.

use crate::error::UpstreamError;
use crate::transport::{self, EventStream};
use crate::{ChatProvider, ChunkStream, UpstreamCtx};
use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::future::Future;

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The steps of an adapter.
pub(crate) trait ChatFlow: Send + Sync {
    /// The channel kind it serves.
    const KIND: ChannelKind;

    /// Reads the upstream's error body (any status).
    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError;

    /// Sends the request (converted), as a stream request when `stream`; a non-success status is an error.
    fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        stream: bool,
    ) -> impl Future<Output = Result<crate::client::UpstreamResponse, UpstreamError>> + Send;

    /// A successful stream answer's events (SSE, unless the upstream frames its stream otherwise).
    fn events(
        ctx: &UpstreamCtx,
        resp: crate::client::UpstreamResponse,
    ) -> impl Future<Output = Result<EventStream, UpstreamError>> + Send {
        transport::event_stream(ctx, resp, Self::error_from_body)
    }

    /// A whole successful answer as an OpenAI `chat.completion` body (`body` is the request).
    fn completion(answer: Bytes, body: &Map<String, Value>) -> Result<Bytes, UpstreamError>;

    /// A successful stream's events as OpenAI chunk payloads (`body` is the request).
    fn chunks(events: EventStream, body: &Map<String, Value>)
    -> Result<ChunkStream, UpstreamError>;
}

#[async_trait]
impl<T: ChatFlow> ChatProvider for T {
    fn kind(&self) -> ChannelKind {
        T::KIND
    }

    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError> {
        let resp = T::send(ctx, body, false).await?;
        let answer = transport::read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        T::completion(answer, body)
    }

    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        let resp = T::send(ctx, body, true).await?;
        T::chunks(T::events(ctx, resp).await?, body)
    }
}
