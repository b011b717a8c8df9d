//! OpenAI's token-billed JSON endpoints beyond chat — `POST /v1/embeddings`, `/v1/moderations`, `/v1/rerank`
//! (Jina/Cohere style) and legacy `/v1/completions` (plain and streamed) — relayed to the channel kinds that serve
//! them, billed by tokens at the model's prices, with the chat route's auth, limits, reservation, failover and log
//! row. The upstream's reported tokens are the bill (a completion stream is asked for its usage chunk, which the
//! chat route's `UsageTap` reads and strips again if the client did not ask); an upstream that reports none
//! (moderations never do) is counted with the tokenizer.

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
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, header};
use providers::sse::SseEvent;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Which endpoint a request is for.
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
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::Moderations => "moderations",
            Self::Rerank => "rerank",
            Self::Completions => "completions",
            Self::Images => "images/generations",
            Self::Responses => "responses",
            Self::Speech => "audio/speech",
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
            Self::Embeddings => inputs(request.get("input"), "input"),
            Self::Completions => inputs(request.get("prompt"), "prompt"),
            Self::Responses => responses_inputs(request),
            Self::Speech => speech_input(request),
            Self::Images => match request.get("prompt") {
                Some(Value::String(p)) if !p.is_empty() => Ok((vec![p.as_str()], 0)),
                _ => Err(invalid(
                    "`prompt` is required and must be a non-empty string.",
                    "prompt",
                )),
            },
            Self::Moderations => moderation_inputs(request.get("input")),
            Self::Rerank => rerank_inputs(request),
        }
    }
}

pub async fn embeddings(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Embeddings, state, meta, headers, body).await
}

pub async fn moderations(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Moderations, state, meta, headers, body).await
}

pub async fn completions(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Completions, state, meta, headers, body).await
}

pub async fn images(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Images, state, meta, headers, body).await
}

pub async fn responses(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Responses, state, meta, headers, body).await
}

pub async fn speech(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Speech, state, meta, headers, body).await
}

pub async fn rerank(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Operation::Rerank, state, meta, headers, body).await
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

fn invalid(message: &str, param: &str) -> ApiError {
    ApiError::invalid(message, Some(param))
}

/// The texts of `input` (for estimating and, without upstream usage, counting) and the number of tokens given
/// as token ids. Refuses shapes OpenAI refuses.
fn inputs<'a>(input: Option<&'a Value>, param: &str) -> Result<(Vec<&'a str>, u64), ApiError> {
    let bad = || {
        invalid(
            &format!(
                "`{param}` must be a non-empty string, an array of strings, an array of token ids, or an array \
                 of token-id arrays."
            ),
            param,
        )
    };
    match input {
        Some(Value::String(s)) if !s.is_empty() => Ok((vec![s.as_str()], 0)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut texts = Vec::new();
            let mut ids = 0u64;
            for item in items {
                match item {
                    Value::String(s) if !s.is_empty() => texts.push(s.as_str()),
                    Value::Number(n) if n.is_u64() => ids += 1,
                    Value::Array(tokens)
                        if !tokens.is_empty() && tokens.iter().all(Value::is_u64) =>
                    {
                        ids += tokens.len() as u64;
                    }
                    _ => return Err(bad()),
                }
            }
            Ok((texts, ids))
        }
        _ => Err(bad()),
    }
}

/// Moderation `input`: a string, an array of strings, or an array of multimodal parts (`{"type":"text","text"}`,
/// `{"type":"image_url",…}`; images are not counted).
fn moderation_inputs(input: Option<&Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let bad = || {
        invalid(
            "`input` must be a non-empty string, an array of strings, or an array of `text` / `image_url` parts.",
            "input",
        )
    };
    match input {
        Some(Value::String(s)) if !s.is_empty() => Ok((vec![s.as_str()], 0)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut texts = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => texts.push(s.as_str()),
                    Value::Object(part) => match part.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            texts.push(part.get("text").and_then(Value::as_str).ok_or_else(bad)?)
                        }
                        Some("image_url") => {}
                        _ => return Err(bad()),
                    },
                    _ => return Err(bad()),
                }
            }
            Ok((texts, 0))
        }
        _ => Err(bad()),
    }
}

