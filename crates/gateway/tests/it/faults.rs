//! Faults from the database and the client: a locked database answers 503 and recovers without a restart (the log
//! rows of that time are kept and written once it is back); a client that drops mid-upload costs nothing and is
//! logged.

use crate::harness::*;
use crate::services::{REDIS, redis_up};
use crate::support::partial_chat;
use std::time::Duration;

/// Another connection takes the gateway's database write lock and holds it until `ROLLBACK`.
/// Ends the lock `lock_the_database` took.
async fn unlock_the_database(mut conn: sqlx::SqliteConnection) {
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
}

async fn lock_the_database(gw: &Gw) -> sqlx::SqliteConnection {
    let db = gw.db_dir.join("tollgate.db");
    let blocker = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let mut conn = sqlx::ConnectOptions::connect(&blocker).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test]
async fn a_database_outage_is_a_503_and_recovers_without_restart() {
    // With Redis configured (budget slices), an instance spends from the slice the database last confirmed for at
    // most 2 s, then answers 503. Alone (in-memory ledger), already-loaded keys keep being served and their rows
    // wait in the writer's queue.
    if !redis_up("the database-ledger outage test").await {
        return;
    }
    let mock = mock_upstream::MockUpstream::start().await.unwrap();
    let gw = Gw::start(BASE_TOML, &[&mock], |s| s.redis_url = Some(REDIS.into())).await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    // Another process takes the database's write lock and holds it past the busy timeout (5 s).
    let conn = lock_the_database(&gw).await;
    // Each blocked request waits out the busy timeout (5 s) before its 503.
    let (served, rid) = gw.served_until_unavailable(Duration::from_secs(3)).await;
    unlock_the_database(conn).await;
    // Back without a restart; the refused request's log row was kept and written.
    assert_eq!(gw.chat(hello()).await.status(), 200);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.status, row.cost), (503, 0));
    assert_eq!(
        mock.chat_requests().len(),
        2 + served,
        "nothing was sent upstream without a confirmed slice"
    );
    gw.stop().await;
}

/// Alone on its database (in-memory ledger), an instance keeps serving keys it already knows while the database is
/// locked; their charges and rows wait in the writer's queue and land once it is back.
#[tokio::test]
async fn alone_it_keeps_serving_known_keys_through_a_database_outage() {
    let (gw, mock) = Gw::default().await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    let conn = lock_the_database(&gw).await;
    let during = gw.chat(hello()).await;
    assert_eq!(during.status(), 200);
    let rid = request_id(&during);
    tokio::time::sleep(Duration::from_millis(300)).await;
    unlock_the_database(conn).await;
    let row = gw.log_for(&rid).await;
    assert_eq!((row.status, row.cost), (200, DEFAULT_COST));
    assert_eq!(gw.user("alice").await.spent, 2 * DEFAULT_COST);
    assert_eq!(mock.chat_requests().len(), 2);
    gw.stop().await;
}

#[tokio::test]
async fn a_client_that_drops_mid_upload_costs_nothing() {
    let (gw, mock) = Gw::default().await;
    let before = gw.user("alice").await.balance;
    let sock = partial_chat(&gw, 10_000, r#"{"model":"gpt-4o","#).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(sock);
    let rows = gw.logs(1).await;
    assert!(rows[0].status >= 400, "{rows:?}");
    assert_eq!(rows[0].cost, 0);
    assert!(mock.chat_requests().is_empty());
    assert_eq!(gw.user("alice").await.balance, before);
    gw.stop().await;
}
