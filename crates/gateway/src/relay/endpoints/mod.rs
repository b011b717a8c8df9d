//! OpenAI's endpoints beyond chat — `POST /v1/embeddings`, `/v1/moderations`, `/v1/rerank` (Jina/Cohere style),
//! legacy `/v1/completions` (plain and streamed), `/v1/responses` (plain and streamed; through chat where no
//! channel has it: `relay::responses`), `/v1/images/generations`, `/edits` and `/variations` (uploads, billed per
//! image like generations), `/v1/audio/speech` and the audio uploads — relayed to the channel kinds that serve
//! them, billed by tokens at the model's prices, with the chat route's auth, limits, reservation, failover and log
//! row. The upstream's reported tokens are the bill (a completion stream is asked for its usage chunk, which the
//! chat route's `UsageTap` reads and strips again if the client did not ask); an upstream that reports none
//! (moderations never do) is counted with the tokenizer.
//!
//! `inputs.rs` reads and checks each operation's input, `shape.rs` what the answer may cost (budgets, streaming,
//! image prices), `upstream.rs` opens the upstream answer, `usage.rs` reads its usage.

mod audio;
mod images;
mod inputs;
mod multipart;
mod operation;
mod shape;
mod upstream;
mod usage;

use super::admission::{self, Admitted, Ask, OutputAsk};
use super::chat::json_response;
use super::failover::{self, Failover, Route, Try};
use super::in_flight::InFlight;
use super::incoming::Incoming;
use crate::billing::paid_tools::{self, ToolApi, ToolBill};
use crate::billing::settle::{Delivered, Settlement};
use crate::billing::tokenizer;
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::http::body::parse_object_noting_repeats;
use crate::http::meta::RequestMeta;
use crate::routing::selector;
use crate::state::AppState;
use crate::streaming::encode::ChunkEncoder;
use crate::streaming::native::NativeTap;
use crate::streaming::responses::ResponsesEvents;
use crate::streaming::tap::UsageTap;
use api_types::Usage;
use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use inputs::invalid;
use multipart::Form;
pub use operation::Operation;
use providers::UpstreamError;
use serde_json::{Map, Value};
use shape::{Shape, image_price};
use std::ops::ControlFlow;
use upstream::{Answer, open_events, open_stream};
use usage::{completion_text, prompt_as_messages, reported_usage};

const JSON: &str = "application/json";

/// Every operation's route, `POST /v1/{path}` into the shared flow.
pub fn routes() -> Router<AppState> {
    Operation::ALL
        .into_iter()
        .fold(Router::new(), |router, op| {
            router.route(
                &format!("/v1/{}", op.path()),
                post(move |incoming: Incoming, body: Body| handle(op, incoming, body)),
            )
        })
}

/// Serves one request of `op`.
async fn handle(op: Operation, incoming: Incoming, body: Body) -> Response {
    let (state, meta, headers) = (&incoming.state, &incoming.meta, &incoming.headers);
    let run = async |admitted, bytes, flight: &mut InFlight| {
        relay(op, state, meta, headers, admitted, bytes, flight).await
    };
    InFlight::serve_authenticated(state, meta, headers, body, run, ApiError::into_response).await
}

