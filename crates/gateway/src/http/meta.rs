//! Per-request metadata set by the outermost middleware: a fresh, time-ordered request id (also sent as `x-request-id` on every
//! response, errors and streams included, and on every log line through the request's span), the client IP (the
//! TCP peer, or the address a trusted proxy forwarded: [`super::client_addr`]) and the arrival time. Everything
//! that needs the client's address reads `client_ip` from here.

use super::client_addr::TrustedProxies;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::HeaderValue;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;
use tracing::Instrument;

#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub id: String,
    pub client_ip: IpAddr,
    pub started: Instant,
    pub started_at: DateTime<Utc>,
}

impl RequestMeta {
    pub fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// The span every log line of a request is written in, so each line carries its request id (also for the work
/// that finishes after the response, which is instrumented with the same span).
pub fn span(meta: &RequestMeta) -> tracing::Span {
    tracing::info_span!("request", request_id = %meta.id)
}

pub async fn attach(
    State(proxies): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client_ip = proxies.client(peer, req.headers());
    let meta = RequestMeta {
        // Time-ordered (UUIDv7): the `logs.request_id` index then grows at its end instead of dirtying a random
        // page per row, which made SQLite rewrite (and re-read) one index page per logged request.
        id: format!("req_{}", uuid::Uuid::now_v7().simple()),
        client_ip,
        started: Instant::now(),
        started_at: Utc::now(),
    };
    let header = HeaderValue::from_str(&meta.id).ok();
    let span = span(&meta);
    req.extensions_mut().insert(meta);
    let mut resp = next.run(req).instrument(span).await;
    if let Some(h) = header {
        resp.headers_mut().insert("x-request-id", h);
    }
    resp
}
