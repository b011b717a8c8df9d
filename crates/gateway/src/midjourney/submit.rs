//! `POST /mj/submit/{kind}` and `/mj/insight-face/swap`: authenticate, price the action (per mode), pick the channel
//! (the parent task's channel for follow-ups), reserve, relay, and store the task. Accepted (codes 1/21/22) → the
//! price is charged and the task stored; refused (3/4/23/24/…) → refunded and the upstream's answer passed back.

use super::Mode;
use super::action;
use super::auth;
use super::error::mj_error;
use super::policy;
use crate::billing::pricing::{TokenCounts, cost};
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::http::body::{parse_object, read_limited};
use crate::http::meta::RequestMeta;
use crate::relay::in_flight::InFlight;
use crate::routing::{health, probe};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use providers::midjourney::{self as mj, SubmitResult};
use providers::{ProviderKind, UpstreamError};
use serde_json::{Value, json};
use std::sync::Arc;
use store::{MjTask, NewMjTask};

pub async fn handle(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(mode): Extension<Mode>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, meta, mode, kind, headers, body).await
}

pub async fn swap_face(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(mode): Extension<Mode>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, meta, mode, "swap".to_owned(), headers, body).await
}

async fn submit(
    state: AppState,
    meta: RequestMeta,
    mode: Mode,
    kind: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut flight = InFlight::new(state.clone(), meta.clone(), false);
    match run(&state, &meta, mode, &kind, &headers, body, &mut flight).await {
        Ok(Outcome::Accepted(resp)) => resp,
        Ok(Outcome::Refused { result, http }) => {
            let err = ApiError::Conflict(format!(
                "upstream refused the task: code {} {}",
                result.code, result.description
            ));
            flight.fail(&err).await;
            (http, Json(submit_json(&result, result.code))).into_response()
        }
        Err(e) => {
            flight.fail(&e).await;
            mj_error(&e)
        }
    }
}

enum Outcome {
    Accepted(Response),
    /// The upstream answered but did not take the task: nothing is charged, its answer goes back as it is.
    Refused {
        result: SubmitResult,
        http: http::StatusCode,
    },
}

fn submit_json(r: &SubmitResult, code: i64) -> Value {
    json!({"code": code, "description": r.description, "result": r.result, "properties": r.properties})
}

/// Midjourney channels that serve `model` for `group` in `mode`, highest priority first, not yet tried.
fn select(
    snap: &Snapshot,
    model: &str,
    group: &str,
    mode: Mode,
    tried: &[i64],
) -> Option<Arc<ChannelEntry>> {
    let serves_mode = |c: &ChannelEntry| match (mode.as_str(), &c.channel.modes) {
        (None, _) | (_, None) => true,
        (Some(m), Some(modes)) => modes.iter().any(|x| x.eq_ignore_ascii_case(m)),
    };
    snap.channels_for(model, group)
        .filter(|c| {
            c.kind == ProviderKind::Midjourney
                && c.channel.enabled
                && c.has_healthy_key()
                && serves_mode(c)
                && !tried.contains(&c.channel.id)
        })
        .max_by_key(|c| c.channel.priority)
        .cloned()
}

