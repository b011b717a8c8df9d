//! OpenAI's JSON endpoints beyond chat (`/v1/embeddings`, `/v1/moderations`, `/v1/rerank`, legacy
//! `/v1/completions` plain and streamed), for the channel
//! kinds that speak them:
//! OpenAI-compatible servers at `{base}/v1/<operation>` with a Bearer key, Azure at
//! `{base}/openai/deployments/{deployment}/<operation>?api-version=…` with `api-key`. The body is sent as given
//! (the gateway sets its `model`), the answer is returned as it came once it proves to be a JSON object without an
//! `error`.

use crate::context::UpstreamCtx;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::error_from_body;
use crate::transport::{self, Auth};
use api_types::ChannelKind;
use bytes::Bytes;

/// Largest answer read (embeddings of a big batch are large JSON).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// Whether channels of `kind` can serve `operation` (e.g. `embeddings`).
pub fn supports(kind: ChannelKind, operation: &str) -> bool {
    match operation {
        "embeddings"
        | "moderations"
        | "completions"
        | "images/generations"
        | "images/edits"
        | "images/variations"
        | "audio/speech"
        | "audio/transcriptions"
        | "audio/translations" => {
            matches!(kind, ChannelKind::OpenAi | ChannelKind::Azure)
        }
        // Jina, Cohere-compatible and vLLM servers expose `/v1/rerank`; Azure OpenAI has none. The Responses API
        // is relayed to OpenAI-compatible servers only (Azure's lives under another path).
        "rerank" | "responses" => kind == ChannelKind::OpenAi,
        _ => false,
    }
}

fn azure_url(ctx: &UpstreamCtx, deployment: &str, operation: &str) -> String {
    let version = ctx.api_version.as_deref();
    crate::azure::operation_url(&ctx.base_url, deployment, operation, version)
}

/// POSTs `body` to the channel's `operation` endpoint and returns the answer body.
pub async fn post_json(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<Bytes, UpstreamError> {
    let resp = send(ctx, kind, operation, deployment, body).await?;
    let bytes = transport::read_body(ctx, resp, MAX_ANSWER_BYTES).await?;
    match crate::openai::TopLevel::of(&bytes) {
        Some(crate::openai::TopLevel { error: Some(_), .. }) => Err(error_from_body(502, &bytes)),
        Some(_) => Ok(bytes),
        None => Err(UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("upstream answered /v1/{operation} with something that is not a JSON object"),
        )),
    }
}

/// POSTs a `stream: true` body and returns the streamed events' JSON payloads, ending at `[DONE]` (legacy
/// completions stream like chat).
pub async fn post_stream(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<crate::ChunkStream, UpstreamError> {
    let resp = send(ctx, kind, operation, deployment, body).await?;
    let events = crate::openai::event_stream(ctx, resp).await?;
    Ok(crate::openai::openai_chunks(events))
}

/// POSTs a `stream: true` body and returns its typed SSE events as they come (the Responses API names each
/// event and ends without `[DONE]`).
pub async fn post_events(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<transport::EventStream, UpstreamError> {
    let resp = send(ctx, kind, operation, deployment, body).await?;
    crate::openai::event_stream(ctx, resp).await
}

/// POSTs `body` and returns the answer's content type and its bytes as they arrive (speech audio).
pub async fn post_for_bytes(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<(String, transport::ByteStream), UpstreamError> {
    let resp = send(ctx, kind, operation, deployment, body).await?;
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    Ok((content_type, transport::byte_stream(ctx, resp)))
}

async fn send(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    send_typed(ctx, kind, operation, deployment, "application/json", body).await
}

/// POSTs a body of another type (a `multipart/form-data` upload, re-encoded by the gateway) and returns the
/// answer's content type and body, whatever format was asked (JSON, text, SRT, VTT).
pub async fn post_form(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    content_type: &str,
    body: Bytes,
) -> Result<(String, Bytes), UpstreamError> {
    let resp = send_typed(ctx, kind, operation, deployment, content_type, body).await?;
    let answer_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let bytes = transport::read_body(ctx, resp, MAX_ANSWER_BYTES).await?;
    Ok((answer_type, bytes))
}

async fn send_typed(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
    operation: &str,
    deployment: &str,
    content_type: &str,
    body: Bytes,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    let (url, auth) = match kind {
        ChannelKind::OpenAi => (ctx.url(&format!("/v1/{operation}")), Auth::Bearer),
        ChannelKind::Azure => (
            azure_url(ctx, deployment, operation),
            Auth::Header("api-key"),
        ),
        other => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::InvalidInput,
                format!("channels of kind `{other}` do not serve /v1/{operation}"),
            ));
        }
    };
    let req = transport::post(ctx, &url, auth, content_type, body);
    transport::send_checked(ctx, req, error_from_body).await
}
