//! OpenAI's endpoints beyond chat — `POST /v1/embeddings`, `/v1/moderations`, `/v1/rerank` (Jina/Cohere style),
//! legacy `/v1/completions` (plain and streamed), `/v1/responses` (plain and streamed; through chat where no
//! channel has it: `relay::responses`), `/v1/images/generations`
//! and `/v1/audio/speech` — relayed to the channel kinds that serve
//! them, billed by tokens at the model's prices, with the chat route's auth, limits, reservation, failover and log
//! row. The upstream's reported tokens are the bill (a completion stream is asked for its usage chunk, which the
//! chat route's `UsageTap` reads and strips again if the client did not ask); an upstream that reports none
//! (moderations never do) is counted with the tokenizer.
//!
//! `inputs.rs` reads and checks each operation's input, `shape.rs` what the answer may cost (budgets, streaming,
//! image prices), `upstream.rs` opens the upstream answer, `usage.rs` reads its usage.

mod inputs;
mod multipart;
mod shape;
mod upstream;
mod usage;

use super::in_flight::InFlight;
use super::pipeline;
use super::settle::{Delivered, Settlement};
use crate::billing::{pricing, tokenizer};
use crate::catalog::ChannelEntry;
use crate::error::ApiError;
use crate::http::body::parse_object_noting_repeats;
use crate::http::meta::RequestMeta;
use crate::routing::{health, probe, selector};
use crate::state::AppState;
use crate::streaming::encode::ChunkEncoder;
use crate::streaming::native::NativeTap;
use crate::streaming::responses::ResponsesEvents;
use crate::streaming::tap::UsageTap;
use api_types::Usage;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use inputs::invalid;
use multipart::Form;
use serde_json::{Map, Value};
use shape::{Shape, image_price};
use upstream::{Answer, open_events, open_stream};
use usage::{completion_text, prompt_as_messages, reported_audio_usage, reported_usage};

const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Embeddings,
    Moderations,
    Rerank,
    /// Legacy completions: also billed for output tokens, and streamed when asked.
    Completions,
    /// Image generation: billed per image (the price of `model:size:quality`, `model:size` or `model`).
    Images,
    /// The Responses API: billed for input and output tokens from `usage`.
    Responses,
    /// Text to speech: billed per input character (the model's input price per million characters), the audio
    /// streamed to the client as it comes.
    Speech,
    /// Speech to text (`multipart/form-data`): billed per second of audio (the model's input price per million
    /// seconds) as the upstream reports it, else estimated from the file's size; or by tokens for token-billed
    /// models.
    Transcriptions,
    /// Speech to English text: as transcriptions.
    Translations,
}

impl Operation {
    /// Whether the body is `multipart/form-data` (an upload) rather than JSON.
    fn takes_form(self) -> bool {
        matches!(self, Self::Transcriptions | Self::Translations)
    }

    fn path(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::Moderations => "moderations",
            Self::Rerank => "rerank",
            Self::Completions => "completions",
            Self::Images => "images/generations",
            Self::Responses => "responses",
            Self::Speech => "audio/speech",
            Self::Transcriptions => "audio/transcriptions",
            Self::Translations => "audio/translations",
        }
    }

    /// The model when the request names none (OpenAI's default for moderations).
    fn default_model(self) -> Option<&'static str> {
        match self {
            Self::Moderations => Some("omni-moderation-latest"),
            Self::Images => Some("dall-e-2"),
            _ => None,
        }
    }

    /// The texts to estimate (and, without upstream usage, count) and the tokens given as ids.
    fn inputs(self, request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
        match self {
            Self::Embeddings => inputs::texts(request.get("input"), "input"),
            Self::Completions => inputs::texts(request.get("prompt"), "prompt"),
            Self::Responses => inputs::responses(request),
            Self::Speech => inputs::speech(request),
            // The file is checked, and its length estimated, from the form itself.
            Self::Transcriptions | Self::Translations => Ok((Vec::new(), 0)),
            Self::Images => match request.get("prompt") {
                Some(Value::String(p)) if !p.is_empty() => Ok((vec![p.as_str()], 0)),
                _ => Err(invalid(
                    "`prompt` is required and must be a non-empty string.",
                    "prompt",
                )),
            },
            Self::Moderations => inputs::moderation(request.get("input")),
            Self::Rerank => inputs::rerank(request),
        }
    }
}
/// The route of `op`: `POST` into the shared flow.
pub fn route(op: Operation) -> MethodRouter<AppState> {
    post(
        move |state: State<AppState>,
              meta: Extension<RequestMeta>,
              headers: HeaderMap,
              body: Body| { handle(op, state, meta, headers, body) },
    )
}

async fn handle(
    op: Operation,
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut flight = InFlight::new(state.clone(), meta.clone(), false);
    match relay(op, &state, &meta, &headers, body, &mut flight).await {
        Ok(resp) => resp,
        Err(e) => {
            flight.fail(&e).await;
            e.into_response()
        }
    }
}

