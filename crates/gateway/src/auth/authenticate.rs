//! Authenticates a relay request: finds the key by its hash in the catalog and applies the key's own rules
//! (enabled, expiry, owner enabled, IP allowlist). Model permission is checked once the model is known.
//!
//! The lookup comes before the failed-auth limit: a key that exists is answered on its own merits even from an
//! address over the limit (a cheap hash lookup; see [`super::failures`]); only a missing or unknown key is
//! refused with 429 there, or else counted and refused with 401.

use super::failures::AuthFailureLimiter;
use super::key_format;
use crate::catalog::{KeyEntry, Snapshot};
use crate::error::ApiError;
use chrono::Utc;
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;
use store::User;

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    pub key: Arc<KeyEntry>,
    pub user: User,
}

impl Caller {
    pub fn may_use(&self, model: &str) -> bool {
        self.key
            .key
            .models
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|m| m == model))
    }
}

fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "***".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}***{tail}")
}

pub fn authenticate(
    failures: &AuthFailureLimiter,
    snap: &Snapshot,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let secret = key_format::credential(headers).map_err(|key_format::MalformedAuthorization| {
        ApiError::InvalidKey {
            masked: "(malformed Authorization header)".to_owned(),
        }
    });
    authenticate_secret(failures, snap, secret, ip)
}

/// [`authenticate`] for a secret a route found itself (Midjourney's `mj-api-secret`); `Ok(None)`: none was sent.
pub fn authenticate_secret(
    failures: &AuthFailureLimiter,
    snap: &Snapshot,
    secret: Result<Option<&str>, ApiError>,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    // A key that exists but may not be used (disabled, expired, owner disabled, wrong address) is a failure too:
    // a revoked key retried by a script is throttled like a guessed one, and its rows are then folded.
    let found = secret.and_then(|s| s.ok_or(ApiError::MissingKey));
    match found
        .and_then(|s| lookup(snap, s))
        .and_then(|(entry, s)| check(snap, entry, s, ip))
    {
        Ok(caller) => Ok(caller),
        Err(refusal) => {
            if let Some(retry_after) = failures.blocked(ip) {
                return Err(ApiError::TooManyAuthFailures { retry_after });
            }
            failures.record_failure(ip);
            Err(refusal)
        }
    }
}

/// The key `secret` names, with the secret; an unknown key is the error.
fn lookup<'a>(
    snap: &'a Snapshot,
    secret: &'a str,
) -> Result<(&'a Arc<KeyEntry>, &'a str), ApiError> {
    let entry = snap
        .key_by_hash(&key_format::hash_bytes(secret))
        .or_else(|| {
            // new-api and one-api accept their keys with or without `sk-`, and some clients were set up with
            // the bare key; imported keys are stored as `sk-…`, so a bare key is looked up that way too.
            (!secret.starts_with("sk-"))
                .then(|| snap.key_by_hash(&key_format::hash_bytes(&format!("sk-{secret}"))))
                .flatten()
        })
        .ok_or_else(|| ApiError::InvalidKey {
            masked: mask(secret),
        })?;
    Ok((entry, secret))
}

/// The key's own rules, for a key that exists.
fn check(
    snap: &Snapshot,
    entry: &Arc<KeyEntry>,
    secret: &str,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let key = &entry.key;
    if !key.enabled {
        return Err(ApiError::KeyDisabled {
            name: key.name.clone(),
        });
    }
    if key.expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(ApiError::KeyExpired {
            name: key.name.clone(),
        });
    }
    let user = snap.user(key.user_id).ok_or_else(|| ApiError::InvalidKey {
        masked: mask(secret),
    })?;
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    if !key.ip_allowlist.is_empty() && !entry.networks.iter().any(|n| n.contains(&ip)) {
        return Err(ApiError::IpNotAllowed { ip: ip.to_string() });
    }
    Ok(Caller {
        key: entry.clone(),
        user: user.clone(),
    })
}
