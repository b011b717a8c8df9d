//! The upgrade request: the caller's key — `Authorization: Bearer sk-…` (the SDKs), or the browser's subprotocol
//! `openai-insecure-api-key.<key>` — then the one admission path (model permission, a channel for the group, a
//! price, rate limits, and a token hold that proves the account can pay for something), then the upstream
//! WebSocket through the one failover loop. Everything here happens before the client's WebSocket is accepted, so
//! each refusal is a plain HTTP error in OpenAI's shape.

use super::upstream::{self, Upstream};
use crate::auth::authenticate::{Caller, authenticate, authenticate_secret};
use crate::auth::failures::AuthFailureLimiter;
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::relay::admission::{self, Admission, Ask, OutputAsk};
use crate::relay::failover::{self, Failover, Route};
use crate::relay::in_flight::InFlight;
use crate::routing::selector;
use crate::state::AppState;
use api_types::ChannelKind;
use axum::body::Body;
use axum::extract::Query;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use http::{HeaderMap, HeaderValue, header};
use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::ControlFlow;

/// The browser's form of the key: one subprotocol named with this prefix.
const KEY_SUBPROTOCOL: &str = "openai-insecure-api-key.";

/// An admitted session, connected upstream.
pub struct Session {
    pub state: AppState,
    pub meta: RequestMeta,
    pub caller: Caller,
    pub admission: Admission,
}

/// Admits the upgrade and connects the upstream (the client's WebSocket is not accepted yet).
pub async fn open(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    query: Option<&str>,
    ws: &Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    flight: &mut InFlight,
) -> Result<(Session, Upstream), ApiError> {
    let (admitted, _) =
        admission::authenticate_with(state, meta, headers, Body::empty(), flight, credential)
            .await?;
    let model = model_of(query)?;
    flight.row.model = Some(model.clone());
    if let Err(rejection) = ws {
        return Err(ApiError::invalid(
            format!("/v1/realtime takes a WebSocket upgrade: {rejection}"),
            None,
        ));
    }
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    let group = caller.user.group.clone();
    let serves = |c: &ChannelEntry| {
        selector::usable(c) && matches!(c.channel.kind, ChannelKind::OpenAi | ChannelKind::Azure)
    };
    // The session's own hold is the least a response could cost (its first output token): an account that cannot
    // pay for that is refused at the door, 429 `insufficient_quota`. It is given back with the session's row.
    let admission = admission::admit(
        &admitted,
        flight,
        Ask::new(
            &model,
            snap.price(&model).cloned(),
            &serves,
            OutputAsk::Firm(1),
        ),
    )
    .await?;
    let beta = headers.get("openai-beta").cloned();
    let route = Route {
        model: &model,
        group: &group,
        serves: &serves,
        pinned: None,
        retry_protocol_errors: true,
    };
    let served = connect(state, snap, route, beta.as_ref()).await;
    let served = failover::noted(flight, served)?;
    let session = Session {
        state: state.clone(),
        meta: meta.clone(),
        caller: admitted.caller.clone(),
        admission,
    };
    Ok((session, served.answer))
}

/// Connects one channel after another until one accepts the WebSocket (the one failover loop).
async fn connect(
    state: &AppState,
    snap: &Snapshot,
    route: Route<'_>,
    beta: Option<&HeaderValue>,
) -> Result<failover::Served<Upstream>, failover::Failed> {
    let max = state.settings.max_body_bytes;
    let mut failover = Failover::new(state, snap, route);
    loop {
        let Some(t) = failover.next_try() else {
            return Err(failover.exhausted());
        };
        let result = upstream::connect(&t, beta, max).await;
        if let ControlFlow::Break(done) = failover.record(t, result) {
            return done;
        }
    }
}

/// The key from `Authorization` (or `x-api-key`), else from the browser's subprotocol.
fn credential(
    failures: &AuthFailureLimiter,
    snap: &Snapshot,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key") {
        return authenticate(failures, snap, headers, ip);
    }
    authenticate_secret(failures, snap, Ok(subprotocol_key(headers)), ip)
}

/// The key a browser sends as the subprotocol `openai-insecure-api-key.<key>`.
fn subprotocol_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(KEY_SUBPROTOCOL))
        .filter(|k| !k.is_empty())
}

/// The `model` query parameter (percent-decoded).
fn model_of(query: Option<&str>) -> Result<String, ApiError> {
    let missing = || ApiError::invalid("`model` is a required query parameter.", Some("model"));
    let uri: http::Uri = format!("/?{}", query.unwrap_or_default())
        .parse()
        .map_err(|_| missing())?;
    let Query(params) =
        Query::<HashMap<String, String>>::try_from_uri(&uri).map_err(|_| missing())?;
    params
        .get("model")
        .filter(|m| !m.is_empty())
        .cloned()
        .ok_or_else(missing)
}
