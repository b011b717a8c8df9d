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

/// The first item of an opened stream; an empty stream is a protocol failure.
async fn first_item<T, S>(rest: &mut S) -> Result<T, providers::UpstreamError>
where
    S: futures::Stream<Item = Result<T, providers::UpstreamError>> + Unpin,
{
    rest.next().await.unwrap_or_else(|| {
        Err(providers::UpstreamError::new(
            providers::UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        ))
    })
}

/// Waits for the first event of an opened typed event stream; an `error` event there is a failure before the
/// first byte (another channel may still serve).
pub(super) async fn open_events(
    mut rest: providers::transport::EventStream,
) -> Result<Answer, providers::UpstreamError> {
    let first = first_item(&mut rest).await?;
    if first.event.as_deref() == Some("error") {
        return Err(providers::openai::error_from_body(502, &first.data));
    }
    Ok(Answer::Events { first, rest })
}

/// Waits for the first chunk of an opened stream, so a stream that fails before sending anything can still go
/// to another channel (as for chat).
pub(super) async fn open_stream(
    mut rest: providers::ChunkStream,
) -> Result<Answer, providers::UpstreamError> {
    let first = first_item(&mut rest).await?;
    crate::relay::attempt::check_first_event(&first)?;
    Ok(Answer::Stream { first, rest })
}
