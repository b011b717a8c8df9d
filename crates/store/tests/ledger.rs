//! Ledger arithmetic: reserve/settle/refund, clamping to cap and balance, shortfalls, idempotency, recovery.

#[macro_use]
mod backends;
mod common;

use chrono::{Duration, Utc};
use common::user_with_key;
use store::{QuotaShortfall, Store, StoreError};

/// (user balance, user spent, key spent, key reserved)
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn money(s: &Store, user_id: i64, key_id: i64) -> (i64, i64, i64, i64) {
    let u = s.get_user(user_id).await.unwrap();
    let k = s.get_key(key_id).await.unwrap();
    (u.balance, u.spent, k.spent, k.reserved)
}

/// User `a` with 1000 and a key capped at `cap`, holding `amount` as reservation `r1`.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn reserved(
    s: &Store,
    cap: Option<i64>,
    amount: i64,
) -> (store::User, store::ApiKey, store::Reservation) {
    let (u, k) = user_with_key(s, "a", 1000, cap).await;
    let r = s.reserve("r1", u.id, k.id, amount, 1).await.unwrap();
    (u, k, r)
}

/// Releases the reservations older than `hours` from now (negative: in the past); how many were released.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn release_stale(s: &Store, hours: i64) -> u64 {
    s.release_stale_reservations(Utc::now() + Duration::hours(hours))
        .await
        .unwrap()
}

#[expect(clippy::panic, reason = "test fixture: failing loudly is the point")]
fn shortfall(r: Result<store::Reservation, StoreError>) -> QuotaShortfall {
    match r {
        Err(StoreError::InsufficientQuota(q)) => q,
        other => panic!("expected InsufficientQuota, got {other:?}"),
    }
}

on_each_backend!(false, #[tokio::test] async fn reserve_then_settle_below_estimate(db) {
    let s = db.store().await;
    let (u, k, r) = reserved(&s, None, 300).await;
    assert_eq!(
        (r.amount, r.user_id, r.key_id, r.request_id.as_str()),
        (300, u.id, k.id, "r1")
    );
    assert_eq!(money(&s, u.id, k.id).await, (700, 0, 0, 300));
    assert_eq!(s.settle(&r, 250).await.unwrap(), 250);
    assert_eq!(money(&s, u.id, k.id).await, (750, 250, 250, 0));
    // Settling twice changes nothing.
    assert_eq!(s.settle(&r, 250).await.unwrap(), 0);
    s.refund(&r).await.unwrap();
    assert_eq!(money(&s, u.id, k.id).await, (750, 250, 250, 0));
});

on_each_backend!(false, #[tokio::test] async fn settle_above_estimate_is_clamped(db) {
    let s = db.store().await;
    // No cap, plenty of balance: the full cost is charged.
    let (u, k, r) = reserved(&s, None, 100).await;
    assert_eq!(s.settle(&r, 150).await.unwrap(), 150);
    assert_eq!(money(&s, u.id, k.id).await, (850, 150, 150, 0));

    // Capped key: never beyond the cap.
    let (u, k) = user_with_key(&s, "b", 1000, Some(120)).await;
    let r = s.reserve("r2", u.id, k.id, 100, 1).await.unwrap();
    assert_eq!(s.settle(&r, 200).await.unwrap(), 120);
    assert_eq!(money(&s, u.id, k.id).await, (880, 120, 120, 0));

    // Low balance: never below zero.
    let (u, k) = user_with_key(&s, "c", 130, None).await;
    let r = s.reserve("r3", u.id, k.id, 100, 1).await.unwrap();
    assert_eq!(s.settle(&r, 200).await.unwrap(), 130);
    assert_eq!(money(&s, u.id, k.id).await, (0, 130, 130, 0));

    // Other in-flight holds count against the key's headroom.
    let (u, k) = user_with_key(&s, "d", 1000, Some(300)).await;
    let r4 = s.reserve("r4", u.id, k.id, 100, 1).await.unwrap();
    let r5 = s.reserve("r5", u.id, k.id, 150, 1).await.unwrap();
    assert_eq!(s.settle(&r4, 500).await.unwrap(), 150);
    assert_eq!(s.settle(&r5, 150).await.unwrap(), 150);
    assert_eq!(money(&s, u.id, k.id).await, (700, 300, 300, 0));
});

