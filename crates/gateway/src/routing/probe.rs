//! Channel tests: one tiny real chat request (`"hi"`, `max_tokens: 1`). Used by the admin test endpoint and by the
//! background prober, which re-tests keys taken out of rotation every `--probe-interval` and restores those that
//! answer again.

use super::health;
use super::upstream::upstream_ctx;
use crate::catalog::ChannelEntry;
use crate::state::AppState;
use providers::UpstreamError;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::ChannelKey;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestOutcome {
    pub ok: bool,
    #[schema(required)]
    pub model: Option<String>,
    pub latency_ms: i64,
    #[schema(required)]
    pub error: Option<String>,
}

async fn probe_key(
    state: &AppState,
    channel: &ChannelEntry,
    key: &ChannelKey,
) -> (Option<String>, Duration, Result<(), UpstreamError>) {
    let started = Instant::now();
    if channel.channel.kind == api_types::ChannelKind::Midjourney {
        // A midjourney-proxy has no chat; a task query (for an id that need not exist) shows it is up and accepts
        // the secret.
        let ctx = upstream_ctx(state, channel, key);
        let probe_ids = ["0".to_owned()];
        let result = providers::midjourney::list_by_condition(&ctx, &probe_ids)
            .await
            .map(|_| ());
        return (
            channel.channel.models.first().cloned(),
            started.elapsed(),
            result,
        );
    }
    let Some(model) = channel.channel.models.first() else {
        return (None, Duration::ZERO, Ok(()));
    };
    let Some(adapter) = providers::adapter_for(channel.channel.kind) else {
        return (Some(model.clone()), Duration::ZERO, Ok(()));
    };
    let mut body = Map::new();
    body.insert(
        "model".into(),
        Value::String(channel.upstream_model(model).to_owned()),
    );
    body.insert(
        "messages".into(),
        json!([{"role": "user", "content": "hi"}]),
    );
    body.insert("max_tokens".into(), json!(1));
    let result = adapter
        .chat(&upstream_ctx(state, channel, key), &body)
        .await
        .map(|_| ());
    (Some(model.clone()), started.elapsed(), result)
}

/// Admin test: uses the next healthy key (or the first key if none is healthy); a pass restores that key.
pub async fn test_channel(state: &AppState, channel: &Arc<ChannelEntry>) -> TestOutcome {
    if providers::adapter_for(channel.channel.kind).is_none()
        && channel.channel.kind != api_types::ChannelKind::Midjourney
    {
        return TestOutcome {
            ok: false,
            model: None,
            latency_ms: 0,
            error: Some(format!(
                "channels of kind `{}` cannot be tested with a chat request yet",
                channel.channel.kind
            )),
        };
    }
    let Some(key) = channel
        .pick_key()
        .or_else(|| channel.channel.keys.first())
        .cloned()
    else {
        return TestOutcome {
            ok: false,
            model: None,
            latency_ms: 0,
            error: Some("channel has no keys".into()),
        };
    };
    if channel.channel.models.is_empty() {
        return TestOutcome {
            ok: false,
            model: None,
            latency_ms: 0,
            error: Some("channel lists no models".into()),
        };
    }
    let (model, took, result) = probe_key(state, channel, &key).await;
    let latency_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(()) => {
            if !channel.key_healthy(&key) {
                health::restore_key(state, channel, key.id).await;
            }
            TestOutcome {
                ok: true,
                model,
                latency_ms,
                error: None,
            }
        }
        Err(e) => {
            health::report_failure(state, channel, key.id, &e);
            TestOutcome {
                ok: false,
                model,
                latency_ms,
                error: Some(e.message),
            }
        }
    }
}

/// Background prober: every interval, re-tests each key out of rotation on enabled channels. A lease in the store
/// makes one instance probe at a time when several share a database.
pub async fn run(state: AppState, stop: CancellationToken) {
    let holder = format!("prober-{}", uuid::Uuid::new_v4().simple());
    let mut tick = tokio::time::interval(state.settings.probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => {
                let _ = state.store.release_lease("channel-prober", &holder).await;
                return;
            }
        }
        match state
            .store
            .try_acquire_lease("channel-prober", &holder, state.settings.probe_interval * 3)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the prober lease");
                continue;
            }
        }
        let snap = state.catalog.snapshot();
        for channel in snap.channels().iter().filter(|c| c.channel.enabled) {
            for key in channel
                .channel
                .keys
                .iter()
                .filter(|k| !channel.key_healthy(k))
            {
                let (_, _, result) = probe_key(&state, channel, key).await;
                match result {
                    Ok(()) => {
                        tracing::info!(channel = %channel.channel.name, key_id = key.id, "upstream key passed its probe; back in rotation");
                        health::restore_key(&state, channel, key.id).await;
                    }
                    Err(e) => {
                        tracing::debug!(channel = %channel.channel.name, key_id = key.id, error = %e, "probe still failing")
                    }
                }
            }
        }
    }
}
