//! `POST /mj/submit/{kind}` and `/mj/insight-face/swap`: authenticate, price the action (per mode), pick the channel
//! (the parent task's channel for follow-ups), reserve, relay, and store the task. Accepted (codes 1/21/22) → the
//! price is charged and the task stored; refused (3/4/23/24/…) → refunded and the upstream's answer passed back.

use super::RouteMode;
use super::action;
use super::auth;
use super::error::mj_error;
use super::policy;
use crate::billing::pricing::{TokenCounts, cost};
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::http::body::parse_object;
use crate::http::meta::RequestMeta;
use crate::relay::admission::{self, Ask, OutputAsk};
use crate::relay::failover::{self, Failover, Route, Try};
use crate::relay::in_flight::InFlight;
use crate::relay::incoming::Incoming;
use crate::state::AppState;
use api_types::ChannelKind;
use api_types::MjMode;
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use providers::midjourney::{self as mj, SubmitResult};
use providers::{UpstreamError, UpstreamErrorKind};
use serde_json::{Map, Value, json};
use std::ops::ControlFlow;
use std::sync::Arc;
use store::{MjTask, NewMjTask};

pub async fn handle(
    incoming: Incoming,
    Extension(mode): Extension<RouteMode>,
    Path(kind): Path<String>,
    body: Body,
) -> Response {
    submit(incoming, mode, kind, body).await
}

pub async fn swap_face(
    incoming: Incoming,
    Extension(mode): Extension<RouteMode>,
    body: Body,
) -> Response {
    submit(incoming, mode, "swap".to_owned(), body).await
}

