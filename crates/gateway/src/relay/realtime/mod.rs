//! `GET /v1/realtime?model=…`: the OpenAI Realtime API, a WebSocket relayed to OpenAI-compatible and Azure
//! channels (docs/realtime.md, decision 0018).
//!
//! - `upgrade.rs`: the key (Bearer, or the browser's `openai-insecure-api-key.<key>` subprotocol) and the session's
//!   admission, before the WebSocket is accepted — a refusal is a plain HTTP error;
//! - `upstream.rs`: the upstream WebSocket, opened through the one failover loop;
//! - `pump.rs`: the events in both directions, relayed untouched but for the few Tollgate acts on;
//! - `bill.rs`: the hold, the settlement and the log row of each response, and the session's row;
//! - `events.rs`: reading events, and the error events Tollgate sends itself.

mod bill;
mod events;
mod pump;
mod upgrade;
mod upstream;

use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::relay::in_flight::InFlight;
use crate::state::AppState;
use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

/// The subprotocol a browser names first; the only one ever echoed back (never the key's).
pub const SUBPROTOCOL: &str = "realtime";

/// Serves one upgrade: admission and the upstream connection first (refusals are HTTP errors), then the session.
pub async fn handle(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let mut flight = InFlight::new(state.clone(), meta.clone(), true);
    let opened = upgrade::open(&state, &meta, &headers, query.as_deref(), &ws, &mut flight).await;
    let ((session, upstream), ws) = match (opened, ws) {
        (Ok(opened), Ok(ws)) => (opened, ws),
        (Err(e), _) => {
            flight.fail(&e).await;
            return e.into_response();
        }
        (Ok(_), Err(rejection)) => {
            let e = ApiError::invalid(
                format!("/v1/realtime takes a WebSocket upgrade: {rejection}"),
                None,
            );
            flight.fail(&e).await;
            return e.into_response();
        }
    };
    let max = state.settings.max_body_bytes;
    // The session runs in the task tracker, so shutdown waits for its settlements.
    let tasks = state.tasks.clone();
    ws.protocols([SUBPROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let session = tasks.spawn(pump::run(session, flight, socket, upstream));
            if let Err(e) = session.await {
                tracing::error!(error = %e, "realtime session task failed");
            }
        })
}
