//! Azure stream events → OpenAI chunk payloads: OpenAI's own chunks, minus the content-filter chunks Azure adds
//! (`choices: []` and no usage, e.g. the leading `prompt_filter_results` chunk), which would confuse clients that
//! read `choices[0]`. Ends at `[DONE]`; a body that ends before it is a broken stream.

use crate::ChunkStream;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::SseEvent;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    usage: Option<IgnoredAny>,
}

/// A chunk with an empty `choices` and no `usage`: Azure's filter metadata, nothing for the client.
pub fn is_filter_only(data: &[u8]) -> bool {
    serde_json::from_slice::<Peek>(data)
        .is_ok_and(|p| p.usage.is_none() && p.choices.is_some_and(|c| c.is_empty()))
}

/// Upstream SSE events → OpenAI chunk payloads (filter-only chunks dropped); ends at `[DONE]`.
pub fn azure_chunks(events: BoxStream<'static, Result<SseEvent, UpstreamError>>) -> ChunkStream {
    futures::stream::unfold((events, false), |(mut events, finished)| async move {
        if finished {
            return None;
        }
        loop {
            match events.next().await {
                Some(Ok(ev)) if &ev.data[..] == b"[DONE]" => return None,
                Some(Ok(ev)) if is_filter_only(&ev.data) => {}
                Some(Ok(ev)) => {
                    return Some((Ok::<Bytes, UpstreamError>(ev.data), (events, false)));
                }
                Some(Err(e)) => return Some((Err(e), (events, true))),
                None => {
                    let e = UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream closed the stream before [DONE]",
                    );
                    return Some((Err(e), (events, true)));
                }
            }
        }
    })
    .boxed()
}
