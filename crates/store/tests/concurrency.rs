//! Many concurrent reserve/settle pairs against a file database never overspend a key's cap.

use chrono::Utc;
use std::path::PathBuf;
use store::{NewApiKey, NewUser, QuotaShortfall, Store, StoreError};

/// A file database in its own temporary folder, removed on drop.
struct TempDb {
    dir: PathBuf,
    url: String,
}

impl TempDb {
    #[expect(
        clippy::unwrap_used,
        reason = "test fixture: failing loudly is the point"
    )]
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tollgate-store-{tag}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap()
        ));
        let url = format!("sqlite://{}", dir.join("tollgate.db").display());
        Self { dir, url }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs 50 tasks that each reserve `estimate` and settle it at `estimate` against a key capped at 500.
/// Returns (amounts held by the successful reservations, charged totals, key spent, key reserved).
#[expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test fixture: failing loudly is the point"
)]
async fn race(tag: &str, estimate: i64) -> (Vec<i64>, i64, i64, i64) {
    let db = TempDb::new(tag);
    let s = Store::connect(&db.url).await.unwrap();
    let user = s
        .create_user(&NewUser {
            name: "u".into(),
            group: "default".into(),
            balance: 1_000_000,
            enabled: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    let key = s
        .create_key(&NewApiKey {
            user_id: user.id,
            name: "k".into(),
            key_hash: "h".into(),
            prefix: "sk-h".into(),
            enabled: true,
            spend_cap: Some(500),
            ..NewApiKey::default()
        })
        .await
        .unwrap();

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                match s
                    .reserve(&format!("req-{i}"), user.id, key.id, estimate, 1)
                    .await
                {
                    Ok(r) => {
                        let charged = s.settle(&r, estimate).await.unwrap();
                        Some((r.amount, charged))
                    }
                    Err(StoreError::InsufficientQuota(QuotaShortfall::KeyCap)) => None,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            })
        })
        .collect();
    let mut held = Vec::new();
    let mut charged_total = 0;
    for t in tasks {
        if let Some((amount, charged)) = t.await.unwrap() {
            held.push(amount);
            charged_total += charged;
        }
    }
    held.sort_unstable();

    let k = s.get_key(key.id).await.unwrap();
    let u = s.get_user(user.id).await.unwrap();
    assert_eq!(u.spent, k.spent);
    assert_eq!(u.balance + u.spent, 1_000_000);
    s.close().await;
    (held, charged_total, k.spent, k.reserved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exact_fit_never_overspends() {
    let (held, charged, spent, reserved) = race("exact", 100).await;
    assert_eq!(held, [100; 5]);
    assert_eq!((charged, spent, reserved), (500, 500, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partial_last_reservation_is_clamped() {
    let (held, charged, spent, reserved) = race("partial", 120).await;
    assert_eq!(held, [20, 120, 120, 120, 120]);
    assert_eq!((charged, spent, reserved), (500, 500, 0));
}
