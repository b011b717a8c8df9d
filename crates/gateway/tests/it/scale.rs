//! Two instances on one database and one Redis: an admin change on one is effective on the other within a second,
//! per-key rate limits and spend caps hold across both. Needs Redis on 127.0.0.1:6379 (`.ci/run` starts it).

use crate::harness::*;
use crate::services::{REDIS, redis_up};
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::json;
use std::time::Duration;

/// Two instances on one database and the test Redis, with `toml` and a mock upstream; `None` (the test is skipped)
/// without Redis.
async fn pair(test: &str, toml: &str) -> Option<(Gw, Gw, MockUpstream)> {
    if !redis_up(test).await {
        return None;
    }
    let mock = MockUpstream::start().await.unwrap();
    let dir = temp_dir();
    let a = Gw::start_in(dir.clone(), toml, &[&mock], |s| {
        s.redis_url = Some(REDIS.into())
    })
    .await;
    let b = Gw::start_in(dir, toml, &[&mock], |s| s.redis_url = Some(REDIS.into())).await;
    Some((a, b, mock))
}

#[tokio::test]
async fn admin_changes_reach_the_other_instance_within_a_second() {
    let Some((a, b, _mock)) = pair("the two-instance test", BASE_TOML).await else {
        return;
    };
    let user_id = a.user("alice").await.id;
    let created = a.create_key(user_id, "fresh").await;
    let key = created["key"].as_str().unwrap().to_owned();
    b.until_key_answers(
        &key,
        200,
        (Duration::from_secs(1), Duration::from_millis(20)),
        "instance B never learned the new key",
    )
    .await;
    // Disabling it on B is effective on A too.
    let id = created["id"].as_i64().unwrap();
    b.admin(
        reqwest::Method::PATCH,
        &format!("/keys/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    a.until_key_answers(
        &key,
        401,
        (Duration::from_secs(1), Duration::from_millis(20)),
        "instance A still accepts the disabled key",
    )
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn rate_limits_and_spend_caps_hold_across_instances() {
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"limited\"\nuser = \"alice\"\nkey = \"sk-limited000000000000000000000000000000000000000001\"\nrpm_limit = 6\n\n[[keys]]\nname = \"capped\"\nuser = \"alice\"\nkey = \"sk-capped00000000000000000000000000000000000000001\"\nspend_cap = {}\n",
        10 * DEFAULT_COST
    );
    let Some((a, b, mock)) = pair("the two-instance test", &toml).await else {
        return;
    };
    mock.set_default(Behavior::Reply(
        Reply::text(mock_upstream::DEFAULT_TEXT).delay_ms(10),
    ));
    // RPM: 6 per minute in total, whichever instance serves them.
    let limited = "sk-limited000000000000000000000000000000000000000001";
    let mut ok = 0;
    for i in 0..10 {
        let gw = if i % 2 == 0 { &a } else { &b };
        match gw.chat_as(limited, hello()).await.status().as_u16() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 6, "the limit is shared, not per instance");
    // Spend cap: 60 concurrent requests split over both instances never overspend the key.
    let body = json!({"model": "gpt-4o", "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]});
    let mut handles = Vec::new();
    for i in 0..60 {
        let instance = if i % 2 == 0 { &a } else { &b };
        handles
            .push(instance.spawn_chat("sk-capped00000000000000000000000000000000000000001", &body));
    }
    let mut served = 0;
    for h in handles {
        match h.await.unwrap().status().as_u16() {
            200 => served += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    a.logs(70).await;
    let key = a.key("alice", "capped").await;
    // At most ten requests are held whole (12 output tokens each); one more may be served with the output the cap
    // still affords written upstream as its `max_tokens`, never billed past its hold.
    let asked: Vec<u64> = mock
        .chat_requests()
        .iter()
        .filter(|r| r.header("authorization").is_some())
        .filter_map(|r| r.body["max_tokens"].as_u64())
        .collect();
    assert!(
        asked.iter().filter(|n| **n == 12).count() <= 10,
        "{asked:?}"
    );
    assert!((1..=11).contains(&served), "{served}");
    assert!(key.spent <= 10 * DEFAULT_COST, "overspent: {}", key.spent);
    assert!(
        key.spent >= (served.min(10) - 1) * DEFAULT_COST,
        "{}",
        key.spent
    );
    assert_eq!(key.reserved, 0);
    a.stop().await;
    b.stop().await;
}

/// Money an operator moves on one instance is effective on the other within a second, in both directions, while
/// both hold budget slices of the account: a balance set to zero and a cap lowered below what was spent stop it; a
/// top-up and a raised cap make it usable again.
#[tokio::test]
async fn money_changes_on_one_instance_bind_the_other_within_a_second() {
    let Some((a, b, _mock)) = pair("the two-instance money test", BASE_TOML).await else {
        return;
    };
    let within = (Duration::from_secs(1), Duration::from_millis(20));
    // Both instances hold slices of alice's balance and of her key's cap.
    for gw in [&a, &b] {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    let user = a.user("alice").await;
    let key = a.key("alice", "alice-key").await;
    patch(&a, format!("/users/{}", user.id), json!({"balance": 0})).await;
    b.until_key_answers(KEY, 429, within, "B spent a balance set to zero on A")
        .await;
    let topped = a
        .admin(
            reqwest::Method::POST,
            &format!("/users/{}/topup", user.id),
            Some(json!({"amount": 1_000_000})),
        )
        .await;
    assert_eq!(topped.status(), 200);
    b.until_key_answers(KEY, 200, within, "B never saw the top-up made on A")
        .await;
    patch(&a, format!("/keys/{}", key.id), json!({"spend_cap": 1})).await;
    b.until_key_answers(KEY, 429, within, "B spent past a cap lowered on A")
        .await;
    patch(
        &b,
        format!("/keys/{}", key.id),
        json!({"spend_cap": 100 * DEFAULT_COST}),
    )
    .await;
    a.until_key_answers(KEY, 200, within, "A never saw the cap raised on B")
        .await;
    a.stop().await;
    b.stop().await;
}

async fn patch(gw: &Gw, path: String, body: serde_json::Value) {
    let resp = gw.admin(reqwest::Method::PATCH, &path, Some(body)).await;
    assert_eq!(resp.status(), 200, "{path}");
}

/// A key whose cap is spent, flooded with requests: each is refused without database work (the instance remembers
/// for a second that nothing is left anywhere), and a raised cap is served at once all the same.
#[tokio::test]
async fn a_flood_on_a_spent_key_costs_no_database_work() {
    let capped = "sk-capped00000000000000000000000000000000000000001";
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"capped\"\nuser = \"alice\"\nkey = \"{capped}\"\nspend_cap = {}\n",
        2 * DEFAULT_COST
    );
    let Some((a, b, _mock)) = pair("the spent-key flood test", &toml).await else {
        return;
    };
    let mut served = 0;
    while a.chat_as(capped, hello()).await.status() == 200 {
        served += 1;
        assert!(served <= 3, "the cap was not enforced");
    }
    let before = ledger_grows(&a).await;
    for _ in 0..50 {
        expect_error(
            a.chat_as(capped, hello()).await,
            429,
            Some("insufficient_quota"),
        )
        .await;
    }
    let made = ledger_grows(&a).await - before;
    assert!(made <= 1, "{made} slice transactions for 50 refusals");
    let key = a.key("alice", "capped").await;
    patch(
        &b,
        format!("/keys/{}", key.id),
        json!({"spend_cap": 100 * DEFAULT_COST}),
    )
    .await;
    a.until_key_answers(
        capped,
        200,
        (Duration::from_secs(1), Duration::from_millis(20)),
        "a raised cap waited out the refusal memory",
    )
    .await;
    a.stop().await;
    b.stop().await;
}

/// The slice transactions `gw` made, as an operator's Prometheus reads them from `/metrics`.
async fn ledger_grows(gw: &Gw) -> i64 {
    let text = gw.get_anon_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix("tollgate_ledger{figure=\"grows\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ledger figures in /metrics:\n{text}"))
}

/// Slices of an instance that lapsed (here: expired behind its back, as after a long cut) or were even forgotten
/// (deleted) are not spent from when it comes back: its next heartbeat sees them gone, and its next request claims
/// anew from what is free.
#[tokio::test]
async fn slices_lapsed_or_forgotten_behind_an_instances_back_are_not_spent() {
    let Some((a, b, _mock)) = pair("the lapsed-slice test", BASE_TOML).await else {
        return;
    };
    let db = a.db_dir.join("tollgate.db");
    let mut conn: sqlx::SqliteConnection =
        sqlx::ConnectOptions::connect(&sqlx::sqlite::SqliteConnectOptions::new().filename(&db))
            .await
            .unwrap();
    for behind_its_back in [
        "UPDATE budget_slices SET expires_at = 1",
        "DELETE FROM budget_slices",
    ] {
        assert_eq!(a.chat(hello()).await.status(), 200);
        let claimed = ledger_grows(&a).await;
        sqlx::query(behind_its_back)
            .execute(&mut conn)
            .await
            .unwrap();
        // Two heartbeats (every 500 ms).
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(a.chat(hello()).await.status(), 200);
        assert!(
            ledger_grows(&a).await > claimed,
            "after `{behind_its_back}`, a request was served from a slice the database no longer gives it"
        );
    }
    a.stop().await;
    b.stop().await;
}
