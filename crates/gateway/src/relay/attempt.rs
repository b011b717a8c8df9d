//! One chat attempt on one channel (the failover loop is `failover.rs`): rewrite `model` for the channel, then
//! either relay the client's Anthropic body natively (`/v1/messages` on an anthropic channel), forward the client's
//! OpenAI bytes untouched (nothing changed in them), or call the channel's adapter with the chat object. For
//! streams the first event is awaited here, so a stream that fails before sending anything can still fail over;
//! once `Answer::Stream` is returned, the first byte is committed and nothing is retried.

use super::failover::Try;
use super::pipeline::{Native, Original};
use bytes::Bytes;
use futures::StreamExt;
use providers::{ChatProvider, ChunkStream, UpstreamCtx, UpstreamError, UpstreamErrorKind};
use serde_json::{Map, Value};

pub enum Answer<R> {
    Plain(Bytes),
    Stream {
        first: Bytes,
        rest: ChunkStream,
    },
    /// The route's own protocol, relayed untouched (`pipeline::Native::Raw`).
    Native(R),
}

/// Calls `t`'s channel with the chat request `body` (its `model` rewritten to the channel's upstream name).
pub async fn chat<N: Native>(
    t: &Try,
    body: &mut Map<String, Value>,
    stream: bool,
    original: &Original<N>,
    model: &str,
) -> Result<Answer<N::Raw>, UpstreamError> {
    let Some(adapter) = providers::adapter_for(t.channel.channel.kind) else {
        return Err(UpstreamError::new(
            UpstreamErrorKind::InvalidInput,
            "this channel kind has no chat adapter",
        ));
    };
    body.insert("model".to_owned(), Value::String(t.upstream_model.clone()));
    match original {
        Original::Native(native) if native.serves(t.channel.channel.kind) => native
            .call(&t.ctx, &t.upstream_model, stream)
            .await
            .map(Answer::Native),
        // Mapped to another upstream name: the client's bytes name the wrong model.
        Original::OpenAi(verbatim) if t.upstream_model == model => {
            call_adapter(adapter, &t.ctx, body, Some(verbatim.clone()), stream).await
        }
        _ => call_adapter(adapter, &t.ctx, body, None, stream).await,
    }
}

async fn call_adapter<R>(
    adapter: &dyn ChatProvider,
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    verbatim: Option<Bytes>,
    stream: bool,
) -> Result<Answer<R>, UpstreamError> {
    if !stream {
        let answer = match verbatim {
            Some(v) => adapter.chat_verbatim(ctx, body, v).await,
            None => adapter.chat(ctx, body).await,
        };
        return answer.map(Answer::Plain);
    }
    let mut rest = match verbatim {
        Some(v) => adapter.chat_stream_verbatim(ctx, body, v).await?,
        None => adapter.chat_stream(ctx, body).await?,
    };
    match rest.next().await {
        Some(Ok(first)) => check_first_event(&first).map(|()| Answer::Stream { first, rest }),
        Some(Err(e)) => Err(e),
        None => Err(UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}

/// The first event decides whether the stream is committed to the client, so it must be a real chunk: garbage or
/// an upstream error event here is a failure before the first byte, and can still go to another channel.
pub(crate) fn check_first_event(first: &[u8]) -> Result<(), UpstreamError> {
    match providers::openai::TopLevel::of(first) {
        Some(providers::openai::TopLevel { error: Some(_), .. }) => {
            Err(providers::openai::error_from_body(502, first))
        }
        Some(_) => Ok(()),
        _ => Err(UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "upstream sent an event that is not a JSON chunk",
        )),
    }
}
