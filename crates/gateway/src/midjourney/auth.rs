//! Midjourney clients authenticate like new-api accepts: `Authorization: Bearer sk-…`, or the `mj-api-secret`
//! header when Authorization is absent, empty or the placeholder `Bearer midjourney-proxy`. A token without the
//! `sk-` prefix is accepted too (midjourney-proxy clients often send the bare key).

use crate::auth::key::{Caller, authenticate};
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::state::AppState;
use http::{HeaderMap, HeaderValue};
use std::net::IpAddr;

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .unwrap_or(v)
        .trim();
    (!token.is_empty() && token != "midjourney-proxy").then(|| token.to_owned())
}

pub fn caller(
    state: &AppState,
    snap: &Snapshot,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let token = bearer(headers).or_else(|| {
        let v = headers.get("mj-api-secret")?.to_str().ok()?.trim();
        let v = v.strip_prefix("Bearer ").unwrap_or(v).trim();
        (!v.is_empty()).then(|| v.to_owned())
    });
    let mut synthetic = HeaderMap::new();
    if let Some(t) = token {
        let full = if t.starts_with("sk-") {
            t
        } else {
            format!("sk-{t}")
        };
        let value =
            HeaderValue::from_str(&format!("Bearer {full}")).map_err(|_| ApiError::InvalidKey {
                masked: "(unreadable token)".to_owned(),
            })?;
        synthetic.insert(http::header::AUTHORIZATION, value);
    }
    authenticate(state, snap, &synthetic, ip)
}
