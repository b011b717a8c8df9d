//! `POST /v1/responses` for models whose channels have no Responses API (Anthropic, Gemini, Azure deployments):
//! the request is converted to an OpenAI chat object (`request.rs`), relayed through the chat pipeline — so keys,
//! limits, failover, billing and the log row are the chat route's — and the answer converted back: a `response`
//! object (`answer.rs`) or the Responses stream events (`stream.rs`). Models that an OpenAI-compatible channel
//! serves go to `/v1/responses` upstream as they came (`relay::endpoints`).

pub mod answer;
pub mod request;
pub mod stream;

use super::admission::Admitted;
use super::chat::{json_response, sse_response};
use super::in_flight::InFlight;
use super::pipeline::{self, Relayed};
use crate::error::ApiError;
use crate::streaming::encode::ChunkEncoder;
use axum::response::Response;
use serde_json::{Map, Value};
use std::convert::Infallible;
use stream::ResponsesFromChat;

pub async fn via_chat(
    admitted: &Admitted,
    request: Map<String, Value>,
    model: &str,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let chat = request::to_chat(&request)?;
    let echo = answer::Echo::of(&request);
    drop(request);
    let fallback_id = flight.meta().id.trim_start_matches("req_").to_owned();
    let (stream_echo, stream_id, stream_model) =
        (echo.clone(), fallback_id.clone(), model.to_owned());
    let encoder = move |_: &api_types::chat::ChatRequestHead| {
        ChunkEncoder::Converted(Box::new(ResponsesFromChat::new(
            stream_echo,
            stream_id,
            stream_model,
        )))
    };
    let relayed = pipeline::run(
        admitted,
        chat,
        flight,
        encoder,
        pipeline::Original::<Infallible>::Parsed,
    )
    .await?;
    match relayed {
        Relayed::Plain(body) => {
            let response = answer::from_completion(&body, &echo, &fallback_id, model)?;
            Ok(json_response(response.to_string()))
        }
        Relayed::Stream(tap) => Ok(sse_response(axum::body::Body::from_stream(tap))),
        // Responses through chat relays no native protocol (`Infallible`).
        Relayed::Native(never) => match never {},
    }
}
