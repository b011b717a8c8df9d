//! OpenAI's token-billed JSON endpoints beyond chat — `POST /v1/embeddings`, `/v1/moderations`, `/v1/rerank`
//! (Jina/Cohere style) — relayed to the channel kinds that serve them, billed by input tokens at the model's input
//! price, with the chat route's auth, limits, reservation, failover and log row. The upstream's reported tokens are
//! the bill; an upstream that reports none (moderations never do) is counted with the tokenizer.

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
use api_types::Usage;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Embeddings,
    Moderations,
    Rerank,
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::Moderations => "moderations",
            Self::Rerank => "rerank",
        }
    }

    /// The model when the request names none (OpenAI's default for moderations).
    fn default_model(self) -> Option<&'static str> {
        (self == Self::Moderations).then_some("omni-moderation-latest")
    }

    /// The texts to estimate (and, without upstream usage, count) and the tokens given as ids.
    fn inputs(self, request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
        match self {
            Self::Embeddings => inputs(request.get("input")),
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
fn inputs(input: Option<&Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let bad = || {
        invalid(
            "`input` must be a non-empty string, an array of strings, an array of token ids, or an array of \
             token-id arrays.",
            "input",
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
    let price = snap
        .price(&model)
        .cloned()
        .ok_or_else(|| ApiError::ModelNotPriced {
            model: model.clone(),
        })?;
    let serves =
        |c: &ChannelEntry| selector::usable(c) && providers::endpoints::supports(c.kind, op.path());
    if !snap.channels_for(&model, &group).any(|c| serves(c)) {
        return Err(ApiError::NoChannel { model });
    }

    // Bytes / 3 bounds the tokens of a text from above (the chat estimate's rule), token ids count as they are.
    let estimate = texts
        .iter()
        .map(|t| (t.len() as u64).div_ceil(3))
        .sum::<u64>()
        .saturating_add(token_ids)
        .max(1);
    flight.tokens_admitted = state
        .check_rate_limits(&caller.key.key, &group, estimate)
        .await?;
    let multiplier = snap.multiplier(&group);
    let hold = pricing::cost(
        &price,
        pricing::TokenCounts {
            prompt: estimate,
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

    // Failover across the channels that serve embeddings, as for chat.
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
        let body = if upstream_model == model && !repeated && named {
            bytes.clone()
        } else {
            // Mapped to another upstream name, or a defaulted model (rare): re-encode a copy naming it.
            let mut mapped = request.clone();
            mapped.insert("model".to_owned(), Value::String(upstream_model.clone()));
            Bytes::from(serde_json::to_vec(&mapped).map_err(|e| {
                ApiError::Internal(format!("cannot encode the {} request: {e}", op.path()))
            })?)
        };
        let ctx = probe::upstream_ctx(state, &channel, key);
        flight.row.channel_id = Some(channel.channel.id);
        flight.row.retries = i64::try_from(tried.len() - 1).unwrap_or(0);
        match providers::endpoints::post_json(&ctx, channel.kind, op.path(), &upstream_model, body)
            .await
        {
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

    let prompt_tokens = reported_tokens(&answer).unwrap_or_else(|| {
        texts
            .iter()
            .map(|t| tokenizer::count_text(&model, t))
            .sum::<u64>()
            .saturating_add(token_ids)
    });
    let tokens_admitted = flight.tokens_admitted;
    let (row, reservation) = flight.hand_over()?;
    let settlement = Settlement {
        state: state.clone(),
        meta: meta.clone(),
        reservation,
        price,
        multiplier,
        model,
        request: Map::new(),
        row,
        tokens_admitted,
    };
    settlement.finish(Delivered {
        status: 200,
        ttft_ms: Some(meta.elapsed_ms()),
        usage: Some(Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
            ..Default::default()
        }),
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

#[derive(Deserialize)]
struct Reported {
    usage: Option<ReportedUsage>,
}

#[derive(Deserialize)]
struct ReportedUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// The input tokens the upstream reports (`prompt_tokens`, else `total_tokens`: embeddings, Jina-style rerank).
fn reported_tokens(answer: &[u8]) -> Option<u64> {
    let usage = serde_json::from_slice::<Reported>(answer).ok()?.usage?;
    usage
        .prompt_tokens
        .or(usage.total_tokens)
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_shapes() {
        let ok = |v: Value| inputs(Some(&v)).map(|(t, n)| (t.len(), n)).ok();
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
            assert!(inputs(Some(&bad)).is_err(), "{bad}");
        }
        assert!(inputs(None).is_err());
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
        assert_eq!(
            reported_tokens(br#"{"usage":{"prompt_tokens":7,"total_tokens":7}}"#),
            Some(7)
        );
        assert_eq!(reported_tokens(br#"{"usage":{"total_tokens":5}}"#), Some(5));
        assert_eq!(reported_tokens(br#"{"data":[]}"#), None);
    }
}
