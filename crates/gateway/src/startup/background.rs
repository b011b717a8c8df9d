//! The background loops — channel probes, log retention, catalog-change notices, the Midjourney poller, the budget
//! slices' heartbeat and hand-overs — in one tracker, so shutdown can stop and wait for every one of them.

use crate::billing::ledger::QuotaLedger;
use crate::state::AppState;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The background loops — channel probes, log retention, catalog-change notices, the Midjourney poller — in one
/// tracker, stopped by `stop` and waited for at shutdown before the last settlements and the log writer.
pub fn spawn(state: &AppState, stop: &CancellationToken) -> TaskTracker {
    let tasks = TaskTracker::new();
    tasks.spawn(crate::routing::probe::run(state.clone(), stop.clone()));
    tasks.spawn(retention_loop(state.clone(), stop.clone()));
    tasks.spawn(follow_catalog_changes(state.clone(), stop.clone()));
    tasks.spawn(crate::midjourney::poller::run(state.clone(), stop.clone()));
    if let QuotaLedger::Sliced(ledger) = &*state.ledger {
        let stop = stop.clone();
        tasks.spawn(ledger.clone().run(async move { stop.cancelled().await }));
    }
    tasks
}

/// Reloads the catalog whenever another instance announces a change; the change may have moved money, which the
/// ledger then re-reads.
async fn follow_catalog_changes(state: AppState, stop: CancellationToken) {
    let me = state.instance_id.clone();
    let on_change = || {
        let st = state.clone();
        async move {
            st.reload_catalog().await;
            st.logs.rebase_ledger().await;
        }
    };
    state
        .shared
        .follow_changes(&me, on_change, stop.cancelled())
        .await;
}

async fn retention_loop(state: AppState, stop: CancellationToken) {
    let Some(days) = state.settings.log_retention_days else {
        return;
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        match state.store.delete_logs_before(cutoff).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "log retention"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "log retention failed"),
        }
    }
}
