//! Start-up and shutdown: declarative upserts across restarts, admin token bootstrap, draining streams on SIGTERM
//! (the shutdown future), and no log row lost at shutdown.

use crate::harness::*;
use futures::StreamExt;
use gateway::auth::admin::AdminAuth;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn shutdown_lets_streams_finish_and_flushes_every_log_row() {
    let (mut gw, mock) = Gw::default().await;
    for _ in 0..20 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    mock.push(Behavior::Reply(
        Reply::text("slow stream here").pieces(5).delay_ms(150),
    ));
    let resp = gw
        .chat(json!({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let state = gw.state.clone();
    let done = gw.trigger_stop();
    // New connections are refused while the open stream is still served to the end.
    let mut rest = String::from_utf8(first.to_vec()).unwrap();
    while let Some(chunk) = body.next().await {
        rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest}");
    done.await.unwrap().unwrap();
    // Every request has its row, written before the process would exit.
    let reopened = store::Store::connect(&state.settings.database_url)
        .await
        .unwrap();
    let (rows, total) = reopened
        .query_logs(&store::LogFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 21, "{rows:#?}");
    assert!(rows.iter().all(|r| r.status == 200 && r.cost > 0));
}

#[tokio::test]
async fn declared_config_is_upserted_by_name_and_balances_survive_restarts() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = temp_dir();
    let gw = Gw::start_in(dir.clone(), BASE_TOML, &[&mock], |_| {}).await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    gw.logs(1).await;
    gw.stop().await;
    // Second start: same names, changed channel models and price; the user's balance must not be reset.
    let changed = BASE_TOML
        .replace(
            "models = [\"gpt-4o\", \"gpt-4o-mini\"]",
            "models = [\"gpt-4o\"]\npriority = 7",
        )
        .replace(
            "output_per_million = 10000000",
            "output_per_million = 20000000",
        );
    let gw = Gw::start_in(dir, &changed, &[&mock], |_| {}).await;
    let channels = gw.state.store.list_channels().await.unwrap();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].models, vec!["gpt-4o".to_owned()]);
    assert_eq!(channels[0].priority, 7);
    let users = gw.state.store.list_users(10, 0).await.unwrap().0;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].balance, 10_000_000 - DEFAULT_COST);
    assert_eq!(gw.state.store.list_keys(None, 10, 0).await.unwrap().1, 1);
    assert_eq!(
        gw.state
            .store
            .get_price("gpt-4o")
            .await
            .unwrap()
            .output_per_million,
        Some(20_000_000)
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_hand_edited_channel_kind_neither_stops_start_up_nor_hides_other_channels() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = temp_dir();
    let gw = Gw::start_in(dir.clone(), BASE_TOML, &[&mock], |_| {}).await;
    let created = gw
        .admin(
            reqwest::Method::POST,
            "/channels",
            Some(json!({"name":"spare","kind":"gemini","base_url":mock.base_url(),"keys":["sk-spare"]})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let spare: serde_json::Value = created.json().await.unwrap();
    gw.stop().await;
    // Someone edits the database: both the declared channel and the spare get a kind this build does not know.
    let db = dir.join("tollgate.db");
    let mut conn =
        sqlx::ConnectOptions::connect(&sqlx::sqlite::SqliteConnectOptions::new().filename(&db))
            .await
            .unwrap();
    sqlx::query("UPDATE channels SET kind = 'watsonx'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    // The declared channel is mended by its declaration; the spare is left out of the listing, not fatal.
    let gw = Gw::start_in(dir, BASE_TOML, &[&mock], |_| {}).await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    let list = gw.admin(reqwest::Method::GET, "/channels", None).await;
    assert_eq!(list.status(), 200);
    let list: serde_json::Value = list.json().await.unwrap();
    let kinds: Vec<(&str, &str)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("primary", "openai")]);
    // Setting a known kind brings the spare back.
    let mended = gw
        .admin(
            reqwest::Method::PATCH,
            &format!("/channels/{}", spare["id"]),
            Some(json!({"kind":"gemini"})),
        )
        .await;
    assert_eq!(mended.status(), 200);
    let mended: serde_json::Value = mended.json().await.unwrap();
    assert_eq!(mended["kind"], "gemini");
    gw.stop().await;
}

#[tokio::test]
async fn admin_token_is_generated_once_and_stored_hashed() {
    let dir = temp_dir();
    let store = store::Store::connect(&format!("sqlite://{}/a.db", dir.display()))
        .await
        .unwrap();
    let (auth, generated) = AdminAuth::bootstrap(&store, None).await.unwrap();
    let token = generated.expect("first start generates a token");
    assert!(auth.verify(&token));
    assert!(!auth.verify("tg-admin-wrong"));
    let stored = store
        .get_setting("admin_token_sha256")
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.contains(&token), "only a hash is stored");
    let (again, none) = AdminAuth::bootstrap(&store, None).await.unwrap();
    assert!(none.is_none(), "printed only once");
    assert!(again.verify(&token));
    let (configured, _) = AdminAuth::bootstrap(&store, Some("from-flag"))
        .await
        .unwrap();
    assert!(configured.verify("from-flag"));
}

#[tokio::test]
async fn slow_request_heads_are_cut_by_the_header_timeout() {
    let (gw, _mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.client_header_timeout = Duration::from_secs(1)
    })
    .await;
    let addr = gw.base.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sock.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(4), sock.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server must close a connection whose head never completes"
    );
    gw.stop().await;
}

#[tokio::test]
async fn streams_longer_than_the_grace_period_are_cut_and_still_settled() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = Gw::start(BASE_TOML, &[&mock], |s| {
        s.shutdown_grace = Duration::from_secs(1)
    })
    .await;
    mock.push(Behavior::Reply(
        Reply::text("a b c d e f g h i j k l")
            .pieces(12)
            .delay_ms(400),
    ));
    let resp = gw
        .chat(json!({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}))
        .await;
    let rid = request_id(&resp);
    let mut body = resp.bytes_stream();
    body.next().await.unwrap().unwrap();
    let state = gw.state.clone();
    let started = std::time::Instant::now();
    let done = gw.trigger_stop();
    while let Some(Ok(_)) = body.next().await {}
    done.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let reopened = store::Store::connect(&state.settings.database_url)
        .await
        .unwrap();
    let f = store::LogFilter {
        request_id: Some(rid),
        limit: 1,
        ..Default::default()
    };
    let (rows, _) = reopened.query_logs(&f).await.unwrap();
    assert_eq!(rows.len(), 1, "the cut stream is logged");
    assert_eq!(rows[0].status, 499);
    assert!(
        rows[0].cost > 0,
        "what was delivered is billed: {:?}",
        rows[0]
    );
    let user = reopened.get_user_by_name("alice").await.unwrap();
    assert_eq!(user.spent, rows[0].cost);
    assert_eq!(
        reopened.list_keys(None, 10, 0).await.unwrap().0[0].reserved,
        0
    );
}

#[tokio::test]
async fn upstream_keys_are_encrypted_at_rest_and_still_used() {
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.secret_key = Some("a-long-random-operator-secret".into())
    })
    .await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert_eq!(
        mock.chat_requests()[0].header("authorization"),
        Some("Bearer up-key-1")
    );
    let db = gw.db_dir.join("tollgate.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT secret FROM channel_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|(s,)| s.starts_with("enc:v2:") && !s.contains("up-key-1")),
        "{stored:?}"
    );
    gw.stop().await;
}
