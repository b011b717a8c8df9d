//! The gateway on a PostgreSQL store: a chat request is answered, billed and logged exactly as on SQLite.
//! Runs only when `TOLLGATE_TEST_POSTGRES` names a server (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! the gateway gets a fresh schema there, dropped at the end.

use crate::harness::*;
use crate::services::PgSchema;
use mock_upstream::{Behavior, Reply};

#[tokio::test]
async fn chat_is_billed_and_logged_on_postgres() {
    let Some(mut schema) = PgSchema::create("the PostgreSQL gateway test").await else {
        return;
    };
    let url = schema.url();

    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| s.database_url = url.clone()).await;
    mock.push(Behavior::Reply(Reply::text("ok").usage(1000, 100)));
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
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
        "SELECT COUNT(*) FROM {}.logs WHERE request_id = $1",
        schema.name
    ))
    .bind(&rid)
    .fetch_one(&mut schema.admin)
    .await
    .unwrap();
    assert_eq!(logged, 1);
    schema.drop_schema().await;
}
