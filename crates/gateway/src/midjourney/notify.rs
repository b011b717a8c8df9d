//! Client `notifyHook`s: Tollgate keeps the hook for itself (the upstream never sees it) and POSTs the task, in the
//! client's Task shape, whenever the poller sees it change. Hooks are client-supplied addresses, so they go through
//! the same public-only client as image downloads; failures are logged, not retried (polling stays the truth).

use super::shape::task_json;
use crate::state::AppState;
use store::MjTask;

pub fn task_changed(state: &AppState, task: &MjTask) {
    let Some(hook) = task.notify_hook.clone() else {
        return;
    };
    let base = state.settings.public_url.clone().unwrap_or_default();
    let body = task_json(state, &base, task);
    let state2 = state.clone();
    state.tasks.spawn(async move {
        let url = match state2.media.check_url(&hook) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e.message, "notifyHook refused");
                return;
            }
        };
        let sent = state2
            .media
            .http_client()
            .post(url)
            .timeout(std::time::Duration::from_secs(10))
            .json(&body)
            .send()
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e.without_url(), "notifyHook delivery failed");
        }
    });
}
