//! The relay pipeline shared by every chat-shaped route: authenticate and read the body (`admit`), then for an
//! OpenAI chat object (`run`): validate, check permission and price, reserve, fail over across channels, and hand
//! the answer — a whole body or a `UsageTap` stream — to the route, which only encodes it for its client.

use super::attempt::{self, Answer};
use super::in_flight::InFlight;
use super::settle::{Delivered, Settlement};
use crate::auth::key::{Caller, authenticate};
use crate::billing::{estimate, pricing};
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::body::read_limited;
use crate::http::meta::RequestMeta;
use crate::routing::selector;
use crate::state::AppState;
use crate::streaming::encode::ChunkEncoder;
use crate::streaming::native::{AnthropicEvents, NativeTap};
use crate::streaming::tap::UsageTap;
use api_types::Usage;
use api_types::chat::ChatRequestHead;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The answer, in OpenAI form, ready to be encoded for the client.
pub enum Relayed {
    /// A complete `chat.completion` body.
    Plain(Bytes),
    Stream(Box<UsageTap>),
    /// A complete Anthropic `message`, relayed natively (`/v1/messages` on an anthropic channel).
    NativePlain(Bytes),
    /// Anthropic stream events, relayed natively.
    NativeStream(Box<NativeTap>),
}

/// What the client sent, besides the OpenAI chat object `run` works on.
pub enum Original<'a> {
    /// An OpenAI chat body, byte for byte: forwarded as it is to OpenAI-compatible channels when the gateway
    /// changes nothing in it (same model upstream, no `stream_options` to add), instead of re-encoding the object.
    OpenAi(Bytes),
    /// An Anthropic `/v1/messages` body, relayed natively to anthropic channels.
    Anthropic(&'a Map<String, Value>),
    /// Only the parsed object counts: every adapter encodes it.
    Parsed,
}

/// An authenticated caller and the catalog snapshot the whole request uses.
pub struct Admitted {
    pub snap: Arc<Snapshot>,
    pub caller: Caller,
}

