//! How a relayed stream is written for its client. The tap works on OpenAI chunks; the encoder turns each into the
//! bytes this client expects: OpenAI SSE frames (`data: …` and `data: [DONE]`), or Anthropic Messages events for
//! clients of `/v1/messages`, or Responses API events for `/v1/responses` served through chat.

use crate::error::ApiError;
use bytes::Bytes;

pub enum ChunkEncoder {
    /// OpenAI SSE. `include_usage`: the client asked for the final usage chunk.
    OpenAi { include_usage: bool },
    /// Another API's events built from the OpenAI chunks (Anthropic Messages, Responses), by its route.
    Converted(Box<dyn ChunkEvents>),
}

/// A client API whose stream events are built from OpenAI chunks. Implemented where that API is converted
/// (`relay::messages`, `relay::responses`), so this module needs nothing of theirs.
pub trait ChunkEvents: Send {
    /// One OpenAI chunk (usage-only chunks included) → this API's events (possibly none).
    fn on_chunk(&mut self, chunk: &[u8]) -> Bytes;
    /// The upstream sent an error event after the stream started; `message` is its (scrubbed) text.
    fn upstream_error(&mut self, message: &str) -> Bytes;
    /// A failure after the first byte.
    fn error(&mut self, err: &ApiError) -> Bytes;
    /// The end of a successful stream.
    fn finish(&mut self) -> Bytes;
}

/// An OpenAI `data:` frame.
pub fn frame(payload: &[u8]) -> Bytes {
    super::sse::frame(None, payload)
}

impl ChunkEncoder {
    /// Whether the usage-only chunk must reach `encode` (Anthropic needs it for `message_delta`).
    pub fn wants_usage(&self) -> bool {
        match self {
            Self::OpenAi { include_usage } => *include_usage,
            Self::Converted(_) => true,
        }
    }

    /// One upstream chunk (OpenAI JSON) → bytes for the client (possibly none).
    pub fn encode(&mut self, payload: &[u8]) -> Bytes {
        match self {
            Self::OpenAi { .. } => frame(payload),
            Self::Converted(events) => events.on_chunk(payload),
        }
    }

    /// The upstream sent an error event (OpenAI error JSON) after the stream started.
    pub fn upstream_error(&mut self, payload: &[u8]) -> Bytes {
        // Whatever the upstream echoed of a credential never reaches the client.
        let scrubbed = providers::scrub::secrets(&String::from_utf8_lossy(payload), None);
        let message = || {
            serde_json::from_str::<serde_json::Value>(&scrubbed)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "upstream error".to_owned())
        };
        match self {
            Self::OpenAi { .. } => frame(scrubbed.as_bytes()),
            Self::Converted(events) => events.upstream_error(&message()),
        }
    }

    /// A failure after the first byte, as the client's error event.
    pub fn error(&mut self, err: &ApiError) -> Bytes {
        match self {
            Self::OpenAi { .. } => frame(&err.body().to_json_bytes()),
            Self::Converted(events) => events.error(err),
        }
    }

    /// The end of a successful stream.
    pub fn done(&mut self) -> Bytes {
        match self {
            Self::OpenAi { .. } => Bytes::from_static(b"data: [DONE]\n\n"),
            Self::Converted(events) => events.finish(),
        }
    }
}
