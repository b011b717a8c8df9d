//! Native Anthropic relay for `/v1/messages` on anthropic channels: the client's own Messages body goes upstream
//! with only `model` rewritten, and the answer comes back untouched (the gateway only reads usage for the bill).
//! The first stream event must be `message_start`, so failures before it can still fail over.

use crate::billing::paid_tools::{self, ToolApi, ToolBill};
use crate::billing::settle::Settlement;
use crate::relay::pipeline::Native;
use crate::streaming::native::{AnthropicEvents, NativeTap, delivered_from_message};
use api_types::ChannelKind;
use bytes::Bytes;
use futures::StreamExt;
use providers::sse::{SseEvent, decode_body};
use providers::transport::EventStream;
use providers::{UpstreamCtx, UpstreamError, UpstreamErrorKind};
use serde_json::{Map, Value};

/// A `/v1/messages` body as the client sent it, and its priced server tools.
pub struct MessagesBody {
    pub body: Map<String, Value>,
    pub tools: ToolBill,
}

/// An anthropic channel's untouched answer.
pub enum RawMessage {
    Plain(Bytes),
    Stream { first: SseEvent, rest: EventStream },
}

/// What `/v1/messages` encodes: the `message` body, or the events relayed as they come.
pub enum NativeMessage {
    Plain(Bytes),
    Stream(Box<NativeTap>),
}

impl Native for MessagesBody {
    type Raw = RawMessage;
    type Relayed = NativeMessage;

    fn tools(&self) -> ToolBill {
        self.tools.clone()
    }

    /// `max_tokens` counts thinking: a budget the limit leaves no answer token for is dropped (Anthropic refuses
    /// one at or above `max_tokens`), and the answer comes without thinking.
    fn limit_output(&mut self, limit: u64) {
        let budget = self
            .body
            .get("thinking")
            .and_then(|t| t.get("budget_tokens"))
            .and_then(Value::as_u64);
        if budget.is_some_and(|b| b >= limit) {
            self.body.remove("thinking");
        }
        self.body
            .insert("max_tokens".to_owned(), Value::from(limit));
    }

    fn serves(&self, kind: ChannelKind) -> bool {
        kind == ChannelKind::Anthropic
    }

    async fn call(
        &self,
        ctx: &UpstreamCtx,
        upstream_model: &str,
        stream: bool,
    ) -> Result<RawMessage, UpstreamError> {
        call(ctx, &self.body, upstream_model, stream).await
    }

    fn relay(raw: RawMessage, settlement: Settlement, ttft_ms: i64) -> NativeMessage {
        match raw {
            RawMessage::Plain(body) => {
                let mut delivered = delivered_from_message(&body, ttft_ms);
                if !settlement.tools.tools.is_empty()
                    && let Ok(message) = serde_json::from_slice::<Value>(&body)
                {
                    delivered.builtin_calls =
                        paid_tools::reported_calls(ToolApi::Messages, &message);
                }
                settlement.finish(delivered);
                NativeMessage::Plain(body)
            }
            RawMessage::Stream { first, rest } => NativeMessage::Stream(Box::new(NativeTap::new(
                AnthropicEvents::default(),
                first,
                rest,
                settlement,
                ttft_ms,
            ))),
        }
    }
}

/// Largest non-streamed answer read into memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

fn protocol(message: &str) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::Protocol, message)
}

async fn call(
    ctx: &UpstreamCtx,
    inbound: &Map<String, Value>,
    upstream_model: &str,
    stream: bool,
) -> Result<RawMessage, UpstreamError> {
    let mut body = inbound.clone();
    body.insert("model".to_owned(), Value::String(upstream_model.to_owned()));
    let bytes =
        serde_json::to_vec(&body).map_err(|e| protocol(&format!("cannot encode request: {e}")))?;
    let resp = providers::anthropic::native::send_native(ctx, Bytes::from(bytes)).await?;
    if !stream {
        let body = providers::openai::read_body(ctx, resp, MAX_RESPONSE_BYTES).await?;
        return match serde_json::from_slice::<Value>(&body) {
            Ok(v) if v.get("type").and_then(Value::as_str) == Some("message") => {
                Ok(RawMessage::Plain(body))
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
                Some("message_start") => Ok(RawMessage::Stream {
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
