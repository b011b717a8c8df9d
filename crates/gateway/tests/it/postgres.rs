//! The gateway on a PostgreSQL store: a chat request is answered, billed and logged exactly as on SQLite.
//! Runs only when `TOLLGATE_TEST_POSTGRES` names a server (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! the gateway gets a fresh schema there, dropped at the end.

use crate::harness::*;
use mock_upstream::{Behavior, MockUpstream, Reply};
use sqlx::{Connection, Executor, PgConnection};

const POSTGRES_ENV: &str = "TOLLGATE_TEST_POSTGRES";

#[tokio::test]
async fn chat_is_billed_and_logged_on_postgres() {
    let Some(server) = std::env::var(POSTGRES_ENV).ok().filter(|s| !s.is_empty()) else {
        eprintln!("{POSTGRES_ENV} is not set: skipping the PostgreSQL gateway test");
        return;
    };
    let schema = format!("gw_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&server).await.unwrap();
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let sep = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{sep}options=-c%20search_path%3D{schema}");

    let mock = MockUpstream::start().await.unwrap();
    let gw = Gw::start(BASE_TOML, &[&mock], |s| s.database_url = url.clone()).await;
    mock.push(Behavior::Reply(Reply::text("ok").usage(1000, 100)));
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    // 1000 × 2.5 + 100 × 10 = 3500 micro.
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (
            row.prompt_tokens,
            row.completion_tokens,
            row.cost,
            row.status
        ),
        (1000, 100, 3500, 200)
    );
    assert_eq!(row.model.as_deref(), Some("gpt-4o"));
    let u = gw.user("alice").await;
    assert_eq!((u.balance, u.spent), (10_000_000 - 3500, 3500));
    let k = gw.key("alice", "alice-key").await;
    assert_eq!((k.spent, k.reserved), (3500, 0));
    gw.stop().await;

    // The rows really are in PostgreSQL, in the test's schema.
    let logged: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {schema}.logs WHERE request_id = $1"
    ))
    .bind(&rid)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(logged, 1);
    // Best effort: a leftover schema is harmless.
    let _ = admin.execute("SET lock_timeout = '5s'").await;
    let _ = admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await;
    let _ = admin.close().await;
}