/// Responses: `input` as a string or an array of input items; `instructions` count too. Items are estimated by
/// their JSON size (an upper bound of their text).
fn responses_inputs(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let mut texts = Vec::new();
    let mut extra = 0u64;
    match request.get("input") {
        Some(Value::String(s)) if !s.is_empty() => texts.push(s.as_str()),
        Some(Value::Array(items)) if !items.is_empty() => {
            for item in items {
                extra += (item.to_string().len() as u64).div_ceil(3);
            }
        }
        _ => {
            return Err(invalid(
                "`input` is required: a string or a non-empty array of input items.",
                "input",
            ));
        }
    }
    if let Some(Value::String(i)) = request.get("instructions") {
        texts.push(i.as_str());
    }
    Ok((texts, extra))
}

/// Speech: `input` text (at most 4096 characters, OpenAI's limit) and a `voice`. Billed per character, so the
/// count comes back as "tokens" (the characters) with no text to tokenize.
fn speech_input(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let input = match request.get("input") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => {
            return Err(invalid(
                "`input` is required and must be a non-empty string.",
                "input",
            ));
        }
    };
    let chars = input.chars().count() as u64;
    if chars > 4096 {
        return Err(invalid("`input` may be at most 4096 characters.", "input"));
    }
    if !matches!(request.get("voice"), Some(Value::String(v)) if !v.is_empty()) {
        return Err(invalid("`voice` is required.", "voice"));
    }
    Ok((Vec::new(), chars))
}