async fn relay(
    op: Operation,
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    admitted: Admitted,
    bytes: Bytes,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let (mut request, repeated, form) = read_request(op, headers, &bytes).await?;
    let (model, named) = model_of(op, &request)?;
    flight.row.model = Some(model.clone());
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    let group = caller.user.group.clone();
    let serves = |c: &ChannelEntry| {
        selector::usable(c) && providers::endpoints::supports(c.channel.kind, op.path())
    };
    if op == Operation::Responses {
        super::image_limit::check_responses(&state.settings, &request)?;
    }
    // A model no usable channel answers natively on `/v1/responses` is served through chat (Anthropic, Gemini,
    // Azure); where an OpenAI-compatible channel can, the request goes there as it came.
    if op == Operation::Responses
        && caller.may_use(&model)
        && !snap.channels_for(&model, &group).any(|c| serves(c))
    {
        return super::responses::via_chat(&admitted, request, &model, flight).await;
    }
    // Built-in tools run and bill on the provider's side: priced per call or refused; `background` is refused.
    let tools = if op == Operation::Responses {
        paid_tools::check(ToolApi::Responses, &mut request, snap)?
    } else {
        ToolBill::default()
    };
    let (texts, mut token_ids) = op.inputs(&request)?;
    let upstream_models = snap
        .channels_for(&model, &group)
        .filter(|c| serves(c))
        .map(|c| c.upstream_model(&model));
    let (plan, images) = match form {
        Some(form) if op.is_image() => (None, Some(images::checked(form)?)),
        Some(form) => (Some(audio::Plan::new(form, upstream_models)?), None),
        None => (None, None),
    };
    let mut shape = Shape::of(op, &request)?;
    if let Some(plan) = &plan {
        // An upload: the file's seconds (or tokens), and the answer's part, which must fit whole.
        (token_ids, shape.output) = (plan.hold().0, OutputAsk::Firm(plan.hold().1));
    }
    let price = if op.is_image() {
        image_price(snap, &model, &request, shape.images)
    } else {
        snap.price(&model).cloned()
    };
    let unserved = unserved(op, snap, &model, &group);
    flight.row.stream = shape.stream;
    let admission = admission::admit(
        &admitted,
        flight,
        Ask {
            unserved,
            prompt_tokens: estimate(&texts, token_ids),
            fixed: tools.hold,
            ..Ask::new(&model, price, &serves, shape.output)
        },
    )
    .await?;
    let limit = shape.output_limit(admission.output_limit);

    let bodies = Bodies {
        op,
        model: &model,
        request: &request,
        bytes: &bytes,
        plan: plan.as_ref(),
        images: images.as_ref(),
        verbatim_ok: !repeated
            && named
            && !shape.add_usage
            && limit.is_none()
            && tools.tools.is_empty(),
        add_usage: shape.add_usage,
        limit,
    };
    let route = Route {
        model: &model,
        group: &group,
        serves: &serves,
        pinned: None,
        retry_protocol_errors: false,
    };
    let served = attempts(Failover::new(state, snap, route), &bodies, shape.stream).await;
    let served = failover::noted(flight, served)?;
    let (answer, upstream_model) = (served.answer, served.upstream_model);

    // What the tokenizer counts as the prompt if a stream ends without usage.
    let settlement = flight.settlement(admission, prompt_as_messages(&texts), tools)?;
    let answered = Answered {
        op,
        model: &model,
        inputs: (&texts, token_ids),
        plan: plan.as_ref(),
        upstream_model: &upstream_model,
        client_wants_usage: shape.client_wants_usage,
        ttft_ms: meta.elapsed_ms(),
    };
    answered.respond(answer, settlement)
}

/// Runs the operation on one channel after another until one answers (the one failover loop).
async fn attempts(
    mut failover: Failover<'_>,
    bodies: &Bodies<'_>,
    stream: bool,
) -> Result<failover::Served<Answer>, failover::Failed> {
    loop {
        let Some(t) = failover.next_try() else {
            return Err(failover.exhausted());
        };
        let result = match bodies.for_channel(&t.upstream_model) {
            Ok((content_type, body)) => {
                let is_form = bodies.plan.is_some() || bodies.images.is_some();
                call(bodies.op, &t, stream, &content_type, body, is_form).await
            }
            Err(e) => Err(e),
        };
        if let ControlFlow::Break(done) = failover.record(t, result) {
            return done;
        }
    }
}

/// What the client gets for an answer, and what it is billed.
struct Answered<'a> {
    op: Operation,
    model: &'a str,
    /// The texts and token ids of the input, for the tokenizer when the upstream reports no usage.
    inputs: (&'a [&'a str], u64),
    plan: Option<&'a audio::Plan>,
    upstream_model: &'a str,
    client_wants_usage: bool,
    ttft_ms: i64,
}

