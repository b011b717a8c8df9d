//! Money: exact settlement, group multipliers, no usage → tokenizer, and the concurrent overspend guard.

use crate::harness::*;
use crate::support::replying;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn settles_to_reported_usage_with_cached_price_and_multiplier() {
    let toml = format!(
        "{}\n[[groups]]\nname = \"vip\"\nmultiplier = 1500\n",
        BASE_TOML
            .replace(
                "name = \"alice\"\nbalance",
                "name = \"alice\"\ngroup = \"vip\"\nbalance"
            )
            .replace(
                "models = [\"gpt-4o\", \"gpt-4o-mini\"]",
                "models = [\"gpt-4o\", \"gpt-4o-mini\"]\ngroups = [\"vip\"]"
            )
            .replace(
                "output_per_million = 10000000",
                "output_per_million = 10000000\ncached_input_per_million = 1250000"
            )
    );
    let (gw, mock) = Gw::with_mock(&toml).await;
    mock.push(Behavior::Reply(
        Reply::text("ok").usage(1000, 100).cached(400),
    ));
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    // 600 × 2.5 + 400 × 1.25 + 100 × 10 = 3000 micro, × 1.5 = 4500.
    let row = gw.log_for(&rid).await;
    assert_eq!(tokens_and_cost(&row), (1000, 400, 100, 4500));
    let u = gw.user("alice").await;
    assert_eq!((u.balance, u.spent), (10_000_000 - 4500, 4500));
    let k = gw.key("alice", "alice-key").await;
    assert_eq!((k.spent, k.reserved), (4500, 0));
    gw.stop().await;
}

#[tokio::test]
async fn missing_usage_is_counted_with_the_tokenizer() {
    let (gw, mock) = replying(Reply::text("Hello world, this is a test.").no_usage()).await;
    let resp = gw.chat(hello()).await;
    let rid = request_id(&resp);
    let row = gw.log_for(&rid).await;
    assert_eq!(row.completion_tokens, 8, "o200k tokens of the answer");
    assert!(row.prompt_tokens >= 8, "{row:?}");
    assert!(row.cost > 0);
    mock.push(Behavior::Reply(
        Reply::text("Hello world, this is a test.").no_usage(),
    ));
    let resp = gw
        .chat(json!({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"你好"}]}))
        .await;
    let rid = request_id(&resp);
    let _ = resp.text().await.unwrap();
    let streamed = gw.log_for(&rid).await;
    assert_eq!(streamed.completion_tokens, 8);
    assert_eq!(streamed.prompt_tokens, row.prompt_tokens);
    gw.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_requests_never_overspend_the_key_cap() {
    let mock = MockUpstream::start().await.unwrap();
    let cap = 5 * DEFAULT_COST;
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"capped\"\nuser = \"alice\"\nkey = \"sk-capped00000000000000000000000000000000000000001\"\nspend_cap = {cap}\n"
    );
    let gw = Gw::start(&toml, &[&mock], |_| {}).await;
    mock.set_default(Behavior::Reply(
        Reply::text(mock_upstream::DEFAULT_TEXT).delay_ms(20),
    ));
    let body =
        json!({"model":"gpt-4o","max_tokens":12,"messages":[{"role":"user","content":"hi"}]});
    let mut handles = Vec::new();
    for _ in 0..50 {
        handles.push(gw.spawn_chat("sk-capped00000000000000000000000000000000000000001", &body));
    }
    let mut ok = 0;
    for h in handles {
        let resp = h.await.unwrap();
        if resp.status() == 200 {
            ok += 1;
        } else {
            expect_error(resp, 429, Some("insufficient_quota")).await;
        }
    }
    gw.logs(50).await;
    let key = gw.key("alice", "capped").await;
    assert!((1..=5).contains(&ok), "{ok} succeeded");
    assert!(key.spent <= cap, "spent {} > cap {cap}", key.spent);
    assert_eq!(key.spent, ok * DEFAULT_COST);
    assert_eq!(key.reserved, 0);
    assert_eq!(
        mock.chat_requests().len() as i64,
        ok,
        "refused requests never reach the upstream"
    );
    // And a user balance is a cap too.
    gw.stop().await;
}

#[tokio::test]
async fn empty_balance_is_refused_with_insufficient_quota() {
    let toml = BASE_TOML.replace("balance = 10000000", "balance = 0");
    let (gw, mock) = Gw::with_mock(&toml).await;
    let b = expect_error(gw.chat(hello()).await, 429, Some("insufficient_quota")).await;
    assert_eq!(b["error"]["type"], "insufficient_quota");
    assert!(mock.chat_requests().is_empty());
    gw.stop().await;
}

/// Money moved by the admin API reaches the in-memory ledger of a running instance at once: a top-up makes an
/// empty account usable, a lowered key cap stops it, and the charges in between are exact in the database.
#[tokio::test]
async fn admin_money_changes_reach_the_running_ledger() {
    let toml = BASE_TOML.replace("balance = 10000000", "balance = 0");
    let (gw, _mock) = Gw::with_mock(&toml).await;
    expect_error(gw.chat(hello()).await, 429, Some("insufficient_quota")).await;
    let user = gw.user("alice").await;
    let topped = gw
        .admin(
            reqwest::Method::POST,
            &format!("/users/{}/topup", user.id),
            Some(serde_json::json!({"amount": 1_000_000})),
        )
        .await;
    assert_eq!(topped.status(), 200);
    for _ in 0..3 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    let key = gw.key("alice", "alice-key").await;
    let capped = gw
        .admin(
            reqwest::Method::PATCH,
            &format!("/keys/{}", key.id),
            Some(serde_json::json!({"spend_cap": 3 * DEFAULT_COST})),
        )
        .await;
    assert_eq!(capped.status(), 200);
    expect_error(gw.chat(hello()).await, 429, Some("insufficient_quota")).await;
    gw.logs(5).await;
    let u = gw.user("alice").await;
    assert_eq!(
        (u.balance, u.spent),
        (1_000_000 - 3 * DEFAULT_COST, 3 * DEFAULT_COST)
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_client_that_leaves_before_the_answer_pays_nothing_and_is_logged() {
    let (gw, mock) = Gw::default().await;
    mock.push(Behavior::delay(1500, Behavior::Reply(Reply::text("late"))));
    let before = gw.user("alice").await.balance;
    let err = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&hello())
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let rows = gw.logs(1).await;
    assert_eq!(rows[0].status, 499, "{rows:?}");
    assert_eq!(rows[0].cost, 0);
    eventually_some(Duration::from_secs(3), "the hold released", || async {
        (gw.key("alice", "alice-key").await.reserved == 0).then_some(())
    })
    .await;
    assert_eq!(gw.user("alice").await.balance, before);
    gw.stop().await;
}