on_each_backend!(false, #[tokio::test] async fn reserve_clamps_to_what_is_left(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 10_000, Some(500)).await;
    assert_eq!(
        s.reserve("r1", u.id, k.id, 800, 1).await.unwrap().amount,
        500
    );
    assert_eq!(
        shortfall(s.reserve("r2", u.id, k.id, 1, 1).await),
        QuotaShortfall::KeyCap
    );

    let (u, k) = user_with_key(&s, "b", 50, None).await;
    assert_eq!(
        s.reserve("r3", u.id, k.id, 100, 1).await.unwrap().amount,
        50
    );
    assert_eq!(money(&s, u.id, k.id).await, (0, 0, 0, 50));
    assert_eq!(
        shortfall(s.reserve("r4", u.id, k.id, 1, 1).await),
        QuotaShortfall::UserBalance
    );

    // Estimates below 1 still hold 1.
    let (u, k) = user_with_key(&s, "c", 50, None).await;
    assert_eq!(s.reserve("r5", u.id, k.id, 0, 1).await.unwrap().amount, 1);
});

on_each_backend!(false, #[tokio::test] async fn shortfall_variants(db) {
    let s = db.store().await;
    let (broke, k) = user_with_key(&s, "broke", 0, Some(0)).await;
    // Both short: the balance is reported.
    assert_eq!(
        shortfall(s.reserve("r", broke.id, k.id, 10, 1).await),
        QuotaShortfall::UserBalance
    );
    s.topup_user(broke.id, 100).await.unwrap();
    assert_eq!(
        shortfall(s.reserve("r", broke.id, k.id, 10, 1).await),
        QuotaShortfall::KeyCap
    );
    assert_eq!(
        shortfall(s.reserve("r", 999, k.id, 10, 1).await),
        QuotaShortfall::UserBalance
    );
    assert_eq!(
        shortfall(s.reserve("r", broke.id, 999, 10, 1).await),
        QuotaShortfall::KeyCap
    );
    // Nothing was held by the failures.
    assert_eq!(money(&s, broke.id, k.id).await, (100, 0, 0, 0));
    assert_eq!(
        StoreError::InsufficientQuota(QuotaShortfall::KeyCap).to_string(),
        "insufficient quota: key spend cap reached"
    );
});

on_each_backend!(false, #[tokio::test] async fn refund_and_duplicate_request_id(db) {
    let s = db.store().await;
    let (u, k, r) = reserved(&s, Some(900), 400).await;
    assert!(matches!(
        s.reserve("r1", u.id, k.id, 10, 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(money(&s, u.id, k.id).await, (600, 0, 0, 400));
    s.refund(&r).await.unwrap();
    assert_eq!(money(&s, u.id, k.id).await, (1000, 0, 0, 0));
    s.refund(&r).await.unwrap();
    assert_eq!(money(&s, u.id, k.id).await, (1000, 0, 0, 0));
});

on_each_backend!(false, #[tokio::test] async fn settle_after_key_deleted_refunds_user(db) {
    let s = db.store().await;
    let (u, k, r) = reserved(&s, None, 400).await;
    s.delete_key(k.id).await.unwrap();
    assert_eq!(s.settle(&r, 300).await.unwrap(), 0);
    let u = s.get_user(u.id).await.unwrap();
    assert_eq!((u.balance, u.spent), (1000, 0));

    let (u, k) = user_with_key(&s, "b", 1000, None).await;
    let r = s.reserve("r2", u.id, k.id, 400, 1).await.unwrap();
    s.delete_user(u.id).await.unwrap();
    assert_eq!(s.settle(&r, 300).await.unwrap(), 0);
    assert_eq!(release_stale(&s, 1).await, 0);
});

on_each_backend!(false, #[tokio::test] async fn release_stale_reservations_refunds(db) {
    let s = db.store().await;
    let (u, k, _) = reserved(&s, Some(800), 100).await;
    s.reserve("r2", u.id, k.id, 200, 1).await.unwrap();
    assert_eq!(release_stale(&s, -1).await, 0);
    assert_eq!(money(&s, u.id, k.id).await, (700, 0, 0, 300));
    assert_eq!(release_stale(&s, 1).await, 2);
    assert_eq!(money(&s, u.id, k.id).await, (1000, 0, 0, 0));
    assert_eq!(release_stale(&s, 1).await, 0);
});