impl Answered<'_> {
    fn delivered(&self, usage: Usage) -> Delivered {
        Delivered {
            status: 200,
            ttft_ms: Some(self.ttft_ms),
            usage: Some(usage),
            ..Default::default()
        }
    }

    fn respond(&self, answer: Answer, settlement: Settlement) -> Result<Response, ApiError> {
        let ttft_ms = self.ttft_ms;
        let answer = match answer {
            Answer::Stream { first, rest } => {
                // Usage is read from the final chunk, and removed again unless the client asked for it.
                let encoder = ChunkEncoder::OpenAi {
                    include_usage: self.client_wants_usage,
                };
                let tap = UsageTap::new(first, rest, encoder, settlement, ttft_ms);
                return Ok(super::chat::sse_response(Body::from_stream(tap)));
            }
            Answer::Events { first, rest } => {
                let tap =
                    NativeTap::new(ResponsesEvents::default(), first, rest, settlement, ttft_ms);
                return Ok(super::chat::sse_response(Body::from_stream(tap)));
            }
            Answer::Bytes {
                content_type,
                bytes,
            } => {
                // The audio is due once the upstream accepted the text: the characters are the bill.
                let chars = self.inputs.1;
                settlement.finish(self.delivered(Usage {
                    prompt_tokens: chars,
                    total_tokens: chars,
                    ..Default::default()
                }));
                let content_type = HeaderValue::from_str(&content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream"));
                return Ok((
                    [(header::CONTENT_TYPE, content_type)],
                    Body::from_stream(bytes),
                )
                    .into_response());
            }
            // An image upload's answer is JSON like a generation's, billed per image.
            Answer::Typed { body, .. } if self.op.is_image() => body,
            Answer::Typed { content_type, body } => {
                let Some(plan) = self.plan else {
                    return Err(ApiError::Internal(
                        "a form's answer without its form".to_owned(),
                    ));
                };
                let billed = plan.bill(self.upstream_model, content_type, body);
                settlement.finish(self.delivered(billed.usage));
                let content_type = HeaderValue::from_str(&billed.content_type)
                    .unwrap_or(HeaderValue::from_static("application/json"));
                return Ok(([(header::CONTENT_TYPE, content_type)], billed.body).into_response());
            }
            Answer::Plain(answer) => answer,
        };
        let priced_tools = !settlement.tools.tools.is_empty();
        settlement.finish(plain_delivered(
            self.op,
            self.model,
            self.inputs,
            &answer,
            priced_tools,
            ttft_ms,
        ));
        Ok(json_response(answer))
    }
}

