//! Concurrent ledger and lease calls stay exact: many reserve/settle pairs never overspend a key's cap, a
//! reservation settles once, a lease has one winner. Against a SQLite file database (one write connection per
//! store) and against PostgreSQL (pools of connections, so the row locks are what keeps it exact). Two stores
//! on one database stand in for two gateway processes.

#[macro_use]
mod backends;
mod common;

use backends::TestDb;
use common::user_with_key;
use store::{QuotaShortfall, StoreError};

/// Runs 50 tasks that each reserve `estimate` and settle it at `estimate` against a key capped at 500,
/// spread over `stores` stores (separate pools) on the same database.
/// Returns (amounts held by the successful reservations, charged totals, key spent, key reserved).
#[expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test fixture: failing loudly is the point"
)]
async fn race(db: &TestDb, stores: usize, estimate: i64) -> (Vec<i64>, i64, i64, i64) {
    let mut pool = Vec::new();
    for _ in 0..stores {
        pool.push(db.store().await);
    }
    let s = pool[0].clone();
    let (user, key) = user_with_key(&s, "u", 1_000_000, Some(500)).await;

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = pool[i % pool.len()].clone();
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
    for s in pool {
        s.close().await;
    }
    (held, charged_total, k.spent, k.reserved)
}

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn exact_fit_never_overspends(db) {
    let (held, charged, spent, reserved) = race(db, 1, 100).await;
    assert_eq!(held, [100; 5]);
    assert_eq!((charged, spent, reserved), (500, 500, 0));
});

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn partial_last_reservation_is_clamped(db) {
    let (held, charged, spent, reserved) = race(db, 1, 120).await;
    assert_eq!(held, [20, 120, 120, 120, 120]);
    assert_eq!((charged, spent, reserved), (500, 500, 0));
});

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn two_stores_never_overspend(db) {
    let (held, charged, spent, reserved) = race(db, 2, 120).await;
    assert_eq!(held, [20, 120, 120, 120, 120]);
    assert_eq!((charged, spent, reserved), (500, 500, 0));
});

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn concurrent_settles_charge_once(db) {
    let a = db.store().await;
    let b = db.store().await;
    let (user, key) = user_with_key(&a, "u", 1_000, None).await;
    let r = a.reserve("once", user.id, key.id, 300, 1).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let r = r.clone();
            tokio::spawn(async move { s.settle(&r, 250).await.unwrap() })
        })
        .collect();
    let mut charged = Vec::new();
    for t in tasks {
        charged.push(t.await.unwrap());
    }
    charged.sort_unstable();
    assert_eq!(charged.iter().sum::<i64>(), 250);
    assert_eq!(charged.iter().filter(|c| **c > 0).count(), 1);
    let (u, k) = (a.get_user(user.id).await.unwrap(), a.get_key(key.id).await.unwrap());
    assert_eq!((u.balance, u.spent, k.spent, k.reserved), (750, 250, 250, 0));
    a.close().await;
    b.close().await;
});

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn a_contested_lease_has_one_winner(db) {
    let a = db.store().await;
    let b = db.store().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                s.try_acquire_lease("job", &format!("holder-{i}"), std::time::Duration::from_secs(60))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    a.close().await;
    b.close().await;
});
