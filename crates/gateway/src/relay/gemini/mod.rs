//! The Gemini API for Google's clients (`google-genai` and the REST API): `POST …/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse` and `:countTokens`, under `/v1beta` and `/v1` (the SDK's two API versions).
//! Keys come as `x-goog-api-key`, `?key=`, or `Authorization: Bearer`. Errors use Google's shape
//! (`{"error":{"code","message","status"}}`), so the SDK raises its own errors.
//!
//! The body is converted to an OpenAI chat object (`request.rs`, `config.rs`) and relayed through the same pipeline as
//! `/v1/chat/completions` — keys, limits, prices, the hold, failover, settlement and logs are the chat route's. A
//! gemini channel gets the client's own body (`passthrough.rs`); others get the chat object, and their answer is
//! converted back (`answer.rs`, `stream.rs`). `:countTokens` is answered here (`count.rs`), without an upstream.

mod answer;
mod config;
mod count;
mod passthrough;
pub mod request;
mod stream;

use super::admission::{self, Admitted};
use super::chat::{json_response, sse_response};
use super::image_limit;
use super::in_flight::InFlight;
use super::incoming::Incoming;
use super::pipeline::{self, Original, Relayed};
use crate::auth::authenticate::{Caller, authenticate_secret};
use crate::auth::failures::AuthFailureLimiter;
use crate::auth::key_format;
use crate::catalog::Snapshot;
use crate::error::{ApiError, ErrorShape};
use crate::http::body::parse_object;
use crate::streaming::encode::ChunkEncoder;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Uri};
use passthrough::{GenerateBody, NativeGeneration};
use serde::Deserialize;
use std::net::IpAddr;
use stream::GeminiEncoder;

/// The query parameters the Gemini routes read (others, such as `prettyPrint`, are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct GoogleQuery {
    /// The API key, as Google's REST examples pass it.
    pub key: Option<String>,
    /// `sse` for an event stream.
    pub alt: Option<String>,
}

impl GoogleQuery {
    pub fn of(uri: &Uri) -> Result<Self, ApiError> {
        Query::<Self>::try_from_uri(uri)
            .map(|q| q.0)
            .map_err(|e| ApiError::invalid(format!("Bad query string: {e}"), Some("query")))
    }
}

/// Whether a request comes from a Google client: it presents its key as Google's APIs take it.
pub fn speaks_google(headers: &HeaderMap, uri: &Uri) -> bool {
    headers.contains_key("x-goog-api-key") || GoogleQuery::of(uri).is_ok_and(|q| q.key.is_some())
}

/// The caller of a Gemini route: `x-goog-api-key`, else `?key=`, else `Authorization: Bearer` (or `x-api-key`).
pub fn caller(
    query_key: Option<&str>,
) -> impl FnOnce(&AuthFailureLimiter, &Snapshot, &HeaderMap, IpAddr) -> Result<Caller, ApiError> + '_
{
    move |failures, snap, headers, ip| {
        let malformed = |what: &str| ApiError::InvalidKey {
            masked: format!("(malformed {what})"),
        };
        let secret = match (headers.get("x-goog-api-key"), query_key) {
            (Some(v), _) => v
                .to_str()
                .map(|s| Some(s.trim()))
                .map_err(|_| malformed("x-goog-api-key header")),
            (None, Some(k)) => Ok(Some(k.trim())),
            (None, None) => key_format::credential(headers)
                .map_err(|key_format::MalformedAuthorization| malformed("Authorization header")),
        };
        authenticate_secret(failures, snap, secret, ip)
    }
}

/// The error as Google's APIs answer it.
pub fn google_error(e: &ApiError) -> Response {
    e.render(ErrorShape::Google)
}

/// What a `…/models/{target}` POST asks for.
enum Method {
    Generate { stream: bool },
    CountTokens,
}

impl Method {
    /// `{model}:{method}` → the model and the method; an unknown method is 501, a missing one 404.
    fn parse<'a>(target: &'a str, uri: &Uri) -> Result<(&'a str, Method), ApiError> {
        let Some((model, method)) = target.rsplit_once(':') else {
            return Err(ApiError::RouteNotFound {
                method: "POST".to_owned(),
                path: uri.path().to_owned(),
            });
        };
        let model = model.strip_prefix("models/").unwrap_or(model);
        let method = match method {
            "generateContent" => Method::Generate { stream: false },
            "streamGenerateContent" => Method::Generate { stream: true },
            "countTokens" => Method::CountTokens,
            _ => {
                return Err(ApiError::NotImplemented {
                    path: uri.path().to_owned(),
                    api: "Gemini",
                });
            }
        };
        if model.is_empty() {
            return Err(ApiError::invalid("The model name is empty.", Some("model")));
        }
        Ok((model, method))
    }
}

/// `POST /v1beta/models/{model}:{method}` (and `/v1/…`).
pub async fn handle(
    incoming: Incoming,
    Path(target): Path<String>,
    uri: Uri,
    body: Body,
) -> Response {
    let (state, meta, headers) = (&incoming.state, &incoming.meta, &incoming.headers);
    let (query, (model, method)) =
        match GoogleQuery::of(&uri).and_then(|q| Ok((q, Method::parse(&target, &uri)?))) {
            Ok(parsed) => parsed,
            Err(e) => return google_error(&e),
        };
    let check = caller(query.key.as_deref());
    let stream = match method {
        Method::CountTokens => {
            return count::tokens(state, meta, headers, body, check, model).await;
        }
        Method::Generate { stream } => stream,
    };
    if stream && query.alt.as_deref() != Some("sse") {
        let e = ApiError::invalid(
            "streamGenerateContent is served as server-sent events only: add `alt=sse` to the query.",
            Some("alt"),
        );
        return google_error(&e);
    }
    let run = async |flight: &mut InFlight| {
        let (admitted, bytes) =
            admission::authenticate_with(state, meta, headers, body, flight, check).await?;
        generate(admitted, bytes, flight, model, stream).await
    };
    InFlight::serve(state, meta, run, |e| google_error(&e)).await
}

async fn generate(
    admitted: Admitted,
    bytes: Bytes,
    flight: &mut InFlight,
    model: &str,
    stream: bool,
) -> Result<Response, ApiError> {
    let inbound = parse_object(&bytes)?;
    drop(bytes);
    image_limit::check_gemini(&flight.state().settings, &inbound)?;
    let request = request::to_openai(&inbound, model, stream)?;
    let response_id = flight.meta().id.trim_start_matches("req_").to_owned();
    let (encoder_model, encoder_id) = (model.to_owned(), response_id.clone());
    let encoder = move |_: &api_types::chat::ChatRequestHead| {
        ChunkEncoder::Converted(Box::new(GeminiEncoder::new(encoder_model, encoder_id)))
    };
    let original = Original::Native(GenerateBody { body: inbound });
    let relayed = pipeline::run(&admitted, request, flight, encoder, original).await?;
    Ok(match relayed {
        Relayed::Plain(body) => {
            json_response(answer::to_gemini(&body, model, &response_id)?.to_string())
        }
        Relayed::Stream(tap) => sse_response(Body::from_stream(tap)),
        Relayed::Native(NativeGeneration::Plain(body)) => json_response(body),
        Relayed::Native(NativeGeneration::Stream(tap)) => sse_response(Body::from_stream(tap)),
    })
}