/// The request as an object (a JSON body, or an upload's checked form fields), whether a JSON name repeats, and
/// the form.
async fn read_request(
    op: Operation,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<(Map<String, Value>, bool, Option<Form>), ApiError> {
    if let Some(uploads) = op.uploads() {
        let form = Form::parse(headers, bytes.clone(), uploads).await?;
        let mut request = form.object();
        if op.is_image() {
            images::numbers(&mut request);
        }
        return Ok((request, false, Some(form)));
    }
    let (request, repeated) = parse_object_noting_repeats(bytes)?;
    Ok((request, repeated, None))
}

/// The request's model and whether the client named it (moderations and images have OpenAI's defaults).
fn model_of(op: Operation, request: &Map<String, Value>) -> Result<(String, bool), ApiError> {
    match (request.get("model"), op.default_model()) {
        (Some(Value::String(m)), _) if !m.is_empty() => Ok((m.clone(), true)),
        (None, Some(default)) => Ok((default.to_owned(), false)),
        _ => Err(invalid(
            "`model` is required and must be a string.",
            "model",
        )),
    }
}

/// The error when only channels of kinds without this operation list the model.
fn unserved(op: Operation, snap: &Snapshot, model: &str, group: &str) -> Option<ApiError> {
    snap.channels_for(model, group)
        .all(|c| !providers::endpoints::supports(c.channel.kind, op.path()))
        .then(|| {
            invalid(
                &format!(
                    "`{model}` is served here only by channels that have no /v1/{}; use /v1/chat/completions.",
                    op.path()
                ),
                "model",
            )
        })
}

/// The prompt estimate: bytes / 3 bounds a text's tokens from above (the chat estimate's rule), token ids count
/// as they are.
fn estimate(texts: &[&str], token_ids: u64) -> u64 {
    texts
        .iter()
        .map(|t| (t.len() as u64).div_ceil(3))
        .sum::<u64>()
        .saturating_add(token_ids)
        .max(1)
}

/// How a whole JSON answer is billed: the upstream's usage, else the tokenizer's count of the inputs (`texts` and
/// `token_ids`) and, for completions and responses, of the output; built-in tool calls when tools are priced.
fn plain_delivered(
    op: Operation,
    model: &str,
    (texts, token_ids): (&[&str], u64),
    answer: &Bytes,
    priced_tools: bool,
    ttft_ms: i64,
) -> Delivered {
    let counted = || {
        texts
            .iter()
            .map(|t| tokenizer::count_text(model, t))
            .sum::<u64>()
            .saturating_add(token_ids)
    };
    let usage = match reported_usage(answer) {
        Some(u) => u,
        None if matches!(op, Operation::Completions | Operation::Responses) => Usage {
            prompt_tokens: counted(),
            completion_tokens: tokenizer::count_text(model, &completion_text(answer)),
            ..Default::default()
        },
        None => Usage {
            prompt_tokens: counted(),
            ..Default::default()
        },
    };
    let builtin_calls = if priced_tools {
        serde_json::from_slice::<Value>(answer)
            .map(|v| paid_tools::reported_calls(ToolApi::Responses, &v))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Delivered {
        usage: Some(usage),
        builtin_calls,
        ..Delivered::answered(ttft_ms)
    }
}

/// What each attempt sends: the client's bytes when nothing in them changes, else a re-encoded copy.
struct Bodies<'a> {
    op: Operation,
    model: &'a str,
    request: &'a Map<String, Value>,
    bytes: &'a Bytes,
    /// An audio upload, always re-encoded from what was checked.
    plan: Option<&'a audio::Plan>,
    /// An image upload, re-encoded likewise.
    images: Option<&'a Form>,
    /// The client's JSON bytes may go as they came (no repeated name, a named model, nothing added).
    verbatim_ok: bool,
    add_usage: bool,
    /// The affordable output limit to write: (field, tokens per choice).
    limit: Option<(&'static str, u64)>,
}

impl Bodies<'_> {
    /// The content type and body for a channel that calls the model `upstream_model`.
    fn for_channel(&self, upstream_model: &str) -> Result<(String, Bytes), UpstreamError> {
        if let Some(plan) = self.plan {
            return Ok(plan.encode(upstream_model));
        }
        if let Some(form) = self.images {
            return Ok(images::encode(form, upstream_model));
        }
        if upstream_model == self.model && self.verbatim_ok {
            return Ok((JSON.to_owned(), self.bytes.clone()));
        }
        // Mapped to another upstream name, a defaulted model, a written output limit, or a stream that must report
        // its usage (the bill needs it; the tap strips it again): re-encode a copy.
        let mut mapped = self.request.clone();
        mapped.insert("model".to_owned(), Value::String(upstream_model.to_owned()));
        if let Some((field, n)) = self.limit {
            mapped.insert(field.to_owned(), Value::from(n));
        }
        if self.add_usage {
            mapped.insert(
                "stream_options".to_owned(),
                serde_json::json!({"include_usage": true}),
            );
        }
        let encoded = serde_json::to_vec(&mapped).map_err(|e| {
            UpstreamError::new(
                providers::UpstreamErrorKind::InvalidInput,
                format!("cannot encode the {} request: {e}", self.op.path()),
            )
        })?;
        Ok((JSON.to_owned(), Bytes::from(encoded)))
    }
}

/// One attempt of `op` on `t`'s channel.
async fn call(
    op: Operation,
    t: &Try,
    stream: bool,
    content_type: &str,
    body: Bytes,
    is_form: bool,
) -> Result<Answer, UpstreamError> {
    let (ctx, kind, path, model) = (
        &t.ctx,
        t.channel.channel.kind,
        op.path(),
        t.upstream_model.as_str(),
    );
    if is_form {
        return providers::endpoints::post_form(ctx, kind, path, model, content_type, body)
            .await
            .map(|(content_type, body)| Answer::Typed { content_type, body });
    }
    if op == Operation::Speech {
        return providers::endpoints::post_for_bytes(ctx, kind, path, model, body)
            .await
            .map(|(content_type, bytes)| Answer::Bytes {
                content_type,
                bytes,
            });
    }
    match (stream, op) {
        (true, Operation::Responses) => {
            open_events(providers::endpoints::post_events(ctx, kind, path, model, body).await?)
                .await
        }
        (true, _) => {
            open_stream(providers::endpoints::post_stream(ctx, kind, path, model, body).await?)
                .await
        }
        (false, _) => providers::endpoints::post_json(ctx, kind, path, model, body)
            .await
            .map(Answer::Plain),
    }
}
