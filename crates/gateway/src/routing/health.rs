//! Channel health. An upstream that rejects our credentials (401/403) or says the account is out of money takes
//! that key out of rotation, with the reason recorded; a channel whose keys are all out is `unhealthy`. Other
//! failures only record `last_error`.
//!
//! A key leaves (or re-enters) rotation in memory first, on the channel's `KeyHealth`, so the very next request
//! already sees it; the store is written off the request path, the catalog rebuilt and the change announced to
//! other instances after that.

use crate::catalog::ChannelEntry;
use crate::state::AppState;
use providers::UpstreamError;
use std::sync::Arc;

pub fn report_failure(
    state: &AppState,
    channel: &Arc<ChannelEntry>,
    key_id: i64,
    err: &UpstreamError,
) {
    let disable = err.disables_key();
    if disable {
        channel.key_health.decide(key_id, false);
    }
    let state2 = state.clone();
    let channel = channel.clone();
    let err = err.clone();
    state.tasks.spawn(async move {
        let state = state2;
        let message = err.message.clone();
        let mut persisted = false;
        if disable {
            tracing::warn!(channel = %channel.channel.name, key_id, error = %message, "upstream key taken out of rotation");
            match state.store.set_channel_key_health(key_id, false, Some(&message)).await {
                Ok(()) => persisted = true,
                Err(e) => tracing::error!(error = %e, "cannot record key health"),
            }
        }
        let remaining = channel.channel.keys.iter().filter(|k| channel.key_healthy(k)).count();
        let health = store::ChannelHealth::of_keys(remaining);
        if let Err(e) = state.store.set_channel_health(channel.channel.id, health, Some(&message)).await {
            tracing::error!(error = %e, "cannot record channel health");
        }
        if disable {
            state.refresh_catalog().await;
        }
        // Kept in memory when the store could not take it: the key stays out until a probe restores it.
        if persisted {
            channel.key_health.settled(key_id, false);
        }
    });
}

/// Takes a key out of rotation for a reason that is not an HTTP failure (a Midjourney "no available account").
pub fn take_key_out(state: &AppState, channel: &Arc<ChannelEntry>, key_id: i64, reason: &str) {
    let mut err = UpstreamError::new(providers::UpstreamErrorKind::Status(403), reason);
    err.code = Some("no_available_account".to_owned());
    report_failure(state, channel, key_id, &err);
}

/// Puts a key back into rotation after a successful probe: in memory at once, then in the store.
pub async fn restore_key(state: &AppState, channel: &ChannelEntry, key_id: i64) {
    channel.key_health.decide(key_id, true);
    if let Err(e) = state.store.set_channel_key_health(key_id, true, None).await {
        tracing::error!(error = %e, "cannot record key health");
        return;
    }
    if let Err(e) = state
        .store
        .set_channel_health(channel.channel.id, store::ChannelHealth::Healthy, None)
        .await
    {
        tracing::error!(error = %e, "cannot record channel health");
    }
    state.refresh_catalog().await;
    channel.key_health.settled(key_id, true);
}
