//! Google Vertex AI (`vertex` channels). A key is a service-account JSON (`auth.rs`: the JWT-bearer token exchange,
//! tokens cached per account); the channel's `region` picks the location (default `us-central1`) and its
//! `base_url`, when set, replaces `https://{region}-aiplatform.googleapis.com`. Two publishers behind one kind,
//! chosen by the upstream model's name:
//! - `claude*`: Anthropic Messages through `…/publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict`),
//!   the body the anthropic adapter builds without `model`, with `anthropic_version: "vertex-2023-10-16"`; the answer
//!   and its events are Anthropic's, read by the anthropic adapter's functions;
//! - any other: Gemini through `…/publishers/google/models/{model}:generateContent` (`:streamGenerateContent?alt=sse`),
//!   built and read by the gemini adapter's functions.
//!
//! This folder adds only the URL, the token and the choice of publisher; the translations are the other adapters'.

mod auth;
#[cfg(test)]
mod tests;

pub use auth::ServiceAccount;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::flow::ChatFlow;
use crate::transport::{self, EventStream, json_body};
use crate::{ChunkStream, UpstreamCtx, anthropic, gemini, unix_now};
use api_types::ChannelKind;
use bytes::Bytes;
use serde_json::{Map, Value};

/// Vertex's Anthropic API version, sent in the body.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";
/// The location when the channel names none.
pub const DEFAULT_REGION: &str = "us-central1";

pub struct VertexAdapter;

/// Who publishes a model on Vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    Anthropic,
    Google,
}

impl Publisher {
    /// Claude models are Anthropic's; every other model is taken as Google's.
    pub fn of(model: &str) -> Publisher {
        if model.starts_with("claude") {
            Publisher::Anthropic
        } else {
            Publisher::Google
        }
    }
}

/// `{host}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}`.
pub fn endpoint_url(
    base_url: &str,
    region: Option<&str>,
    project: &str,
    model: &str,
    stream: bool,
) -> String {
    let region = region.filter(|r| !r.is_empty()).unwrap_or(DEFAULT_REGION);
    let host = match base_url.trim_end_matches('/') {
        "" if region == "global" => "https://aiplatform.googleapis.com".to_owned(),
        "" => format!("https://{region}-aiplatform.googleapis.com"),
        base => base.to_owned(),
    };
    let (publisher, method) = match (Publisher::of(model), stream) {
        (Publisher::Anthropic, false) => ("anthropic", "rawPredict"),
        (Publisher::Anthropic, true) => ("anthropic", "streamRawPredict"),
        (Publisher::Google, false) => ("google", "generateContent"),
        (Publisher::Google, true) => ("google", "streamGenerateContent?alt=sse"),
    };
    format!(
        "{host}/v1/projects/{project}/locations/{region}/publishers/{publisher}/models/{model}:{method}"
    )
}

/// The body's model as Vertex names it (new-api's thinking suffix removed: `providers::reasoning`).
fn upstream_model(body: &Map<String, Value>) -> Result<&str, UpstreamError> {
    Ok(crate::reasoning::plan(body, transport::body_model(body)?).0)
}

/// The publisher's body for a chat request.
async fn publisher_body(
    ctx: &UpstreamCtx,
    body: &Map<String, Value>,
    publisher: Publisher,
    stream: bool,
) -> Result<Bytes, UpstreamError> {
    match publisher {
        Publisher::Anthropic => {
            let mut converted =
                anthropic::convert::to_anthropic(body, &ctx.media, ctx.forward_image_urls).await?;
            if let Some(obj) = converted.as_object_mut() {
                obj.remove("model");
                obj.remove("stream");
                obj.insert("anthropic_version".into(), Value::from(ANTHROPIC_VERSION));
                if stream {
                    obj.insert("stream".into(), Value::Bool(true));
                }
            }
            json_body(&converted)
        }
        Publisher::Google => json_body(&gemini::build_request(body, &ctx.media).await?),
    }
}

impl ChatFlow for VertexAdapter {
    const KIND: ChannelKind = ChannelKind::Vertex;

    /// Google's `{"error":{"code","status"}}` (auth, quota, routing), else the Anthropic publisher's own body.
    fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
        let google = serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|v| v.pointer("/error/status").is_some());
        if google {
            gemini::error_from_body(status, body)
        } else {
            anthropic::response::error_from_body(status, body)
        }
    }

    async fn send(
        ctx: &UpstreamCtx,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<crate::client::UpstreamResponse, UpstreamError> {
        let account = ServiceAccount::read(&ctx.api_key).map_err(|why| {
            let mut e = UpstreamError::new(UpstreamErrorKind::Status(401), why);
            e.code = Some("invalid_api_key".to_owned());
            e
        })?;
        let model = upstream_model(body)?;
        let publisher = Publisher::of(model);
        let request = publisher_body(ctx, body, publisher, stream).await?;
        let url = endpoint_url(
            &ctx.base_url,
            ctx.region.as_deref(),
            &account.project_id,
            model,
            stream,
        );
        let token = auth::access_token(ctx, &account).await?;
        let req = ctx
            .client
            .post(&url)
            .bearer_auth(&token)
            .header(http::header::CONTENT_TYPE.as_str(), "application/json")
            .body(request);
        let req = transport::with_extra_headers(ctx, req);
        transport::send_checked(ctx, req, Self::error_from_body).await
    }

    fn completion(answer: Bytes, body: &Map<String, Value>) -> Result<Bytes, UpstreamError> {
        let model = upstream_model(body)?;
        let completion = match Publisher::of(model) {
            Publisher::Anthropic => {
                anthropic::response::completion_from_message(&answer, unix_now())?
            }
            Publisher::Google => gemini::completion_from_body(&answer, model)?,
        };
        Ok(Bytes::from(completion.to_string()))
    }

    fn chunks(
        events: EventStream,
        body: &Map<String, Value>,
    ) -> Result<ChunkStream, UpstreamError> {
        let model = upstream_model(body)?;
        Ok(match Publisher::of(model) {
            Publisher::Anthropic => anthropic::stream::openai_chunks(events, unix_now()),
            Publisher::Google => gemini::gemini_chunks(events, model),
        })
    }
}
