//! Opening the upstream answer of an operation: a whole body, a chunk stream (legacy completions), typed events
//! (the Responses API) or raw bytes (speech). Streams wait for their first event here, so a stream that fails
//! before sending anything can still go to another channel.

use bytes::Bytes;
use futures::StreamExt;
use providers::sse::SseEvent;

/// A served answer: a whole body, or a stream whose first chunk arrived (the point of no retry).
pub(super) enum Answer {
    Plain(Bytes),
    Stream {
        first: Bytes,
        rest: providers::ChunkStream,
    },
    /// A whole answer in the format the client asked for (transcriptions: JSON, text, SRT, VTT).
    Typed {
        content_type: String,
        body: Bytes,
    },
    /// Raw bytes (speech audio) and their content type.
    Bytes {
        content_type: String,
        bytes: providers::transport::ByteStream,
    },
    /// Typed events (the Responses API), relayed with their names.
    Events {
        first: SseEvent,
        rest: providers::transport::EventStream,
    },
}

/// Opens a typed event stream and waits for its first event; an `error` event there is a failure before the
/// first byte (another channel may still serve).
pub(super) async fn open_events(
    ctx: &providers::UpstreamCtx,
    kind: api_types::ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<Answer, providers::UpstreamError> {
    let mut rest =
        providers::endpoints::post_events(ctx, kind, operation, deployment, body).await?;
    match rest.next().await {
        Some(Ok(first)) if first.event.as_deref() == Some("error") => {
            Err(providers::openai::error_from_body(502, &first.data))
        }
        Some(Ok(first)) => Ok(Answer::Events { first, rest }),
        Some(Err(e)) => Err(e),
        None => Err(providers::UpstreamError::new(
            providers::UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}

/// Opens a stream and waits for its first chunk, so a stream that fails before sending anything can still go to
/// another channel (as for chat).
pub(super) async fn open_stream(
    ctx: &providers::UpstreamCtx,
    kind: api_types::ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<Answer, providers::UpstreamError> {
    let mut rest =
        providers::endpoints::post_stream(ctx, kind, operation, deployment, body).await?;
    match rest.next().await {
        Some(Ok(first)) => {
            crate::relay::attempt::check_first_event(&first)?;
            Ok(Answer::Stream { first, rest })
        }
        Some(Err(e)) => Err(e),
        None => Err(providers::UpstreamError::new(
            providers::UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}
