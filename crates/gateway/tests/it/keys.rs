//! Key checks: each refusal has its own status, code and message, costs nothing and is logged.

use crate::harness::*;
use mock_upstream::MockUpstream;

const EXTRA_KEYS: &str = concat!(
    key_toml!(
        "expired",
        "alice",
        "sk-expired00000000000000000000000000000000000000001",
        "expires_at = \"2020-01-01T00:00:00Z\""
    ),
    key_toml!(
        "disabled",
        "alice",
        "sk-disabled0000000000000000000000000000000000000001",
        "enabled = false"
    ),
    key_toml!(
        "office-only",
        "alice",
        "sk-office000000000000000000000000000000000000000001",
        "ip_allowlist = [\"10.0.0.0/8\", \"192.168.1.7\"]"
    ),
    key_toml!(
        "loopback-ok",
        "alice",
        "sk-loopback0000000000000000000000000000000000000001",
        "ip_allowlist = [\"127.0.0.0/8\"]"
    ),
    key_toml!(
        "mini-only",
        "alice",
        "sk-mini0000000000000000000000000000000000000000000001",
        "models = [\"gpt-4o-mini\"]"
    ),
    user_toml!("bob", 1000000, "enabled = false"),
    key_toml!(
        "bobs",
        "bob",
        "sk-bob00000000000000000000000000000000000000000000001"
    ),
);

/// The usual deployment and a key of Alice's allowed two requests a minute.
const SLOW_KEY_TOML: &str = concat!(
    base_toml!(),
    key_toml!(
        "slow",
        "alice",
        "sk-slow0000000000000000000000000000000000000000000001",
        "rpm_limit = 2"
    )
);