fn upstream_path(kind: &str) -> String {
    if kind == "swap" {
        "/mj/insight-face/swap".to_owned()
    } else {
        format!("/mj/submit/{kind}")
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear submit flow; splitting it would scatter its invariants"
)]
async fn run(
    state: &AppState,
    meta: &RequestMeta,
    mode: Mode,
    kind: &str,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<Outcome, ApiError> {
    let snap = state.catalog.snapshot();
    let caller = auth::caller(state, &snap, headers, meta.client_ip)?;
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
    let mut req = parse_object(&bytes)?;
    drop(bytes);
    policy::check_fields(kind, &req)?;
    let action = action::of_submit(kind, &req)?;
    let model = action::model_name(action);
    flight.row.model = Some(model.clone());
    if kind == "imagine"
        && req
            .get("prompt")
            .and_then(Value::as_str)
            .is_none_or(|p| p.trim().is_empty())
    {
        return Err(ApiError::invalid(
            "`prompt` must not be empty",
            Some("prompt"),
        ));
    }
    if !caller.may_use(&model) {
        return Err(ApiError::ModelNotAllowed { model });
    }
    state
        .check_rate_limits(&caller.key.key, &caller.user.group, 0)
        .await?;
    let group = caller.user.group.clone();
    let parent: Option<MjTask> = match action::parent_id(kind, &req) {
        Some(pid) => Some(
            state
                .store
                .find_mj_task_for_user(caller.user.id, &pid)
                .await?
                .ok_or_else(|| ApiError::NotFound {
                    what: format!("Task {pid}"),
                })?,
        ),
        None => None,
    };
    if parent.is_none() && snap.channels_for(&model, &group).next().is_none() {
        return Err(ApiError::ModelNotFound { model });
    }
    let modes = policy::settle_modes(&mut req, mode)?;
    let purchase = policy::purchase(&snap, &model, &modes)?;
    let amount = cost(
        &purchase.price,
        TokenCounts::default(),
        snap.multiplier(&group),
    );
    let hook = match req.remove("notifyHook") {
        Some(Value::String(h)) if !h.trim().is_empty() => {
            state
                .media
                .check_url(h.trim())
                .map_err(|e| ApiError::invalid(e.message, Some("notifyHook")))?;
            Some(h.trim().to_owned())
        }
        _ => None,
    };
    let reservation = state
        .ledger
        .reserve(
            &meta.id,
            caller.user.id,
            caller.key.key.id,
            amount.max(1),
            amount.max(1),
        )
        .await?;
    flight.hold(reservation);

    let body = Value::Object(req.clone());
    let max_attempts = if parent.is_some() {
        1
    } else {
        state.settings.max_retries.saturating_add(1)
    };
    let mut tried = Vec::new();
    let mut last_error: Option<UpstreamError> = None;
    let mut answer: Option<(Arc<ChannelEntry>, SubmitResult)> = None;
    while u32::try_from(tried.len()).unwrap_or(u32::MAX) < max_attempts {
        let channel = match &parent {
            Some(p) => snap
                .channel(p.channel_id)
                .cloned()
                .filter(|c| c.channel.enabled),
            None => select(&snap, &model, &group, mode, &tried),
        };
        let Some(channel) = channel else { break };
        tried.push(channel.channel.id);
        let Some(key) = channel
            .pick_key()
            .or_else(|| channel.channel.keys.first())
            .cloned()
        else {
            continue;
        };
        let ctx = probe::upstream_ctx(state, &channel, &key);
        match mj::submit(&ctx, &upstream_path(kind), &body).await {
            Ok(result) if result.code == 3 && parent.is_none() => {
                // "No available account": out of rotation until a probe passes, and try another channel.
                health::take_key_out(
                    state,
                    &channel,
                    key.id,
                    &format!("upstream code 3: {}", result.description),
                );
                last_error = Some(UpstreamError::new(
                    providers::UpstreamErrorKind::Status(503),
                    format!("upstream has no available account: {}", result.description),
                ));
            }
            Ok(result) => {
                answer = Some((channel, result));
                break;
            }
            Err(e) => {
                health::report_failure(state, &channel, key.id, &e);
                let retry = e.is_retryable();
                last_error = Some(e);
                if !retry {
                    break;
                }
            }
        }
    }
    flight.row.retries = i64::try_from(tried.len().saturating_sub(1)).unwrap_or(0);
    let Some((channel, result)) = answer else {
        if let Some(p) = &parent
            && snap
                .channel(p.channel_id)
                .is_none_or(|c| !c.channel.enabled)
        {
            return Err(ApiError::NoChannel { model });
        }
        return Err(last_error.map_or(ApiError::NoChannel { model }, ApiError::Upstream));
    };
    flight.row.channel_id = Some(channel.channel.id);
    flight.row.upstream_model = Some(model.clone());
    if !matches!(result.code, 1 | 21 | 22) {
        return Ok(Outcome::Refused {
            result,
            http: http::StatusCode::OK,
        });
    }

    // Accepted: store the task (upload returns URLs, not a task), charge, answer.
    let existed_done = result.code == 21
        && result.properties.get("status").and_then(Value::as_str) == Some("SUCCESS");
    let status = match result.code {
        22 => "NOT_START",
        21 if existed_done => "SUCCESS",
        21 => "MODAL",
        _ => "SUBMITTED",
    };
    if let Some(upstream_id) = result.result.as_ref().and_then(Value::as_str) {
        let mut properties = result.properties.clone();
        if let (Some(obj), Some(custom)) = (properties.as_object_mut(), req.get("customId")) {
            obj.insert("customId".into(), custom.clone());
        }
        let new = NewMjTask {
            upstream_id: upstream_id.to_owned(),
            user_id: caller.user.id,
            key_id: caller.key.key.id,
            channel_id: channel.channel.id,
            action: action.to_owned(),
            mode: purchase.mode.map(str::to_owned),
            prompt: req.get("prompt").and_then(Value::as_str).map(str::to_owned),
            state: req.get("state").and_then(Value::as_str).map(str::to_owned),
            status: status.to_owned(),
            progress: if existed_done {
                "100%".into()
            } else {
                "0%".into()
            },
            properties,
            buttons: json!([]),
            notify_hook: hook,
            submit_time: Some(chrono::Utc::now().timestamp_millis()),
            cost: amount,
        };
        if let Err(e) = state.store.create_mj_task(&new).await {
            tracing::error!(request_id = %meta.id, error = %e, "storing a Midjourney task failed");
        }
    }
    let (mut row, reservation) = flight.hand_over()?;
    row.status = 200;
    row.latency_ms = meta.elapsed_ms();
    state.logs.push_charged(row, &reservation, amount).await;
    // Clients treat 1 as "task created"; 21 stays only when a modal confirmation is pending after an action.
    let client_code = if result.code == 21 && status == "MODAL" && kind == "action" {
        21
    } else {
        1
    };
    Ok(Outcome::Accepted(
        Json(submit_json(&result, client_code)).into_response(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstream_paths() {
        assert_eq!(super::upstream_path("imagine"), "/mj/submit/imagine");
        assert_eq!(super::upstream_path("swap"), "/mj/insight-face/swap");
    }
}
