//! Native relay for the gateway's inbound Gemini routes (`…/models/{model}:generateContent`): the client's own
//! `generateContent` body goes to a gemini channel untouched (the model is in the URL), with the adapter's URL,
//! key header, timeouts and error mapping. Only the usage is read here, for the bill.

use super::endpoint_url;
use super::response::{error_from_body, parse_response};
use super::wire::UsageMetadata;
use crate::UpstreamCtx;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::SseEvent;
use crate::transport::{self, Auth, EventStream};
use api_types::Usage;
use api_types::usage::PromptTokensDetails;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A gemini channel's untouched answer.
pub enum NativeAnswer {
    /// A whole `GenerateContentResponse`.
    Plain(Bytes),
    /// `alt=sse` events: the first (checked to be a response, not an error) and the rest.
    Stream { first: SseEvent, rest: EventStream },
}

/// POSTs the client's `body` for `model` (the channel's name for it). A success that is not a Gemini response, or a
/// stream whose first event is an error, fails here, before anything reaches the client, so failover can go on.
pub async fn send_native(
    ctx: &UpstreamCtx,
    model: &str,
    body: Bytes,
    stream: bool,
) -> Result<NativeAnswer, UpstreamError> {
    let model = crate::reasoning::plan(&serde_json::Map::new(), model).0;
    let url = endpoint_url(&ctx.base_url, model, stream);
    let req = transport::post_json(ctx, &url, Auth::Header("x-goog-api-key"), body);
    let resp = transport::send_checked(ctx, req, error_from_body).await?;
    let not_a_response = "upstream answered 200 with a body that is not a Gemini response";
    if !stream {
        let body = transport::read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        parse_response(&body, not_a_response)?;
        return Ok(NativeAnswer::Plain(body));
    }
    let mut events = transport::event_stream(ctx, resp, error_from_body).await?;
    match events.next().await {
        Some(Ok(first)) => {
            parse_response(&first.data, not_a_response)?;
            Ok(NativeAnswer::Stream {
                first,
                rest: events,
            })
        }
        Some(Err(e)) => Err(e),
        None => Err(UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}

/// The `usageMetadata` of a response (or stream chunk) `v`, as OpenAI usage: thinking tokens are output, cached
/// tokens part of the prompt (as in [`super::response::usage`]).
pub fn usage(v: &Value) -> Option<Usage> {
    let meta: UsageMetadata = serde_json::from_value(v.get("usageMetadata")?.clone()).ok()?;
    let completion = meta.candidates_token_count + meta.thoughts_token_count.unwrap_or(0);
    Some(Usage {
        prompt_tokens: meta.prompt_token_count,
        completion_tokens: completion,
        total_tokens: meta.prompt_token_count + completion,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: meta.cached_content_token_count,
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: None,
    })
}