/// Rerank: a `query` string and non-empty `documents` (strings, or objects with a `text`).
fn rerank_inputs(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let query = match request.get("query") {
        Some(Value::String(q)) if !q.is_empty() => q.as_str(),
        _ => {
            return Err(invalid(
                "`query` is required and must be a non-empty string.",
                "query",
            ));
        }
    };
    let bad = || {
        invalid(
            "`documents` must be a non-empty array of strings or of objects with a `text`.",
            "documents",
        )
    };
    let Some(Value::Array(docs)) = request.get("documents") else {
        return Err(bad());
    };
    if docs.is_empty() {
        return Err(bad());
    }
    let mut texts = vec![query];
    for d in docs {
        match d {
            Value::String(s) => texts.push(s.as_str()),
            Value::Object(o) => texts.push(o.get("text").and_then(Value::as_str).ok_or_else(bad)?),
            _ => return Err(bad()),
        }
    }
    Ok((texts, 0))
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
    let (request, repeated) = parse_object_noting_repeats(&bytes)?;
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
    let (texts, token_ids) = op.inputs(&request)?;
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    if !caller.may_use(&model) {
        return Err(ApiError::ModelNotAllowed { model });
    }
    let group = caller.user.group.clone();
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
    let serves =
        |c: &ChannelEntry| selector::usable(c) && providers::endpoints::supports(c.kind, op.path());
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
        let body = if upstream_model == model && !repeated && named && !shape.add_usage {
            bytes.clone()
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
            Bytes::from(serde_json::to_vec(&mapped).map_err(|e| {
                ApiError::Internal(format!("cannot encode the {} request: {e}", op.path()))
            })?)
        };
        let ctx = probe::upstream_ctx(state, &channel, key);
        flight.row.channel_id = Some(channel.channel.id);
        flight.row.retries = i64::try_from(tried.len() - 1).unwrap_or(0);
        let attempt = if op == Operation::Speech {
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

/// A served answer: a whole body, or a stream whose first chunk arrived (the point of no retry).
enum Answer {
    Plain(Bytes),
    Stream {
        first: Bytes,
        rest: providers::ChunkStream,
    },
    /// Raw bytes (speech audio) and their content type.
    Bytes {
        content_type: String,
        bytes: providers::transport::ByteStream,
    },
    /// Typed events (the Responses API), relayed with their names.
    Events {
        first: SseEvent,
        rest: super::attempt::EventStream,
    },
}

/// Opens a typed event stream and waits for its first event; an `error` event there is a failure before the
/// first byte (another channel may still serve).
async fn open_events(
    ctx: &providers::UpstreamCtx,
    kind: providers::ProviderKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<Answer, providers::UpstreamError> {
    let mut rest =
        providers::endpoints::post_events(ctx, kind, operation, deployment, body).await?;
    match rest.next().await {
        Some(Ok(first)) if first.event.as_deref() == Some("error") => {
            Err(providers::openai::error_from_body(502, &first.data))
        }
        Some(Ok(first)) => Ok(Answer::Events { first, rest }),
        Some(Err(e)) => Err(e),
        None => Err(providers::UpstreamError::new(
            providers::UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}

/// Opens a stream and waits for its first chunk, so a stream that fails before sending anything can still go to
/// another channel (as for chat).
async fn open_stream(
    ctx: &providers::UpstreamCtx,
    kind: providers::ProviderKind,
    operation: &str,
    deployment: &str,
    body: Bytes,
) -> Result<Answer, providers::UpstreamError> {
    let mut rest =
        providers::endpoints::post_stream(ctx, kind, operation, deployment, body).await?;
    match rest.next().await {
        Some(Ok(first)) => {
            super::attempt::check_first_event(&first)?;
            Ok(Answer::Stream { first, rest })
        }
        Some(Err(e)) => Err(e),
        None => Err(providers::UpstreamError::new(
            providers::UpstreamErrorKind::Protocol,
            "upstream sent an empty stream",
        )),
    }
}

/// What the request asks of the answer: its size budget and whether (and how) it streams.
struct Shape {
    /// Output tokens the hold covers (legacy completions: `max_tokens`, default 16, × `n`).
    completion_budget: u64,
    stream: bool,
    /// The client asked for the usage chunk itself.
    client_wants_usage: bool,
    /// The request must be re-encoded to ask the upstream for usage.
    add_usage: bool,
    /// Images asked for (`n`, image generation only).
    images: u64,
}

impl Shape {
    fn of(op: Operation, request: &Map<String, Value>) -> Result<Self, ApiError> {
        let positive = |name: &str, default: u64| match request.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid(&format!("`{name}` must be a positive integer."), name)),
        };
        let plain = Self {
            completion_budget: 0,
            stream: false,
            client_wants_usage: false,
            add_usage: false,
            images: 0,
        };
        if op == Operation::Images {
            let images = positive("n", 1)?;
            if images > 10 {
                return Err(invalid("`n` must be between 1 and 10.", "n"));
            }
            if request.get("stream").and_then(Value::as_bool) == Some(true) {
                return Err(invalid(
                    "Streamed image generation is not relayed; leave `stream` unset.",
                    "stream",
                ));
            }
            return Ok(Self { images, ..plain });
        }
        if op == Operation::Responses {
            let stream = match request.get("stream") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(invalid("`stream` must be a boolean.", "stream")),
            };
            let budget = match request.get("max_output_tokens") {
                None | Some(Value::Null) => 0,
                Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                    invalid(
                        "`max_output_tokens` must be a positive integer.",
                        "max_output_tokens",
                    )
                })?,
            };
            // Responses streams report usage in `response.completed`: nothing to ask for.
            return Ok(Self {
                completion_budget: budget,
                stream,
                ..plain
            });
        }
        if op != Operation::Completions {
            return Ok(plain);
        }
        let max_tokens = positive("max_tokens", 16)?;
        let n = positive("n", 1)?;
        let stream = match request.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("`stream` must be a boolean.", "stream")),
        };
        let client_wants_usage = request
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
        Ok(Self {
            completion_budget: max_tokens.saturating_mul(n),
            stream,
            client_wants_usage,
            add_usage: stream && !client_wants_usage,
            images: 0,
        })
    }
}