async fn relay(
    op: Operation,
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let (admitted, bytes) = pipeline::admit(state, meta, headers, body, flight).await?;
    let (request, repeated, form) = if op.takes_form() {
        let form = Form::parse(headers, bytes.clone()).await?;
        (form.fields(), false, Some(form))
    } else {
        let (request, repeated) = parse_object_noting_repeats(&bytes)?;
        (request, repeated, None)
    };
    let (model, named) = match (request.get("model"), op.default_model()) {
        (Some(Value::String(m)), _) if !m.is_empty() => (m.clone(), true),
        (None, Some(default)) => (default.to_owned(), false),
        _ => {
            return Err(invalid(
                "`model` is required and must be a string.",
                "model",
            ));
        }
    };
    flight.row.model = Some(model.clone());
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    let group = caller.user.group.clone();
    let serves =
        |c: &ChannelEntry| selector::usable(c) && providers::endpoints::supports(c.kind, op.path());
    if op == Operation::Responses {
        super::image_limit::check_responses(&state.settings, &request)?;
    }
    // A model no usable channel answers natively on `/v1/responses` is served through chat (Anthropic, Gemini,
    // Azure); where an OpenAI-compatible channel can, the request goes there as it came.
    if op == Operation::Responses
        && caller.may_use(&model)
        && !snap.channels_for(&model, &group).any(|c| serves(c))
    {
        return super::responses::via_chat(state, meta, &admitted, request, &model, flight).await;
    }
    let (texts, mut token_ids) = op.inputs(&request)?;
    if let Some(form) = &form {
        token_ids = form.estimated_seconds()?;
    }
    if !caller.may_use(&model) {
        return Err(ApiError::ModelNotAllowed { model });
    }
    if snap.channels_for(&model, &group).next().is_none() {
        return Err(ApiError::ModelNotFound { model });
    }
    let shape = Shape::of(op, &request)?;
    let price = match op {
        Operation::Images => image_price(snap, &model, &request, shape.images),
        _ => snap.price(&model).cloned(),
    }
    .ok_or_else(|| ApiError::ModelNotPriced {
        model: model.clone(),
    })?;
    if !snap.channels_for(&model, &group).any(|c| serves(c)) {
        let only_unsupported_kinds = snap
            .channels_for(&model, &group)
            .all(|c| !providers::endpoints::supports(c.kind, op.path()));
        if only_unsupported_kinds {
            return Err(invalid(
                &format!(
                    "`{model}` is served here only by channels that have no /v1/{}; use /v1/chat/completions.",
                    op.path()
                ),
                "model",
            ));
        }
        return Err(ApiError::NoChannel { model });
    }

    // Bytes / 3 bounds the tokens of a text from above (the chat estimate's rule), token ids count as they are.
    let estimate = texts
        .iter()
        .map(|t| (t.len() as u64).div_ceil(3))
        .sum::<u64>()
        .saturating_add(token_ids)
        .max(1);
    flight.row.stream = shape.stream;
    flight.tokens_admitted = state
        .check_rate_limits(
            &caller.key.key,
            &group,
            estimate.saturating_add(shape.completion_budget),
        )
        .await?;
    let multiplier = snap.multiplier(&group);
    // A legacy completion's `max_tokens` defaults to 16 (OpenAI's rule), so the hold is a real bound.
    let hold = pricing::cost(
        &price,
        pricing::TokenCounts {
            prompt: estimate,
            completion: shape.completion_budget,
            ..Default::default()
        },
        multiplier,
    )
    .max(1);
    let reservation = state
        .ledger
        .reserve(&meta.id, caller.user.id, caller.key.key.id, hold, hold)
        .await?;
    flight.hold(reservation);

    // Failover across the channels that serve the operation, as for chat.
    let max_attempts = state.settings.max_retries.saturating_add(1);
    let mut tried: Vec<i64> = Vec::new();
    let mut last: Option<ApiError> = None;
    let mut served = None;
    while u32::try_from(tried.len()).unwrap_or(u32::MAX) < max_attempts {
        let Some(channel) = selector::select(snap, &model, &group, &tried) else {
            break;
        };
        tried.push(channel.channel.id);
        let Some(key) = channel.pick_key().filter(|_| serves(&channel)) else {
            continue;
        };
        let upstream_model = channel.upstream_model(&model).to_owned();
        // A repeated name: we bill the last `model`, an upstream might read the first, so re-encode.
        let (content_type, body) = if let Some(form) = &form {
            if upstream_model == model {
                (form.content_type.clone(), bytes.clone())
            } else {
                form.with_model(&upstream_model)
            }
        } else if upstream_model == model && !repeated && named && !shape.add_usage {
            (JSON.to_owned(), bytes.clone())
        } else {
            // Mapped to another upstream name, a defaulted model, or a stream that must report its usage (the bill
            // needs it; the tap strips it again): re-encode a copy.
            let mut mapped = request.clone();
            mapped.insert("model".to_owned(), Value::String(upstream_model.clone()));
            if shape.add_usage {
                mapped.insert(
                    "stream_options".to_owned(),
                    serde_json::json!({"include_usage": true}),
                );
            }
            let encoded = serde_json::to_vec(&mapped).map_err(|e| {
                ApiError::Internal(format!("cannot encode the {} request: {e}", op.path()))
            })?;
            (JSON.to_owned(), Bytes::from(encoded))
        };
        let ctx = probe::upstream_ctx(state, &channel, key);
        flight.row.channel_id = Some(channel.channel.id);
        flight.row.retries = i64::try_from(tried.len() - 1).unwrap_or(0);
        let attempt = if form.is_some() {
            providers::endpoints::post_form(
                &ctx,
                channel.kind,
                op.path(),
                &upstream_model,
                &content_type,
                body,
            )
            .await
            .map(|(content_type, body)| Answer::Typed { content_type, body })
        } else if op == Operation::Speech {
            providers::endpoints::post_for_bytes(
                &ctx,
                channel.kind,
                op.path(),
                &upstream_model,
                body,
            )
            .await
            .map(|(content_type, bytes)| Answer::Bytes {
                content_type,
                bytes,
            })
        } else if shape.stream && op == Operation::Responses {
            open_events(&ctx, channel.kind, op.path(), &upstream_model, body).await
        } else if shape.stream {
            open_stream(&ctx, channel.kind, op.path(), &upstream_model, body).await
        } else {
            providers::endpoints::post_json(&ctx, channel.kind, op.path(), &upstream_model, body)
                .await
                .map(Answer::Plain)
        };
        match attempt {
            Ok(answer) => {
                served = Some((answer, upstream_model));
                break;
            }
            Err(e) => {
                tracing::warn!(channel = %channel.channel.name, error = %e, "upstream attempt failed");
                health::report_failure(state, &channel, key.id, &e);
                let retry = e.is_retryable();
                last = Some(ApiError::Upstream(e));
                if !retry {
                    break;
                }
            }
        }
    }
    let Some((answer, upstream_model)) = served else {
        return Err(last.unwrap_or(ApiError::NoChannel { model }));
    };
    flight.row.upstream_model = Some(upstream_model);

    let tokens_admitted = flight.tokens_admitted;
    let (row, reservation) = flight.hand_over()?;
    let settlement = Settlement {
        state: state.clone(),
        meta: meta.clone(),
        reservation,
        price,
        multiplier,
        model: model.clone(),
        // What the tokenizer counts as the prompt if a stream ends without usage.
        request: prompt_as_messages(&texts),
        row,
        tokens_admitted,
    };
    let ttft_ms = meta.elapsed_ms();
    let answer = match answer {
        Answer::Stream { first, rest } => {
            // Usage is read from the final chunk, and removed again unless the client asked for it.
            let encoder = ChunkEncoder::OpenAi {
                include_usage: shape.client_wants_usage,
            };
            let tap = UsageTap::new(first, rest, encoder, settlement, ttft_ms);
            return Ok(super::chat::sse_response(Body::from_stream(tap)));
        }
        Answer::Events { first, rest } => {
            let tap = NativeTap::new(ResponsesEvents::default(), first, rest, settlement, ttft_ms);
            return Ok(super::chat::sse_response(Body::from_stream(tap)));
        }
        Answer::Bytes {
            content_type,
            bytes,
        } => {
            // The audio is due once the upstream accepted the text: the characters are the bill.
            settlement.finish(Delivered {
                status: 200,
                ttft_ms: Some(ttft_ms),
                usage: Some(Usage {
                    prompt_tokens: token_ids,
                    total_tokens: token_ids,
                    ..Default::default()
                }),
                ..Default::default()
            });
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            return Ok((
                [(header::CONTENT_TYPE, content_type)],
                Body::from_stream(bytes),
            )
                .into_response());
        }
        Answer::Typed { content_type, body } => {
            // Seconds (or tokens) as the upstream reports them in a JSON answer; text formats report nothing,
            // so the estimate from the file's size stands.
            let usage = reported_audio_usage(&body).unwrap_or(Usage {
                prompt_tokens: token_ids,
                total_tokens: token_ids,
                ..Default::default()
            });
            settlement.finish(Delivered {
                status: 200,
                ttft_ms: Some(ttft_ms),
                usage: Some(usage),
                ..Default::default()
            });
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/json"));
            return Ok(([(header::CONTENT_TYPE, content_type)], body).into_response());
        }
        Answer::Plain(answer) => answer,
    };
    let counted = || {
        texts
            .iter()
            .map(|t| tokenizer::count_text(&model, t))
            .sum::<u64>()
            .saturating_add(token_ids)
    };
    let usage = match reported_usage(&answer) {
        Some(u) => u,
        None if op == Operation::Completions => Usage {
            prompt_tokens: counted(),
            completion_tokens: tokenizer::count_text(&model, &completion_text(&answer)),
            ..Default::default()
        },
        None => Usage {
            prompt_tokens: counted(),
            ..Default::default()
        },
    };
    settlement.finish(Delivered {
        status: 200,
        ttft_ms: Some(ttft_ms),
        usage: Some(usage),
        ..Default::default()
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer,
    )
        .into_response())
}