on_each_backend!(false, #[tokio::test] async fn a_firm_estimate_must_fit_entirely(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "firm", 1_000, Some(250)).await;
    // Minimum = estimate: 100 + 100 fit, the third (only 50 left) is refused instead of being clamped.
    s.reserve("a", u.id, k.id, 100, 100).await.unwrap();
    s.reserve("b", u.id, k.id, 100, 100).await.unwrap();
    assert!(matches!(
        s.reserve("c", u.id, k.id, 100, 100).await,
        Err(StoreError::InsufficientQuota(QuotaShortfall::KeyCap))
    ));
    // A lenient minimum takes what is left.
    assert_eq!(
        s.reserve("d", u.id, k.id, 100, 10).await.unwrap().amount,
        50
    );
});

on_each_backend!(false, #[tokio::test] async fn settle_and_log_charges_and_writes_rows_together(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "batch", 1_000, Some(300)).await;
    s.reserve("a", u.id, k.id, 100, 1).await.unwrap();
    s.reserve("b", u.id, k.id, 100, 1).await.unwrap();
    let row = |id: &str| store::LogRow {
        request_id: id.into(),
        time: Utc::now(),
        status: 200,
        ..Default::default()
    };
    let mut entries = vec![
        store::LogEntry {
            row: row("a"),
            charge: Some(store::Charge::Settle {
                request_id: "a".into(),
                actual: 80,
            }),
        },
        // Above the hold and the cap's headroom (300 - 80 spent - 100 held = 120 free): clamped to 100 + 20.
        store::LogEntry {
            row: row("b"),
            charge: Some(store::Charge::Settle {
                request_id: "b".into(),
                actual: 500,
            }),
        },
        store::LogEntry {
            row: row("c"),
            charge: None,
        },
    ];
    s.settle_and_log(&mut entries, None).await.unwrap();
    assert_eq!(entries[0].row.cost, 80);
    assert_eq!(entries[1].row.cost, 220);
    assert_eq!(money(&s, u.id, k.id).await, (1_000 - 300, 300, 300, 0));
    let (rows, total) = s
        .query_logs(&store::LogFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 3);
    let cost_of = |id: &str| rows.iter().find(|r| r.request_id == id).unwrap().cost;
    assert_eq!((cost_of("a"), cost_of("b"), cost_of("c")), (80, 220, 0));
});

on_each_backend!(false, #[tokio::test] async fn applied_charges_move_balance_into_spent_with_their_rows(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "applied", 1_000, Some(300)).await;
    let mut entries = vec![store::LogEntry {
        row: store::LogRow {
            request_id: "m1".into(),
            time: Utc::now(),
            status: 200,
            ..Default::default()
        },
        charge: Some(store::Charge::Apply {
            user_id: u.id,
            key_id: k.id,
            amount: 120,
        }),
    }];
    s.settle_and_log(&mut entries, None).await.unwrap();
    assert_eq!(entries[0].row.cost, 120);
    assert_eq!(money(&s, u.id, k.id).await, (880, 120, 120, 0));
    let snapshot = s.account_balances().await.unwrap();
    assert!(snapshot.users.contains(&(u.id, 880)));
    assert!(snapshot.keys.contains(&(k.id, Some(300), 120)));
});