/// Authenticates the caller (filling the log row) and reads the body within the size and time limits.
pub async fn admit(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<(Admitted, Bytes), ApiError> {
    let snap = state.catalog.snapshot();
    let caller = authenticate(state, &snap, headers, meta.client_ip)?;
    flight.row.user_id = Some(caller.user.id);
    flight.row.key_id = Some(caller.key.key.id);
    flight.row.key_name = Some(caller.key.key.name.clone());
    let bytes = read_limited(
        headers,
        body,
        state.settings.max_body_bytes,
        state.settings.client_body_timeout,
    )
    .await?;
    Ok((Admitted { snap, caller }, bytes))
}

/// Relays an OpenAI chat object. On `Ok`, the log row and the hold belong to the settlement; on `Err`, the caller
/// hands the error to `InFlight::fail`. `encoder` says how a stream is written for this client.
pub async fn run(
    state: &AppState,
    meta: &RequestMeta,
    admitted: &Admitted,
    mut request: Map<String, Value>,
    flight: &mut InFlight,
    encoder: impl FnOnce(&ChatRequestHead) -> ChunkEncoder,
    original: Original<'_>,
) -> Result<Relayed, ApiError> {
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    let row = &mut flight.row;
    let head = ChatRequestHead::from_object(&request).map_err(|e| ApiError::InvalidRequest {
        message: e.message,
        param: Some(e.param),
        code: None,
    })?;
    super::image_limit::check_chat(&state.settings, &request)?;
    row.model = Some(head.model.clone());
    row.stream = head.stream;

    let model = head.model.as_str();
    if !caller.may_use(model) {
        return Err(ApiError::ModelNotAllowed {
            model: model.to_owned(),
        });
    }
    let group = caller.user.group.as_str();
    if snap.channels_for(model, group).next().is_none() {
        return Err(ApiError::ModelNotFound {
            model: model.to_owned(),
        });
    }
    let price = snap
        .price(model)
        .cloned()
        .ok_or_else(|| ApiError::ModelNotPriced {
            model: model.to_owned(),
        })?;
    if !snap.channels_for(model, group).any(|c| selector::usable(c)) {
        return Err(ApiError::NoChannel {
            model: model.to_owned(),
        });
    }
    let prompt_estimate = estimate::prompt_tokens(&request);
    let completion_budget = head
        .max_tokens
        .unwrap_or(state.settings.default_max_tokens)
        .saturating_mul(head.n);
    // Only a stated `max_tokens` bounds the answer; without it the window learns the answer's size afterwards.
    let tokens_admitted = prompt_estimate.saturating_add(if head.max_tokens.is_some() {
        completion_budget
    } else {
        0
    });
    flight.tokens_admitted = state
        .check_rate_limits(&caller.key.key, group, tokens_admitted)
        .await?;

    let multiplier = snap.multiplier(group);
    let tokens = pricing::TokenCounts {
        prompt: prompt_estimate,
        cached: 0,
        completion: completion_budget,
    };
    let estimate = pricing::cost(&price, tokens, multiplier).max(1);
    // With `max_tokens` the estimate is a real bound, so it must fit whole; without it the completion part is a
    // guess, so the request runs if at least its prompt is affordable (settlement never exceeds what is left).
    let minimum = if head.max_tokens.is_some() {
        estimate
    } else {
        pricing::cost(
            &price,
            pricing::TokenCounts {
                prompt: prompt_estimate,
                ..Default::default()
            },
            multiplier,
        )
    };
    let reservation = state
        .ledger
        .reserve(
            &meta.id,
            caller.user.id,
            caller.key.key.id,
            estimate,
            minimum,
        )
        .await?;
    flight.hold(reservation);

    let original = match original {
        // Usage is added below: the client's bytes no longer say what is sent.
        Original::OpenAi(_) if head.stream && !head.include_usage => Original::Parsed,
        other => other,
    };
    if head.stream {
        // Ask for usage so the bill is exact; the tap strips the extra chunk again if the client did not ask.
        let opts = request
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(o) = opts {
            o.insert("include_usage".to_owned(), Value::Bool(true));
        }
    }
    let served = attempt::call(
        state,
        snap,
        model,
        group,
        &mut request,
        head.stream,
        &original,
    )
    .await;
    let served = match served {
        Ok(s) => s,
        Err(failed) => {
            flight.row.retries = i64::from(failed.retries);
            flight.row.channel_id = failed.channel_id;
            return Err(failed.error);
        }
    };
    flight.row.channel_id = Some(served.channel.channel.id);
    flight.row.upstream_model = Some(served.upstream_model.clone());
    flight.row.retries = i64::from(served.retries);
    let tokens_admitted = flight.tokens_admitted;
    let (row, reservation) = flight.hand_over()?;
    request.insert("model".to_owned(), Value::String(head.model.clone()));
    let settlement = Settlement {
        state: state.clone(),
        meta: meta.clone(),
        reservation,
        price,
        multiplier,
        model: head.model.clone(),
        request,
        row,
        tokens_admitted,
    };
    let ttft_ms = meta.elapsed_ms();
    Ok(match served.answer {
        Answer::Plain(body) => {
            settlement.finish(delivered_from_body(&body, ttft_ms));
            Relayed::Plain(body)
        }
        Answer::Stream { first, rest } => {
            let tap = UsageTap::new(first, rest, encoder(&head), settlement, ttft_ms);
            Relayed::Stream(Box::new(tap))
        }
        Answer::NativePlain(body) => {
            settlement.finish(crate::streaming::native::delivered_from_message(
                &body, ttft_ms,
            ));
            Relayed::NativePlain(body)
        }
        Answer::NativeStream { first, rest } => Relayed::NativeStream(Box::new(NativeTap::new(
            AnthropicEvents::default(),
            first,
            rest,
            settlement,
            ttft_ms,
        ))),
    })
}

#[derive(Deserialize)]
struct PlainAnswer {
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    choices: Vec<PlainChoice>,
}

#[derive(Deserialize)]
struct PlainChoice {
    #[serde(default)]
    message: Option<PlainMessage>,
}

#[derive(Deserialize)]
struct PlainMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

fn delivered_from_body(body: &[u8], ttft_ms: i64) -> Delivered {
    let mut d = Delivered {
        status: 200,
        ttft_ms: Some(ttft_ms),
        ..Default::default()
    };
    let Ok(answer) = serde_json::from_slice::<PlainAnswer>(body) else {
        return d;
    };
    d.usage = answer
        .usage
        .filter(|u| u.prompt_tokens + u.completion_tokens > 0);
    if d.usage.is_none() {
        for m in answer.choices.into_iter().filter_map(|c| c.message) {
            if let Some(Value::String(s)) = m.content {
                d.completion_text.push_str(&s);
            }
            for call in m.tool_calls.unwrap_or_default() {
                d.tool_calls += 1;
                if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    d.completion_text.push_str(args);
                }
            }
        }
    }
    d
}
