//! `POST /v1/messages`: the Anthropic Messages API for Claude clients. The request is converted to an OpenAI chat
//! object, relayed through the same pipeline as `/v1/chat/completions` (so keys, limits, failover, billing and logs
//! are identical), and the answer converted back: a `message` object, or Anthropic stream events. Errors use the
//! Anthropic error shape on this route.

pub mod convert;
pub(crate) mod passthrough;
pub mod stream;

use super::admission::Admitted;
use super::chat::{json_response, sse_response};
use super::in_flight::InFlight;
use super::incoming::Incoming;
use super::pipeline::{self, Relayed};
use crate::billing::paid_tools::{self, ToolApi};
use crate::error::{ApiError, ErrorShape};
use crate::http::body::parse_object;
use crate::streaming::encode::ChunkEncoder;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use stream::AnthropicEncoder;

pub async fn handle(incoming: Incoming, body: Body) -> Response {
    let (state, meta) = (&incoming.state, &incoming.meta);
    InFlight::serve_authenticated(state, meta, &incoming.headers, body, relay, |e| {
        anthropic_error_response(&e)
    })
    .await
}

async fn relay(
    admitted: Admitted,
    bytes: Bytes,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let mut inbound = parse_object(&bytes)?;
    drop(bytes);
    let model = inbound
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // Server tools (web search…) run and bill on Anthropic's side: priced per call or refused.
    let tools = paid_tools::check(ToolApi::Messages, &mut inbound, &admitted.snap)?;
    let request = convert::to_openai(&inbound)?;
    let message_id = format!("msg_{}", &flight.meta().id.trim_start_matches("req_"));
    let encoder_model = model.clone();
    let encoder_id = message_id.clone();
    let encoder = move |_: &api_types::chat::ChatRequestHead| {
        ChunkEncoder::Converted(Box::new(AnthropicEncoder::new(encoder_id, encoder_model)))
    };
    // Anthropic channels get the client's own body (native relay); other kinds get the converted chat request.
    let relayed = pipeline::run(
        &admitted,
        request,
        flight,
        encoder,
        pipeline::Original::Native(passthrough::MessagesBody {
            body: inbound,
            tools,
        }),
    )
    .await?;
    Ok(match relayed {
        Relayed::Plain(body) => {
            let message = convert::to_anthropic_message(&body, &message_id, &model)?;
            json_response(message.to_string())
        }
        Relayed::Stream(tap) => sse_response(Body::from_stream(tap)),
        Relayed::Native(passthrough::NativeMessage::Plain(body)) => json_response(body),
        Relayed::Native(passthrough::NativeMessage::Stream(tap)) => {
            sse_response(Body::from_stream(tap))
        }
    })
}

/// `{"type":"error","error":{"type","message"}}` with the same status the OpenAI routes would use.
pub fn anthropic_error_response(e: &ApiError) -> Response {
    e.render(ErrorShape::Anthropic)
}
