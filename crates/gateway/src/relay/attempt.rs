//! The failover loop: pick a channel not yet tried by this request, call it, and on a retryable failure (connect
//! error, timeout before the first byte, 408/429/5xx, a rejected upstream key) move on, up to `--max-retries`
//! further channels. For streams the first event is awaited here, so a stream that fails before sending anything
//! is retried too; once `Answer::Stream` is returned, the first byte is committed and nothing is retried.

use super::pipeline::Original;
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::routing::{health, probe, selector};
use crate::state::AppState;
use bytes::Bytes;
use futures::StreamExt;
use providers::sse::SseEvent;
use providers::{
    ChatProvider, ChunkStream, ProviderKind, UpstreamCtx, UpstreamError, UpstreamErrorKind,
};

/// Raw upstream SSE events.
pub type EventStream = futures::stream::BoxStream<'static, Result<SseEvent, UpstreamError>>;
use serde_json::{Map, Value};
use std::sync::Arc;

pub enum Answer {
    Plain(Bytes),
    Stream {
        first: Bytes,
        rest: ChunkStream,
    },
    /// An Anthropic `message`, relayed natively (only `/v1/messages` to an anthropic channel).
    NativePlain(Bytes),
    /// Anthropic stream events, relayed natively.
    NativeStream {
        first: SseEvent,
        rest: EventStream,
    },
}

pub struct Served {
    pub channel: Arc<ChannelEntry>,
    pub upstream_model: String,
    pub retries: u32,
    pub answer: Answer,
}

pub struct Failed {
    pub error: ApiError,
    pub retries: u32,
    pub channel_id: Option<i64>,
}

pub async fn call(
    state: &AppState,
    snap: &Snapshot,
    model: &str,
    group: &str,
    body: &mut Map<String, Value>,
    stream: bool,
    original: &Original<'_>,
) -> Result<Served, Failed> {
    let max_attempts = state.settings.max_retries.saturating_add(1);
    let mut tried: Vec<i64> = Vec::new();
    let mut last: Option<(UpstreamError, i64)> = None;
    // Images are fetched once per request, not once per attempt.
    let media = providers::media::MediaCache::new(state.media.clone());
    while u32::try_from(tried.len()).unwrap_or(u32::MAX) < max_attempts {
        let Some(channel) = selector::select(snap, model, group, &tried) else {
            break;
        };
        tried.push(channel.channel.id);
        let (Some(key), Some(adapter)) = (channel.pick_key(), providers::adapter_for(channel.kind))
        else {
            continue;
        };
        let upstream_model = channel.upstream_model(model).to_owned();
        body.insert("model".to_owned(), Value::String(upstream_model.clone()));
        let ctx = UpstreamCtx {
            media: media.clone(),
            ..probe::upstream_ctx(state, &channel, key)
        };
        let result = match (original, channel.kind) {
            (Original::Anthropic(native_body), ProviderKind::Anthropic) => {
                super::native::call(&ctx, native_body, &upstream_model, stream).await
            }
            // Mapped to another upstream name: the client's bytes name the wrong model.
            (Original::OpenAi(verbatim), _) if upstream_model == model => {
                call_adapter(adapter, &ctx, body, Some(verbatim.clone()), stream).await
            }
            _ => call_adapter(adapter, &ctx, body, None, stream).await,
        };
        let retries = u32::try_from(tried.len() - 1).unwrap_or(u32::MAX);
        match result {
            Ok(answer) => {
                return Ok(Served {
                    channel,
                    upstream_model,
                    retries,
                    answer,
                });
            }
            Err(e) => {
                tracing::warn!(channel = %channel.channel.name, error = %e, "upstream attempt failed");
                health::report_failure(state, &channel, key.id, &e);
                let retry =
                    e.is_retryable() || matches!(e.kind, UpstreamErrorKind::Protocol if stream);
                let id = channel.channel.id;
                if !retry {
                    return Err(Failed {
                        error: ApiError::Upstream(e),
                        retries,
                        channel_id: Some(id),
                    });
                }
                last = Some((e, id));
            }
        }
    }
    let retries = u32::try_from(tried.len().saturating_sub(1)).unwrap_or(u32::MAX);
    Err(match last {
        Some((e, id)) => Failed {
            error: ApiError::Upstream(e),
            retries,
            channel_id: Some(id),
        },
        None => Failed {
            error: ApiError::NoChannel {
                model: model.to_owned(),
            },
            retries,
            channel_id: None,
        },
    })
}

async fn call_adapter(
    adapter: &dyn ChatProvider,
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    verbatim: Option<Bytes>,
    stream: bool,
) -> Result<Answer, UpstreamError> {
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
