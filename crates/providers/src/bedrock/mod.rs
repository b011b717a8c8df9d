//! Amazon Bedrock upstream (Anthropic models): the OpenAI chat request becomes the Anthropic Messages body the
//! `anthropic` adapter builds, less `model` and `stream` (the model is in the URL, streaming is the endpoint), less
//! `metadata` (Bedrock refuses it), plus `anthropic_version: bedrock-2023-05-31`; it goes to
//! `POST /model/{modelId}/invoke` or `…/invoke-with-response-stream`, SigV4-signed with the channel key
//! `ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION`. The answer is Anthropic's `message`, or an AWS event stream whose chunks
//! carry Anthropic's stream events; both go through the `anthropic` adapter's mappers, so usage, finish reasons and
//! tools read exactly as on an anthropic channel.
//!
//! - `credentials`: the key's three parts; `sigv4`: the signature; `eventstream`: the binary frames;
//!   `errors`: Bedrock's error answers and `exception` frames.
//!
//! The channel's `base_url`, when set, replaces `https://bedrock-runtime.{region}.amazonaws.com`.

pub mod credentials;
pub mod errors;
pub mod eventstream;
pub mod sigv4;

use crate::anthropic::{convert, response, stream};
use crate::client::UpstreamResponse;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::flow::ChatFlow;
use crate::transport::{self, EventStream, json_body};
use crate::{ChunkStream, UpstreamCtx, unix_now};
use api_types::ChannelKind;
use bytes::Bytes;
use credentials::Credentials;
use serde_json::{Map, Value, json};

/// The `anthropic_version` Bedrock takes in the body.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

/// The content type of a Bedrock stream answer.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

pub struct BedrockAdapter;

/// An Anthropic Messages body (as the anthropic adapter built it) made Bedrock's: its `model` taken out and
/// returned, `stream` and `metadata` dropped, `anthropic_version` added.
pub fn bedrock_body(mut anthropic: Value) -> Result<(String, Value), UpstreamError> {
    let Some(obj) = anthropic.as_object_mut() else {
        return Err(UpstreamError::new(
            UpstreamErrorKind::InvalidInput,
            "request body is not an object",
        ));
    };
    let model = match obj.shift_remove("model") {
        Some(Value::String(m)) if !m.is_empty() => m,
        _ => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::InvalidInput,
                "request has no model",
            ));
        }
    };
    obj.shift_remove("stream");
    obj.shift_remove("metadata");
    obj.insert("anthropic_version".into(), json!(ANTHROPIC_VERSION));
    Ok((model, anthropic))
}

/// `/model/{modelId}/invoke[-with-response-stream]`, the model id percent-encoded as one path segment (`:` →
/// `%3A`), as the AWS SDKs send it.
pub fn invoke_path(model: &str, stream: bool) -> String {
    let mut id = String::with_capacity(model.len() + 8);
    for b in model.bytes() {
        if sigv4::is_unreserved(b) {
            id.push(char::from(b));
        } else {
            id.push_str(&format!("%{b:02X}"));
        }
    }
    let suffix = if stream { "-with-response-stream" } else { "" };
    format!("/model/{id}/invoke{suffix}")
}

/// The channel's key as credentials. A malformed one (the admin API refuses them, but a row may predate that) is
/// reported like a rejected key, so it leaves rotation.
fn credentials(ctx: &UpstreamCtx) -> Result<Credentials, UpstreamError> {
    Credentials::parse(&ctx.api_key).map_err(|why| {
        let mut err = UpstreamError::new(
            UpstreamErrorKind::Status(401),
            format!("bedrock key refused: {why}"),
        );
        err.code = Some("invalid_api_key".to_owned());
        err
    })
}

/// `host[:port]` as the client sends it in `Host` (the port only when it is not the scheme's default).
fn host_of(uri: &http::Uri) -> String {
    let host = uri.host().unwrap_or_default();
    let default = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    match uri.port_u16() {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host.to_owned(),
    }
}

/// Signs and sends `body` to the model's invoke endpoint; a non-success status is an error read from Bedrock's
/// answer (its type from `x-amzn-ErrorType`), free of the key and the secret.
async fn send(
    ctx: &UpstreamCtx,
    model: &str,
    body: Bytes,
    stream: bool,
) -> Result<UpstreamResponse, UpstreamError> {
    let creds = credentials(ctx)?;
    let base = match ctx.base_url.trim().trim_end_matches('/') {
        "" => creds.endpoint(),
        set => set.to_owned(),
    };
    let url = format!("{base}{}", invoke_path(model, stream));
    let mut req = ctx
        .client
        .post(&url)
        .header("content-type", "application/json");
    if !stream {
        req = req.header("accept", "application/json");
    }
    let req = transport::with_extra_headers(ctx, req.body(body));
    let host = host_of(req.uri());
    let signable = sigv4::Signable {
        method: "POST",
        host: &host,
        path: req.uri().path(),
        body: req.body_bytes(),
    };
    let signed = sigv4::sign(&creds, signable, chrono::Utc::now());
    let req = signed
        .iter()
        .fold(req, |r, (name, value)| r.header(name, value));
    let resp = transport::transmit(ctx, req).await?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = transport::read_body(ctx, resp, 64 * 1024)
        .await
        .unwrap_or_default();
    let err = errors::error_from_answer(status.as_u16(), error_type.as_deref(), &answer);
    Err(scrubbed(ctx, &creds, err))
}

/// The error without the channel key or its secret part.
fn scrubbed(ctx: &UpstreamCtx, creds: &Credentials, mut err: UpstreamError) -> UpstreamError {
    let text = crate::scrub::secrets(&err.message, Some(&ctx.api_key));
    err.message = crate::scrub::secrets(&text, Some(&creds.secret_access_key));
    err
}

impl ChatFlow for BedrockAdapter {
    const KIND: ChannelKind = ChannelKind::Bedrock;

    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
        errors::error_from_body(status, body)
    }

    async fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<UpstreamResponse, UpstreamError> {
        // Bedrock takes no `url` image sources: images are always inlined.
        let converted = convert::to_anthropic(body, &ctx.media, false).await?;
        let (model, converted) = bedrock_body(converted)?;
        send(ctx, &model, json_body(&converted)?, stream).await
    }

    async fn events(
        ctx: &UpstreamCtx,
        resp: UpstreamResponse,
    ) -> Result<EventStream, UpstreamError> {
        let is_stream = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with(EVENT_STREAM));
        if !is_stream {
            let answer = transport::read_body(ctx, resp, 64 * 1024)
                .await
                .unwrap_or_default();
            let mut err = errors::error_from_body(502, &answer);
            err.kind = UpstreamErrorKind::Protocol;
            err.message = "upstream answered a stream request without an event stream".to_owned();
            return Err(err);
        }
        Ok(eventstream::decode_body(
            resp.bytes_stream(),
            ctx.idle_timeout,
        ))
    }

    fn completion(answer: Bytes, _body: &Map<String, Value>) -> Result<Bytes, UpstreamError> {
        let completion = response::completion_from_message(&answer, unix_now())?;
        Ok(Bytes::from(completion.to_string()))
    }

    fn chunks(
        events: EventStream,
        _body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        Ok(stream::openai_chunks(events, unix_now()))
    }
}

#[cfg(test)]
mod tests;