async fn submit(incoming: Incoming, mode: RouteMode, kind: String, body: Body) -> Response {
    let (state, meta) = (&incoming.state, &incoming.meta);
    let mut flight = InFlight::new(state.clone(), meta.clone(), false);
    match run(
        state,
        meta,
        mode,
        &kind,
        &incoming.headers,
        body,
        &mut flight,
    )
    .await
    {
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

/// Whether a channel can run a task bought in one of `modes` (any mode when none is named).
fn serves(c: &ChannelEntry, modes: &[MjMode]) -> bool {
    let in_mode = match &c.channel.modes {
        None => true,
        Some(offered) => modes.is_empty() || modes.iter().any(|m| offered.contains(m)),
    };
    c.channel.kind == ChannelKind::Midjourney && c.channel.enabled && c.has_healthy_key() && in_mode
}

fn upstream_path(kind: &str) -> String {
    if kind == "swap" {
        "/mj/insight-face/swap".to_owned()
    } else {
        format!("/mj/submit/{kind}")
    }
}

/// The task a follow-up acts on, the user's own (another user's task id is a 404).
async fn parent_task(
    state: &AppState,
    user_id: i64,
    kind: &str,
    req: &Map<String, Value>,
) -> Result<Option<MjTask>, ApiError> {
    let Some(pid) = action::parent_id(kind, req) else {
        return Ok(None);
    };
    let task = state.store.find_mj_task_for_user(user_id, &pid).await?;
    task.map(Some).ok_or_else(|| ApiError::NotFound {
        what: format!("Task {pid}"),
    })
}

/// The client's `notifyHook`, taken out of the body (Tollgate calls it itself), if its address may be called.
fn notify_hook(state: &AppState, req: &mut Map<String, Value>) -> Result<Option<String>, ApiError> {
    match req.remove("notifyHook") {
        Some(Value::String(h)) if !h.trim().is_empty() => {
            state
                .media
                .check_url(h.trim())
                .map_err(|e| ApiError::invalid(e.message, Some("notifyHook")))?;
            Ok(Some(h.trim().to_owned()))
        }
        _ => Ok(None),
    }
}

/// Submits on one channel after another until one answers (the one failover loop).
async fn attempts(
    mut failover: Failover<'_>,
    kind: &str,
    body: &Value,
    pinned: bool,
) -> Result<failover::Served<SubmitResult>, failover::Failed> {
    loop {
        let Some(t) = failover.next_try() else {
            return Err(failover.exhausted());
        };
        let result = attempt(&t, kind, body, pinned).await;
        if let ControlFlow::Break(done) = failover.record(t, result) {
            return done;
        }
    }
}

/// A follow-up runs where its task ran; a channel since removed or disabled cannot take it.
fn pinned_channel(
    snap: &Snapshot,
    channel_id: i64,
    model: &str,
) -> Result<Arc<ChannelEntry>, ApiError> {
    snap.channel(channel_id)
        .filter(|c| c.channel.enabled)
        .cloned()
        .ok_or_else(|| ApiError::NoChannel {
            model: model.to_owned(),
        })
}

/// The stored status of an accepted submit (22 queued, 21 an existing task or a pending modal), and whether the
/// task exists and is done already.
fn accepted_status(result: &SubmitResult) -> (&'static str, bool) {
    let existed_done = result.code == 21
        && result.properties.get("status").and_then(Value::as_str) == Some("SUCCESS");
    let status = match result.code {
        22 => "NOT_START",
        21 if existed_done => "SUCCESS",
        21 => "MODAL",
        _ => "SUBMITTED",
    };
    (status, existed_done)
}

async fn run(
    state: &AppState,
    meta: &RequestMeta,
    mode: RouteMode,
    kind: &str,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<Outcome, ApiError> {
    let (admitted, bytes) =
        admission::authenticate_with(state, meta, headers, body, flight, auth::caller).await?;
    let (snap, caller) = (&admitted.snap, &admitted.caller);
    let mut req = parse_object(&bytes)?;
    drop(bytes);
    policy::check_fields(kind, &req)?;
    let action = action::of_submit(kind, &req)?;
    let model = action::model_name(action);
    flight.row.model = Some(model.clone());
    let parent = parent_task(state, caller.user.id, kind, &req).await?;
    let modes = policy::settle_modes(&mut req, mode)?;
    let priced = policy::with_parent_mode(modes.clone(), parent.as_ref().and_then(|p| p.mode));
    let purchase = policy::purchase(snap, &model, &priced)?;
    let hook = notify_hook(state, &mut req)?;
    let pinned = parent
        .as_ref()
        .map(|p| pinned_channel(snap, p.channel_id, &model))
        .transpose()?;
    let serves = |c: &ChannelEntry| serves(c, &modes);
    let admission = admission::admit(
        &admitted,
        flight,
        Ask {
            pinned: pinned.is_some(),
            ..Ask::new(
                &model,
                Some(purchase.price.clone()),
                &serves,
                OutputAsk::Nothing,
            )
        },
    )
    .await?;
    let amount = cost(
        &admission.price,
        TokenCounts::default(),
        admission.multiplier,
    );

    let body = Value::Object(req.clone());
    let route = Route {
        model: &model,
        group: &admission.group,
        serves: &serves,
        pinned: pinned.clone(),
        retry_protocol_errors: false,
    };
    let served = attempts(
        Failover::new(state, snap, route),
        kind,
        &body,
        pinned.is_some(),
    )
    .await;
    let served = failover::noted(flight, served).map_err(no_account_is_unavailable)?;
    let (channel, result) = (served.channel, served.answer);
    if !matches!(result.code, 1 | 21 | 22) {
        return Ok(Outcome::Refused {
            result,
            http: http::StatusCode::OK,
        });
    }

    // Accepted: store the task (upload returns URLs, not a task), charge, answer.
    let (status, existed_done) = accepted_status(&result);
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
            mode: purchase.mode,
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

/// One submit on `t`'s channel. Code 3 ("no available account") on a channel chosen here is that key's failure: it
/// goes out of rotation (as an upstream 403 would) and the next channel is tried; a follow-up pinned to its
/// task's channel passes the answer back instead.
async fn attempt(
    t: &Try,
    kind: &str,
    body: &Value,
    pinned: bool,
) -> Result<SubmitResult, UpstreamError> {
    let result = mj::submit(&t.ctx, &upstream_path(kind), body).await?;
    if result.code == 3 && !pinned {
        let mut e = UpstreamError::new(
            UpstreamErrorKind::Status(403),
            format!("upstream code 3: {}", result.description),
        );
        e.code = Some(NO_AVAILABLE_ACCOUNT.to_owned());
        return Err(e);
    }
    Ok(result)
}

const NO_AVAILABLE_ACCOUNT: &str = "no_available_account";

/// Every channel answered "no available account": to the client that is the service being unavailable (503).
fn no_account_is_unavailable(error: ApiError) -> ApiError {
    match error {
        ApiError::Upstream(e) if e.code.as_deref() == Some(NO_AVAILABLE_ACCOUNT) => {
            ApiError::Upstream(UpstreamError::new(
                UpstreamErrorKind::Status(503),
                format!("upstream has no available account: {}", e.message),
            ))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstream_paths() {
        assert_eq!(super::upstream_path("imagine"), "/mj/submit/imagine");
        assert_eq!(super::upstream_path("swap"), "/mj/insight-face/swap");
    }
}
