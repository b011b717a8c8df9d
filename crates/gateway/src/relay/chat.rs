//! `POST /v1/chat/completions`.

use super::attempt::{self, Answer};
use super::in_flight::InFlight;
use super::settle::{Delivered, Settlement};
use crate::auth::key::authenticate;
use crate::billing::{estimate, pricing};
use crate::error::ApiError;
use crate::http::body::{parse_object, read_limited};
use crate::http::meta::RequestMeta;
use crate::routing::selector;
use crate::state::AppState;
use crate::streaming::tap::UsageTap;
use api_types::Usage;
use api_types::chat::ChatRequestHead;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;

pub async fn handle(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut flight = InFlight::new(state.clone(), meta.clone(), false);
    match relay(&state, &meta, &headers, body, &mut flight).await {
        Ok(resp) => resp,
        Err(e) => {
            flight.fail(&e).await;
            e.into_response()
        }
    }
}

/// On `Ok`, the log row and the hold have been handed to the settlement; on `Err`, `InFlight::fail` refunds and
/// logs.
async fn relay(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<Response, ApiError> {
    let row = &mut flight.row;
    let snap = state.catalog.snapshot();
    let caller = authenticate(state, &snap, headers, meta.client_ip)?;
    row.user_id = Some(caller.user.id);
    row.key_id = Some(caller.key.key.id);
    row.key_name = Some(caller.key.key.name.clone());

    let bytes = read_limited(
        headers,
        body,
        state.settings.max_body_bytes,
        state.settings.client_body_timeout,
    )
    .await?;
    let mut request = parse_object(&bytes)?;
    drop(bytes);
    let head = ChatRequestHead::from_object(&request).map_err(|e| ApiError::InvalidRequest {
        message: e.message,
        param: Some(e.param.to_owned()),
        code: None,
    })?;
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
    if let Some(limit) = caller.key.key.rpm_limit {
        state
            .rpm
            .check(caller.key.key.id, limit)
            .map_err(|retry_after| ApiError::RateLimited { limit, retry_after })?;
    }

    let multiplier = snap.multiplier(group);
    let prompt_estimate = estimate::prompt_tokens(&request);
    let completion_budget = head
        .max_tokens
        .unwrap_or(state.settings.default_max_tokens)
        .saturating_mul(head.n);
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
        .store
        .reserve(
            &meta.id,
            caller.user.id,
            caller.key.key.id,
            estimate,
            minimum,
        )
        .await?;
    flight.hold(reservation);

    if head.stream {
        // Ask for usage so the bill is exact; the tap strips the extra chunk again if the client did not ask.
        let opts = request
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(o) = opts {
            o.insert("include_usage".to_owned(), Value::Bool(true));
        }
    }
    let served = attempt::call(state, &snap, model, group, &mut request, head.stream).await;
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
    };
    let ttft_ms = meta.elapsed_ms();
    match served.answer {
        Answer::Plain(body) => {
            settlement.finish(delivered_from_body(&body, ttft_ms));
            Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response())
        }
        Answer::Stream { first, rest } => {
            let tap = UsageTap::new(first, rest, head.include_usage, settlement, ttft_ms);
            let mut resp = Response::new(Body::from_stream(tap));
            *resp.status_mut() = StatusCode::OK;
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert("x-accel-buffering", HeaderValue::from_static("no"));
            Ok(resp)
        }
    }
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
