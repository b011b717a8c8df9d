//! How a relayed stream is written for its client. The tap works on OpenAI chunks; the encoder turns each into the
//! bytes this client expects: OpenAI SSE frames (`data: …` and `data: [DONE]`), or Anthropic Messages events for
//! clients of `/v1/messages`, or Responses API events for `/v1/responses` served through chat.

use crate::error::ApiError;
use crate::relay::messages::stream::AnthropicEvents;
use crate::relay::responses::stream::ResponsesFromChat;
use bytes::Bytes;

pub enum ChunkEncoder {
    /// OpenAI SSE. `include_usage`: the client asked for the final usage chunk.
    OpenAi { include_usage: bool },
    /// Anthropic `event:`/`data:` pairs, built from the OpenAI chunks.
    Anthropic(Box<AnthropicEvents>),
    /// Responses API events (`response.created` … `response.completed`), built from the OpenAI chunks.
    Responses(Box<ResponsesFromChat>),
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
            Self::Anthropic(_) | Self::Responses(_) => true,
        }
    }

    /// One upstream chunk (OpenAI JSON) → bytes for the client (possibly none).
    pub fn encode(&mut self, payload: &[u8]) -> Bytes {
        match self {
            Self::OpenAi { .. } => frame(payload),
            Self::Anthropic(events) => events.on_chunk(payload),
            Self::Responses(events) => events.on_chunk(payload),
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
            Self::Anthropic(events) => events.error("api_error", &message()),
            Self::Responses(events) => events.error(Some("upstream_error"), &message()),
        }
    }

    /// A failure after the first byte, as the client's error event.
    pub fn error(&mut self, err: &ApiError) -> Bytes {
        match self {
            Self::OpenAi { .. } => frame(&err.body().to_json_bytes()),
            Self::Anthropic(events) => events.error(err.anthropic_type(), &err.to_string()),
            Self::Responses(events) => {
                let body = err.body().error;
                events.error(body.code.as_deref(), &body.message)
            }
        }
    }

    /// The end of a successful stream.
    pub fn done(&mut self) -> Bytes {
        match self {
            Self::OpenAi { .. } => Bytes::from_static(b"data: [DONE]\n\n"),
            Self::Anthropic(events) => events.finish(),
            Self::Responses(events) => events.finish(),
        }
    }
}
