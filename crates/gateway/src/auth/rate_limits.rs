//! Per-minute windows, counted across every instance through `cache::Shared` (Redis when configured, else this
//! process): a key's requests and tokens (its own limits, else its group's) and a user's self-service key writes.
//! Each window has one typed name ([`Window`]), so no two places spell a counter's key.

use crate::catalog::Snapshot;
use crate::error::ApiError;
use cache::Shared;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// Self-service key writes (create, change, delete) a user may make per minute.
pub const KEY_WRITES_PER_MINUTE: u64 = 30;

/// A per-minute counter.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// A key's requests.
    Requests(i64),
    /// A key's tokens (prompt estimate plus `max_tokens` at admission, corrected at settlement).
    Tokens(i64),
    /// A user's self-service key writes.
    KeyWrites(i64),
}

impl Window {
    fn name(self) -> String {
        match self {
            Self::Requests(key) => format!("rpm:{key}"),
            Self::Tokens(key) => format!("tpm:{key}"),
            Self::KeyWrites(user) => format!("key-writes:{user}"),
        }
    }
}

/// Counts the request against its key's requests-per-minute window and admits it into the tokens-per-minute window
/// with `tokens` (its estimate), so requests running at the same time see each other's tokens; [`settle`] corrects
/// the estimate after the answer. Returns the tokens admitted, or `None` when no tokens-per-minute limit applies
/// (then there is nothing to correct).
pub async fn admit(
    shared: &Shared,
    snap: &Snapshot,
    key: &store::ApiKey,
    group: &str,
    tokens: u64,
) -> Result<Option<u64>, ApiError> {
    let (group_rpm, group_tpm) = snap.group_limits(group);
    if let Some(limit) = key.rpm_limit.or(group_rpm) {
        count(shared, Window::Requests(key.id), 1, limit)
            .await
            .map_err(|retry_after| ApiError::RateLimited { limit, retry_after })?;
    }
    let Some(limit) = key.tpm_limit.or(group_tpm) else {
        return Ok(None);
    };
    count(shared, Window::Tokens(key.id), tokens, limit)
        .await
        .map_err(|retry_after| ApiError::TokenRateLimited { limit, retry_after })?;
    Ok(Some(tokens))
}

/// Replaces the tokens a request was admitted with (its estimate) by the tokens it really used, in its key's
/// tokens-per-minute window. A request that failed used none.
pub async fn settle(shared: &Shared, key_id: i64, admitted: Option<u64>, used: u64) {
    let Some(admitted) = admitted else { return };
    let delta = i64::try_from(used)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(admitted).unwrap_or(i64::MAX));
    if delta != 0 {
        shared
            .add(&Window::Tokens(key_id).name(), delta, MINUTE)
            .await;
    }
}

/// Counts one self-service key write of `user_id`.
pub async fn admit_key_write(shared: &Shared, user_id: i64) -> Result<(), ApiError> {
    let window = Window::KeyWrites(user_id);
    let per_minute = i64::try_from(KEY_WRITES_PER_MINUTE).unwrap_or(i64::MAX);
    count(shared, window, 1, per_minute)
        .await
        .map_err(|retry_after| ApiError::KeyWritesLimited {
            limit: KEY_WRITES_PER_MINUTE,
            retry_after,
        })
}

/// Adds `amount` to `window` unless that passes `limit` a minute; `Err(retry_after)` when it would.
async fn count(shared: &Shared, window: Window, amount: u64, limit: i64) -> Result<(), Duration> {
    let per_minute = u64::try_from(limit).unwrap_or(0);
    shared
        .admit(&window.name(), amount, per_minute, MINUTE)
        .await
}
