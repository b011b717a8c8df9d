//! The rest of the OpenAI surface a client may touch: the legacy billing endpoints Chatbox-style clients read a
//! key's balance from, and 501 (not 404) for OpenAI resources the gateway does not relay.

use crate::harness::{DEFAULT_COST, Gw, KEY, error_message, expect_error, hello};
use serde_json::{Value, json};

async fn get_json(gw: &Gw, path: &str, key: &str) -> Value {
    let resp = gw.get_as(key, path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn billing_endpoints_show_the_owner_total_or_the_key_cap() {
    let (gw, _mock) = Gw::default().await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    gw.logs(1).await;
    // Alice's key has no cap: the owner's total (10 USD) and spend.
    for prefix in ["/v1", ""] {
        let sub = get_json(
            &gw,
            &format!("{prefix}/dashboard/billing/subscription"),
            KEY,
        )
        .await;
        assert_eq!(sub["object"], "billing_subscription");
        assert_eq!(sub["hard_limit_usd"], 10.0);
        assert_eq!(sub["soft_limit_usd"], 10.0);
        assert_eq!(sub["system_hard_limit_usd"], 10.0);
        assert_eq!(sub["has_payment_method"], true);
        assert_eq!(sub["access_until"], 0);
        let usage = get_json(
            &gw,
            &format!("{prefix}/dashboard/billing/usage?start_date=2026-01-01&end_date=2026-12-31"),
            KEY,
        )
        .await;
        assert_eq!(usage["object"], "list");
        // 143 micro-units = 0.0143 cents.
        let cents = usage["total_usage"].as_f64().unwrap();
        assert!(
            (cents - DEFAULT_COST as f64 / 10_000.0).abs() < 1e-9,
            "{usage}"
        );
    }

    // A key with a cap and an expiry shows its own.
    let alice = gw.user("alice").await;
    let created: Value = gw
        .admin(
            reqwest::Method::POST,
            "/keys",
            Some(
                json!({"user_id": alice.id, "name": "capped", "spend_cap": 2_500_000,
                        "expires_at": "2030-01-01T00:00:00Z"}),
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    let capped = created["key"].as_str().unwrap();
    let sub = get_json(&gw, "/v1/dashboard/billing/subscription", capped).await;
    assert_eq!(sub["hard_limit_usd"], 2.5);
    assert_eq!(sub["access_until"], 1_893_456_000);
    let usage = get_json(&gw, "/v1/dashboard/billing/usage", capped).await;
    assert_eq!(usage["total_usage"], 0.0);

    // Without a key: the usual 401.
    let resp = gw.get_anon("/v1/dashboard/billing/subscription").await;
    expect_error(resp, 401, Some("missing_api_key")).await;
    gw.stop().await;
}

#[tokio::test]
async fn openai_resources_not_relayed_are_501_and_unknown_paths_404() {
    let (gw, _mock) = Gw::default().await;
    for (method, path) in [
        (reqwest::Method::GET, "/v1/files"),
        (reqwest::Method::POST, "/v1/files"),
        (reqwest::Method::POST, "/v1/fine_tuning/jobs"),
        (reqwest::Method::GET, "/v1/batches/batch_1"),
        (reqwest::Method::POST, "/v1/assistants"),
        (reqwest::Method::POST, "/v1/threads/t1/runs"),
        (reqwest::Method::GET, "/v1/chat/completions/chatcmpl-1"),
    ] {
        let resp = gw
            .http
            .request(method.clone(), gw.url(path))
            .bearer_auth(KEY)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let body = expect_error(resp, 501, Some("not_implemented")).await;
        assert!(
            error_message(&body).contains(path),
            "{method} {path}: {body}"
        );
    }
    for path in ["/v1/filesystem", "/v2/files", "/nope"] {
        let resp = gw.get_anon(path).await;
        expect_error(resp, 404, Some("unknown_url")).await;
    }
    gw.stop().await;
}