#[tokio::test]
async fn every_key_refusal_is_distinct_and_logged() {
    let (gw, mock) = Gw::with_mock(&format!("{BASE_TOML}{EXTRA_KEYS}")).await;
    let before = gw.user("alice").await.balance;

    let r = gw.post_anon("/v1/chat/completions", &hello()).await;
    expect_error(r, 401, Some("missing_api_key")).await;
    let r = gw
        .chat_as("sk-garbled-not-a-real-key-000000", hello())
        .await;
    let body = expect_error(r, 401, Some("invalid_api_key")).await;
    assert!(
        !body
            .to_string()
            .contains("sk-garbled-not-a-real-key-000000"),
        "full secret must not be echoed"
    );
    let r = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .json(&hello())
        .send()
        .await
        .unwrap();
    expect_error(r, 401, Some("invalid_api_key")).await;
    // Each refused key of `EXTRA_KEYS`: its status, its code, what its message names and the parameter it blames.
    let refused = [
        (
            "sk-expired00000000000000000000000000000000000000001",
            401,
            "api_key_expired",
            Some("expired"),
            None,
        ),
        (
            "sk-disabled0000000000000000000000000000000000000001",
            401,
            "api_key_disabled",
            None,
            None,
        ),
        (
            "sk-office000000000000000000000000000000000000000001",
            403,
            "ip_not_allowed",
            Some("127.0.0.1"),
            None,
        ),
        (
            "sk-mini0000000000000000000000000000000000000000000001",
            403,
            "model_not_allowed",
            Some("gpt-4o"),
            Some("model"),
        ),
        (
            "sk-bob00000000000000000000000000000000000000000000001",
            401,
            "user_disabled",
            None,
            None,
        ),
    ];
    for (key, status, code, named, param) in refused {
        let body = expect_error(gw.chat_as(key, hello()).await, status, Some(code)).await;
        if let Some(named) = named {
            assert!(error_message(&body).contains(named), "{code}: {body}");
        }
        if let Some(param) = param {
            assert_eq!(body["error"]["param"], param, "{code}");
        }
    }
    // The key allowed from this address is served.
    let r = gw
        .chat_as(
            "sk-loopback0000000000000000000000000000000000000001",
            hello(),
        )
        .await;
    assert_eq!(r.status(), 200);

    // The missing, unknown and malformed keys (the same address and status) share one folded row.
    let rows = gw.logs(7).await;
    assert_eq!(rows.len(), 7, "{rows:#?}");
    assert_eq!(rows.iter().filter(|r| r.status == 200).count(), 1);
    assert!(
        rows.iter()
            .filter(|r| r.status != 200)
            .all(|r| r.cost == 0 && r.error.is_some())
    );
    // Only the one successful request was charged, and only the upstream saw one request.
    assert_eq!(gw.user("alice").await.balance, before - DEFAULT_COST);
    assert_eq!(mock.chat_requests().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn repeated_bad_keys_from_one_ip_get_429_but_a_valid_key_is_served() {
    let (gw, _mock) = Gw::with_mock_and(BASE_TOML, |s| s.auth_failure_limit = 3).await;
    for _ in 0..3 {
        let r = gw.chat_as("sk-nope000000000000000000000", hello()).await;
        assert_eq!(r.status(), 401);
    }
    let r = gw.chat_as("sk-nope000000000000000000001", hello()).await;
    let r2 = expect_error(r, 429, Some("too_many_auth_failures")).await;
    assert!(error_message(&r2).contains("retry"));
    // A valid key is still served from that address: the limit is against floods, not customers.
    assert_eq!(gw.chat_as(KEY, hello()).await.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn a_key_over_its_rpm_limit_gets_429_with_retry_after() {
    let (gw, mock) = Gw::with_mock(SLOW_KEY_TOML).await;
    let slow = "sk-slow0000000000000000000000000000000000000000000001";
    assert_eq!(gw.chat_as(slow, hello()).await.status(), 200);
    assert_eq!(gw.chat_as(slow, hello()).await.status(), 200);
    let r = gw.chat_as(slow, hello()).await;
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    expect_error(r, 429, Some("rate_limit_exceeded")).await;
    // Other keys are not affected.
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert_eq!(mock.chat_requests().len(), 3);
    gw.stop().await;
}

#[tokio::test]
async fn tokens_per_minute_and_group_defaults_are_enforced() {
    let mock = MockUpstream::start().await.unwrap();
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"tpm\"\nuser = \"alice\"\nkey = \"sk-tpm00000000000000000000000000000000000000000000001\"\ntpm_limit = 30\n\n[[groups]]\nname = \"slow\"\nmultiplier = 1000\nrpm_limit = 1\n\n[[users]]\nname = \"carol\"\ngroup = \"slow\"\nbalance = 1000000\n\n[[keys]]\nname = \"carols\"\nuser = \"carol\"\nkey = \"sk-carol0000000000000000000000000000000000000000000001\"\n"
    );
    let toml = toml.replacen(
        "models = [\"gpt-4o\", \"gpt-4o-mini\"]",
        "models = [\"gpt-4o\", \"gpt-4o-mini\"]\ngroups = [\"default\", \"slow\"]",
        1,
    );
    let gw = Gw::start(&toml, &[&mock], |_| {}).await;
    // 21 tokens per answer (9 + 12): the first two fit under 30 tokens per minute, the third is refused.
    let tpm = "sk-tpm00000000000000000000000000000000000000000000001";
    assert_eq!(gw.chat_as(tpm, hello()).await.status(), 200);
    gw.logs(1).await;
    assert_eq!(gw.chat_as(tpm, hello()).await.status(), 200);
    gw.logs(2).await;
    let r = gw.chat_as(tpm, hello()).await;
    assert!(r.headers().contains_key("retry-after"));
    let body = expect_error(r, 429, Some("rate_limit_exceeded")).await;
    assert!(error_message(&body).contains("tokens per minute"));
    // A key without its own limit gets its group's.
    let carol = "sk-carol0000000000000000000000000000000000000000000001";
    assert_eq!(gw.chat_as(carol, hello()).await.status(), 200);
    let body = expect_error(
        gw.chat_as(carol, hello()).await,
        429,
        Some("rate_limit_exceeded"),
    )
    .await;
    assert!(error_message(&body).contains("1 requests per minute"));
    gw.stop().await;
}
