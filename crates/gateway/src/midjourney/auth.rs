//! Midjourney clients authenticate like new-api accepts: `Authorization: Bearer sk-…`, or the `mj-api-secret`
//! header when Authorization is absent, empty or the placeholder `Bearer midjourney-proxy`. A token without the
//! `sk-` prefix is accepted too (midjourney-proxy clients often send the bare key).

use crate::auth::authenticate::{Caller, authenticate_secret};
use crate::auth::failures::AuthFailureLimiter;
use crate::catalog::Snapshot;
use crate::error::ApiError;
use http::HeaderMap;
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
    failures: &AuthFailureLimiter,
    snap: &Snapshot,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let token = bearer(headers).or_else(|| {
        let v = headers.get("mj-api-secret")?.to_str().ok()?.trim();
        let v = v.strip_prefix("Bearer ").unwrap_or(v).trim();
        (!v.is_empty()).then(|| v.to_owned())
    });
    // A bare key is looked up as `sk-…` too (`auth::key`), as midjourney-proxy clients often send it.
    authenticate_secret(failures, snap, Ok(token.as_deref()), ip)
}
