//! Native Anthropic relay for `/v1/messages` on anthropic channels: the client's own Messages body goes upstream
//! with only `model` rewritten, and the answer comes back untouched (the gateway only reads usage for the bill).
//! The first stream event must be `message_start`, so failures before it can still fail over.

use crate::relay::attempt::Answer;
use bytes::Bytes;
use futures::StreamExt;
use providers::sse::decode_body;
use providers::{UpstreamCtx, UpstreamError, UpstreamErrorKind};
use serde_json::{Map, Value};

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

fn protocol(message: &str) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::Protocol, message)
}

pub async fn call(
    ctx: &UpstreamCtx,
    inbound: &Map<String, Value>,
    upstream_model: &str,
    stream: bool,
) -> Result<Answer, UpstreamError> {
    let mut body = inbound.clone();
    body.insert("model".to_owned(), Value::String(upstream_model.to_owned()));
    let bytes =
        serde_json::to_vec(&body).map_err(|e| protocol(&format!("cannot encode request: {e}")))?;
    let resp = providers::anthropic::native::send_native(ctx, Bytes::from(bytes)).await?;
    if !stream {
        let body = providers::openai::read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        return match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.get("type").and_then(Value::as_str) == Some("message") => {
                Ok(Answer::NativePlain(body))
            }
            _ => Err(protocol(
                "upstream answered 200 with a body that is not an Anthropic message",
            )),
        };
    }
    let mut events = decode_body(resp.bytes_stream(), ctx.idle_timeout);
    match events.next().await {
        Some(Ok(first)) => {
            let kind = serde_json::from_slice::<Value>(&first.data)
                .ok()
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
            match kind.as_deref() {
                Some("message_start") => Ok(Answer::NativeStream {
                    first,
                    rest: events,
                }),
                Some("error") => Err(native_error(&first.data)),
                _ => Err(protocol("upstream stream did not start with message_start")),
            }
        }
        Some(Err(e)) => Err(e),
        None => Err(protocol("upstream sent an empty stream")),
    }
}

/// An Anthropic `error` event before anything was sent: retryable like a 5xx (overloaded, api_error).
fn native_error(data: &[u8]) -> UpstreamError {
    let v: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
    let kind = v
        .pointer("/error/type")
        .and_then(Value::as_str)
        .unwrap_or("api_error");
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("upstream error");
    let status = if kind == "overloaded_error" { 529 } else { 502 };
    let mut e = UpstreamError::new(
        UpstreamErrorKind::Status(status),
        format!("upstream error event: {message}"),
    );
    e.error_type = Some(kind.to_owned());
    e
}