/// The price of one image: `model:size:quality`, then `model:size`, then `model` (then the default `*`), with a
/// per-request price multiplied by the number of images asked for, so the hold and the bill are exact.
fn image_price(
    snap: &crate::catalog::Snapshot,
    model: &str,
    request: &Map<String, Value>,
    images: u64,
) -> Option<store::Price> {
    let text = |k: &str| {
        request
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut names = Vec::new();
    if let Some(size) = text("size") {
        if let Some(quality) = text("quality") {
            names.push(format!("{model}:{size}:{quality}"));
        }
        names.push(format!("{model}:{size}"));
    }
    let mut price = names
        .iter()
        .find_map(|n| snap.price_exact(n))
        .or_else(|| snap.price(model))
        .cloned()?;
    if let Some(each) = price.per_request {
        price.per_request = Some(each.saturating_mul(i64::try_from(images).unwrap_or(i64::MAX)));
    }
    Some(price)
}

/// The input texts as one user message: the shape the settlement's tokenizer fallback counts.
fn prompt_as_messages(texts: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "messages".to_owned(),
        serde_json::json!([{"role": "user", "content": texts.join("\n")}]),
    );
    m
}

/// The text of a legacy completion's choices (to count when the upstream reports no usage).
fn completion_text(answer: &[u8]) -> String {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|v| {
            v.get("choices").and_then(Value::as_array).map(|choices| {
                choices
                    .iter()
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect::<String>()
            })
        })
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct Reported {
    usage: Option<ReportedUsage>,
}

#[derive(Deserialize)]
struct ReportedUsage {
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// The usage the upstream reports: input tokens (`prompt_tokens` or `input_tokens`, else `total_tokens` —
/// embeddings, Jina-style rerank) and output tokens (completions; `output_tokens` of token-priced image models).
fn reported_usage(answer: &[u8]) -> Option<Usage> {
    let usage = serde_json::from_slice::<Reported>(answer).ok()?.usage?;
    let completion = usage.completion_tokens.unwrap_or(0);
    let prompt = usage
        .prompt_tokens
        .or_else(|| usage.total_tokens.map(|t| t.saturating_sub(completion)))
        .unwrap_or(0);
    (prompt + completion > 0).then(|| Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_shapes() {
        let ok = |v: Value| inputs(Some(&v), "input").map(|(t, n)| (t.len(), n)).ok();
        assert_eq!(ok(json!("hello")), Some((1, 0)));
        assert_eq!(ok(json!(["a", "b"])), Some((2, 0)));
        assert_eq!(ok(json!([1, 2, 3])), Some((0, 3)));
        assert_eq!(ok(json!([[1, 2], [3]])), Some((0, 3)));
        for bad in [
            json!(""),
            json!([]),
            json!([""]),
            json!(5),
            json!([{"a": 1}]),
            json!([[]]),
        ] {
            assert!(inputs(Some(&bad), "input").is_err(), "{bad}");
        }
        assert!(inputs(None, "input").is_err());
    }

    #[test]
    fn moderation_and_rerank_shapes() {
        let m = |v: Value| moderation_inputs(Some(&v)).map(|(t, _)| t.len()).ok();
        assert_eq!(m(json!("x")), Some(1));
        assert_eq!(m(json!(["a", "b"])), Some(2));
        assert_eq!(
            m(
                json!([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}}])
            ),
            Some(1)
        );
        assert_eq!(m(json!([{"type": "audio"}])), None);
        assert_eq!(m(json!([])), None);
        let r = |v: Value| {
            let Value::Object(o) = v else { return None };
            rerank_inputs(&o).map(|(t, _)| t.len()).ok()
        };
        assert_eq!(
            r(json!({"query": "q", "documents": ["a", {"text": "b"}]})),
            Some(3)
        );
        assert_eq!(r(json!({"query": "q", "documents": []})), None);
        assert_eq!(r(json!({"documents": ["a"]})), None);
        assert_eq!(r(json!({"query": "q", "documents": [1]})), None);
    }

    #[test]
    fn reads_reported_usage() {
        let tokens = |b: &[u8]| reported_usage(b).map(|u| (u.prompt_tokens, u.completion_tokens));
        assert_eq!(
            tokens(br#"{"usage":{"prompt_tokens":7,"total_tokens":7}}"#),
            Some((7, 0))
        );
        assert_eq!(tokens(br#"{"usage":{"total_tokens":5}}"#), Some((5, 0)));
        assert_eq!(
            tokens(br#"{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#),
            Some((3, 4))
        );
        assert_eq!(tokens(br#"{"data":[]}"#), None);
    }
}
