//! Upstream adapters. Each adapter takes an OpenAI-format chat request and gives back an OpenAI-format answer
//! (a complete `chat.completion` body, or a stream of `chat.completion.chunk` payloads), whatever the upstream
//! speaks. Knows nothing of users, keys, money or storage: the gateway hands it an [`UpstreamCtx`] per attempt.

/// `Debug` for a struct that shows only the named fields, as `Type { field: …, .. }`: the others hold secrets, clients
/// or bulk that has no place in a log line.
macro_rules! debug_only {
    ($ty:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod ceilings;
pub mod client;
pub mod context;
pub mod endpoints;
pub mod error;
mod flow;
pub mod gemini;
pub mod media;
pub mod midjourney;
pub mod models;
pub mod openai;
pub mod reasoning;
pub mod scrub;
pub mod sse;
#[cfg(test)]
mod test_support;
pub mod transport;
pub mod vertex;

use api_types::ChannelKind;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use serde_json::{Map, Value};

pub use context::UpstreamCtx;
pub use error::{UpstreamError, UpstreamErrorKind};

/// One streamed event in OpenAI chunk form: the JSON text after `data: `.
pub type ChunkStream = BoxStream<'static, Result<Bytes, UpstreamError>>;

#[async_trait] // dyn-compatible on purpose: one Box per request is noise next to network latency
pub trait ChatProvider: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Non-streaming chat: the whole OpenAI `chat.completion` body.
    async fn chat(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<Bytes, UpstreamError>;

    /// Streaming chat. Resolves once the upstream has answered with a success status (so a failure before the first
    /// byte can still be retried elsewhere); the stream ends after the upstream's `[DONE]`.
    async fn chat_stream(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError>;

    /// `chat` for a request the gateway did not change: `verbatim` is the client's body, byte for byte, and
    /// `body` its parse. An adapter whose upstream speaks OpenAI sends `verbatim` as it is — no re-encoding, which
    /// for a prompt with base64 images is most of the request's CPU; the others convert `body`.
    async fn chat_verbatim(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        verbatim: Bytes,
    ) -> Result<Bytes, UpstreamError> {
        let _ = verbatim;
        self.chat(ctx, body).await
    }

    /// `chat_stream` for a request the gateway did not change (see `chat_verbatim`).
    async fn chat_stream_verbatim(
        &self,
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        verbatim: Bytes,
    ) -> Result<ChunkStream, UpstreamError> {
        let _ = verbatim;
        self.chat_stream(ctx, body).await
    }
}

static OPENAI: openai::OpenAiAdapter = openai::OpenAiAdapter;
static ANTHROPIC: anthropic::AnthropicAdapter = anthropic::AnthropicAdapter;
static GEMINI: gemini::GeminiAdapter = gemini::GeminiAdapter;
static AZURE: azure::AzureAdapter = azure::AzureAdapter;
static VERTEX: vertex::VertexAdapter = vertex::VertexAdapter;
static BEDROCK: bedrock::BedrockAdapter = bedrock::BedrockAdapter;

/// Seconds since the Unix epoch (0 on a clock before it): the `created` of the answers the adapters build, and the
/// times in Vertex's token assertions.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The one place that maps a channel kind to its adapter. `None`: the kind has no chat adapter (yet).
pub fn adapter_for(kind: ChannelKind) -> Option<&'static dyn ChatProvider> {
    match kind {
        ChannelKind::OpenAi => Some(&OPENAI),
        ChannelKind::Anthropic => Some(&ANTHROPIC),
        ChannelKind::Gemini => Some(&GEMINI),
        ChannelKind::Azure => Some(&AZURE),
        ChannelKind::Vertex => Some(&VERTEX),
        ChannelKind::Bedrock => Some(&BEDROCK),
        ChannelKind::Midjourney => None,
    }
}
