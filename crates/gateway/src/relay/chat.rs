//! `POST /v1/chat/completions`: the OpenAI route. The pipeline's answer is already OpenAI, so a plain body is sent
//! as it came and a stream is framed as OpenAI SSE.

use super::admission::Admitted;
use super::in_flight::InFlight;
use super::pipeline::{self, Relayed};
use crate::error::ApiError;
use crate::http::body::parse_object_noting_repeats;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use crate::streaming::encode::ChunkEncoder;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use std::convert::Infallible;

pub async fn handle(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    InFlight::serve_authenticated(
        &state,
        &meta,
        &headers,
        body,
        relay,
        ApiError::into_response,
    )
    .await
}

async fn relay(
    admitted: Admitted,
    bytes: Bytes,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let (request, repeated) = parse_object_noting_repeats(&bytes)?;
    // A repeated name: we bill the last `"model"`, an upstream parser might read the first and serve another
    // model, so such bytes are never forwarded as they came.
    let original = if repeated {
        pipeline::Original::<Infallible>::Parsed
    } else {
        pipeline::Original::OpenAi(bytes)
    };
    let encoder = |head: &api_types::chat::ChatRequestHead| ChunkEncoder::OpenAi {
        include_usage: head.include_usage,
    };
    let relayed = pipeline::run(&admitted, request, flight, encoder, original).await?;
    Ok(match relayed {
        Relayed::Plain(body) => json_response(body),
        Relayed::Stream(tap) => sse_response(Body::from_stream(tap)),
        // Chat relays no native protocol (`Infallible`): there is no native answer to handle.
        Relayed::Native(never) => match never {},
    })
}

/// An `application/json` response.
pub fn json_response(body: impl Into<Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

/// A `text/event-stream` response that proxies and browsers do not buffer.
pub fn sse_response(body: Body) -> Response {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}
