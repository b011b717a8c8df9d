//! The Midjourney poller: every `--mj-poll-interval`, unfinished tasks are grouped by channel and refreshed with one
//! batched `list-by-condition` per channel (at most 100 ids a call). A task that fails or is cancelled upstream, is
//! still unfinished after `--mj-task-timeout`, or whose channel is gone, ends as FAILURE and is refunded (exactly
//! once, to user and key). A lease in the store makes one instance poll at a time when several share a database.

use super::notify;
use crate::routing::upstream::upstream_ctx;
use crate::state::AppState;
use providers::midjourney::{self as mj, UpstreamTask};
use std::collections::BTreeMap;
use store::{MjTask, MjTaskUpdate};
use tokio_util::sync::CancellationToken;

const LEASE: &str = "mj-poller";
const BATCH: usize = 100;

pub async fn run(state: AppState, stop: CancellationToken) {
    let holder = format!("poller-{}", uuid::Uuid::new_v4().simple());
    let every = state.settings.mj_poll_interval;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => {
                let _ = state.store.release_lease(LEASE, &holder).await;
                return;
            }
        }
        match state
            .store
            .try_acquire_lease(LEASE, &holder, every * 3)
            .await
        {
            Ok(true) => poll_once(&state).await,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot take the Midjourney poller lease"),
        }
    }
}

/// One pass over every unfinished task.
pub async fn poll_once(state: &AppState) {
    let tasks = match state.store.unfinished_mj_tasks(5000).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list unfinished Midjourney tasks");
            return;
        }
    };
    let timeout_ms = i64::try_from(state.settings.mj_task_timeout.as_millis()).unwrap_or(i64::MAX);
    let now = chrono::Utc::now();
    let mut by_channel: BTreeMap<i64, Vec<MjTask>> = BTreeMap::new();
    for t in tasks {
        if (now - t.created_at).num_milliseconds() > timeout_ms {
            let secs = state.settings.mj_task_timeout.as_secs();
            fail(state, &t, &format!("task did not finish within {secs}s")).await;
        } else {
            by_channel.entry(t.channel_id).or_default().push(t);
        }
    }
    let snap = state.catalog.snapshot();
    for (channel_id, tasks) in by_channel {
        let Some(channel) = snap.channel(channel_id).cloned() else {
            // The snapshot may lag the store (a channel another instance or an import just wrote): only a channel
            // the store no longer has ends its tasks; otherwise the next round finds it.
            if matches!(
                state.store.get_channel(channel_id).await,
                Err(store::StoreError::NotFound)
            ) {
                for t in &tasks {
                    fail(state, t, "the channel that ran this task was removed").await;
                }
            }
            continue;
        };
        let Some(key) = channel
            .pick_key()
            .or_else(|| channel.channel.keys.first())
            .cloned()
        else {
            continue;
        };
        let ctx = upstream_ctx(state, &channel, &key);
        for chunk in tasks.chunks(BATCH) {
            let ids: Vec<String> = chunk.iter().map(|t| t.upstream_id.clone()).collect();
            match mj::list_by_condition(&ctx, &ids).await {
                Ok(found) => {
                    for up in found {
                        if let Some(t) = chunk.iter().find(|t| t.upstream_id == up.id) {
                            apply(state, t, &up).await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(channel = %channel.channel.name, error = %e, "Midjourney poll failed")
                }
            }
        }
    }
}

fn changed<T: PartialEq + Clone>(new: Option<&T>, old: &T) -> Option<T> {
    new.filter(|n| *n != old).cloned()
}

/// `changed` for an optional stored field: the update that sets it to `new` when that differs.
fn changed_opt<T: PartialEq>(new: Option<T>, old: &Option<T>) -> Option<Option<T>> {
    new.filter(|n| Some(n) != old.as_ref()).map(Some)
}

/// Folds an upstream task into the stored one; refunds on failure, notifies on change.
async fn apply(state: &AppState, t: &MjTask, up: &UpstreamTask) {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let u = MjTaskUpdate {
        status: changed(up.status.as_ref().filter(|s| !s.is_empty()), &t.status),
        progress: changed(up.progress.as_ref().filter(|s| !s.is_empty()), &t.progress),
        image_url: changed_opt(non_empty(&up.image_url), &t.image_url),
        fail_reason: changed_opt(non_empty(&up.fail_reason), &t.fail_reason),
        buttons: Some(up.buttons.clone()).filter(|b| b.is_array() && *b != t.buttons),
        properties: Some(up.properties.clone()).filter(|p| {
            p.is_object()
                && *p != t.properties
                && !p.as_object().is_some_and(serde_json::Map::is_empty)
        }),
        prompt_en: changed_opt(non_empty(&up.prompt_en), &t.prompt_en),
        description: changed_opt(non_empty(&up.description), &t.description),
        start_time: changed_opt(up.start_time, &t.start_time),
        finish_time: changed_opt(up.finish_time, &t.finish_time),
    };
    let nothing = u.status.is_none()
        && u.progress.is_none()
        && u.image_url.is_none()
        && u.fail_reason.is_none()
        && u.buttons.is_none()
        && u.properties.is_none()
        && u.prompt_en.is_none()
        && u.description.is_none()
        && u.start_time.is_none()
        && u.finish_time.is_none();
    if nothing {
        return;
    }
    let updated = match state.store.update_mj_task(t.id, &u).await {
        Ok(updated) => updated,
        Err(e) => {
            tracing::warn!(task = t.id, error = %e, "cannot update a Midjourney task");
            return;
        }
    };
    if matches!(updated.status.as_str(), "FAILURE" | "CANCEL") {
        refund(state, &updated).await;
    }
    notify::task_changed(state, &updated);
}

/// Ends a task as FAILURE with `reason` and refunds it.
pub async fn fail(state: &AppState, t: &MjTask, reason: &str) {
    let u = MjTaskUpdate {
        status: Some("FAILURE".to_owned()),
        fail_reason: Some(Some(reason.to_owned())),
        finish_time: Some(Some(chrono::Utc::now().timestamp_millis())),
        ..Default::default()
    };
    match state.store.update_mj_task(t.id, &u).await {
        Ok(updated) => {
            refund(state, &updated).await;
            notify::task_changed(state, &updated);
        }
        Err(e) => tracing::warn!(task = t.id, error = %e, "cannot fail a Midjourney task"),
    }
}

async fn refund(state: &AppState, t: &MjTask) {
    match state.store.refund_mj_task(t.id).await {
        Ok(true) => {
            tracing::info!(
                task = t.id,
                cost = t.cost,
                "Midjourney task failed; refunded"
            );
            state.logs.rebase_ledger().await;
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(task = t.id, error = %e, "refunding a failed Midjourney task failed")
        }
    }
}
