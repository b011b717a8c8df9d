//! The edge: who the client is behind a reverse proxy, the failed-auth limit, and log rows a flood cannot
//! multiply. The gateway's TCP peer in these tests is always 127.0.0.1 — the "proxy" when it is trusted.

use crate::harness::*;
use crate::support::admin_get;
use futures::StreamExt;
use mock_upstream::MockUpstream;
use serde_json::Value;

const A: &str = "198.51.100.7";
const B: &str = "203.0.113.9";
const BAD: &str = "sk-guess0000000000000000000000000000000000000000000001";

const ALLOWLISTED: &str = key_toml!(
    "office",
    "alice",
    "sk-office000000000000000000000000000000000000000001",
    "ip_allowlist = [\"198.51.100.0/24\"]"
);
const OFFICE_KEY: &str = "sk-office000000000000000000000000000000000000000001";

async fn behind_proxy(toml: &str, limit: u32) -> (Gw, MockUpstream) {
    let (gw, mock) = Gw::with_mock_and(toml, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.auth_failure_limit = limit;
    })
    .await;
    (gw, mock)
}

/// A chat call as the proxy forwards it for `xff`.
async fn chat_from(gw: &Gw, key: &str, xff: &str) -> reqwest::Response {
    gw.http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .header("x-forwarded-for", xff)
        .json(&hello())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forty_bad_keys_behind_the_proxy_limit_that_client_only_and_never_its_valid_key() {
    let (gw, mock) = behind_proxy(BASE_TOML, 30).await;
    let before = gw.user("alice").await.balance;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(chat_from(&gw, BAD, A).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 30);
    assert_eq!(statuses[30..], [429; 10]);
    expect_error(
        chat_from(&gw, BAD, A).await,
        429,
        Some("too_many_auth_failures"),
    )
    .await;

    // Client B behind the same proxy is a different client: its failures are its own, its key is served.
    expect_error(chat_from(&gw, BAD, B).await, 401, Some("invalid_api_key")).await;
    let b = chat_from(&gw, KEY, B).await;
    assert_eq!(b.status(), 200);
    // A's own valid key is served from the limited address, and so is the admin token; a bad one is not.
    let a = chat_from(&gw, KEY, A).await;
    assert_eq!(a.status(), 200);
    let admin = |token: &'static str| {
        gw.http
            .get(gw.url("/api/admin/users"))
            .bearer_auth(token)
            .header("x-forwarded-for", A)
            .send()
    };
    assert_eq!(admin(ADMIN).await.unwrap().status(), 200);
    expect_error(
        admin("guess").await.unwrap(),
        429,
        Some("too_many_auth_failures"),
    )
    .await;

    // The log rows name the clients, not the proxy.
    assert_eq!(
        gw.log_for(&request_id(&a)).await.client_ip.as_deref(),
        Some(A)
    );
    assert_eq!(
        gw.log_for(&request_id(&b)).await.client_ip.as_deref(),
        Some(B)
    );
    // Only the two valid requests reached the upstream and were paid for.
    assert_eq!(mock.chat_requests().len(), 2);
    assert_eq!(gw.user("alice").await.balance, before - 2 * DEFAULT_COST);
    gw.stop().await;
}

#[tokio::test]
async fn spoofed_forwarded_for_without_a_trusted_proxy_is_ignored() {
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| s.auth_failure_limit = 3).await;
    // Each guess claims a fresh address, in both header forms: the limit follows the TCP peer all the same.
    for i in 0..3 {
        let r = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(BAD)
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .header("forwarded", format!("for=192.0.2.{}", i + 100))
            .json(&hello())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    expect_error(
        chat_from(&gw, BAD, "192.0.2.200").await,
        429,
        Some("too_many_auth_failures"),
    )
    .await;
    let ok = chat_from(&gw, KEY, A).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        gw.log_for(&request_id(&ok)).await.client_ip.as_deref(),
        Some("127.0.0.1")
    );
    let rows = gw.logs(3).await;
    let refused: Vec<_> = rows.iter().filter(|r| r.key_id.is_none()).collect();
    assert!(!refused.is_empty());
    assert!(
        refused
            .iter()
            .all(|r| r.client_ip.as_deref() == Some("127.0.0.1")),
        "{refused:#?}"
    );
    assert_eq!(mock.chat_requests().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn allowlisted_key_is_checked_against_the_forwarded_client_not_the_proxy() {
    let (gw, mock) = behind_proxy(&format!("{BASE_TOML}{ALLOWLISTED}"), 30).await;
    let before = gw.user("alice").await.balance;
    let served = chat_from(&gw, OFFICE_KEY, A).await;
    assert_eq!(served.status(), 200);
    let served_id = request_id(&served);
    // Outside the allowlist; prepending an allowed address does not help (the proxy appends the real one).
    for xff in [B.to_owned(), format!("{A}, {B}")] {
        let body = expect_error(
            chat_from(&gw, OFFICE_KEY, &xff).await,
            403,
            Some("ip_not_allowed"),
        )
        .await;
        assert!(error_message(&body).contains(B), "{body}");
    }
    // Without a forwarded address the client is the proxy itself, which is not allowlisted.
    let direct = gw.chat_as(OFFICE_KEY, hello()).await;
    expect_error(direct, 403, Some("ip_not_allowed")).await;
    assert_eq!(mock.chat_requests().len(), 1);
    // The charge is committed with the served request's row.
    gw.log_for(&served_id).await;
    assert_eq!(gw.user("alice").await.balance, before - DEFAULT_COST);
    gw.stop().await;
}

#[tokio::test]
async fn ipv6_guesses_from_one_64_share_a_counter_but_not_with_the_next_64() {
    let (gw, mock) = behind_proxy(BASE_TOML, 3).await;
    for addr in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:abcd:ef01:2345:6789",
    ] {
        let r = chat_from(&gw, BAD, addr).await;
        assert_eq!(r.status(), 401);
    }
    // RFC 7239 with a quoted, bracketed address and port: the same /64.
    let r = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(BAD)
        .header(
            "forwarded",
            r#"for="[2001:db8:1:2::ffff]:4711";proto=https"#,
        )
        .json(&hello())
        .send()
        .await
        .unwrap();
    expect_error(r, 429, Some("too_many_auth_failures")).await;
    expect_error(
        chat_from(&gw, BAD, "2001:db8:1:3::1").await,
        401,
        Some("invalid_api_key"),
    )
    .await;
    // The log keeps the full address of a valid request from that /64.
    let ok = chat_from(&gw, KEY, "2001:db8:1:2::42").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        gw.log_for(&request_id(&ok)).await.client_ip.as_deref(),
        Some("2001:db8:1:2::42")
    );
    assert_eq!(mock.chat_requests().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn a_thousand_bad_keys_and_route_probes_write_a_few_rows_whose_counts_add_up() {
    let (gw, mock) = Gw::with_mock(BASE_TOML).await;
    let statuses: Vec<u16> = futures::stream::iter(0..1000)
        .map(|_| {
            let gw = &gw;
            async move { gw.chat_as(BAD, hello()).await.status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // Probing for routes is folded the same way.
    for _ in 0..100 {
        let r = gw.get_anon("/v1/nope").await;
        assert_eq!(r.status(), 404);
    }
    let ok = gw.chat_as(KEY, hello()).await;
    assert_eq!(ok.status(), 200);
    let ok_id = request_id(&ok);

    // The counts of the last minute are added at the latest at shutdown; read them back after a restart.
    let dir = gw.db_dir.clone();
    gw.stop().await;
    let gw = Gw::start_in(dir, BASE_TOML, &[&mock], |_| {}).await;
    let page = admin_get(&gw, "/logs?limit=1000").await;
    let rows = page["data"].as_array().unwrap();
    let refused: Vec<&Value> = rows.iter().filter(|r| r["key_id"].is_null()).collect();
    // One row per status (401 until the limit, 429 after, 404) and minute: a minute boundary may split them.
    assert!((3..=6).contains(&refused.len()), "{refused:#?}");
    let count = |status: i64| -> i64 {
        refused
            .iter()
            .filter(|r| r["status"] == status)
            .map(|r| r["count"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(count(401) + count(429), 1000);
    assert_eq!(count(404), 100);
    // The valid request has its own row under its own id.
    let mine: Vec<&Value> = rows
        .iter()
        .filter(|r| r["request_id"] == ok_id.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["count"], 1);
    assert_eq!(mine[0]["status"], 200);
    assert_eq!(rows.len(), refused.len() + 1);
    assert_eq!(mock.chat_requests().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn a_revoked_key_retried_five_hundred_times_is_throttled_and_folded() {
    let toml = concat!(
        base_toml!(),
        key_toml!(
            "revoked",
            "alice",
            "sk-revoked00000000000000000000000000000000000000001",
            "enabled = false"
        )
    );
    let (gw, mock) = Gw::with_mock(toml).await;
    let statuses: Vec<u16> = futures::stream::iter(0..500)
        .map(|_| {
            let gw = &gw;
            async move {
                gw.chat_as(
                    "sk-revoked00000000000000000000000000000000000000001",
                    hello(),
                )
                .await
                .status()
                .as_u16()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    // Refused as disabled until the address's failed-auth limit (30 a minute), then throttled.
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 30);
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let dir = gw.db_dir.clone();
    gw.stop().await;
    let gw = Gw::start_in(dir, toml, &[&mock], |_| {}).await;
    let page = admin_get(&gw, "/logs?limit=1000").await;
    let rows = page["data"].as_array().unwrap();
    // The 30 refusals of the revoked key keep their rows; the 470 throttled ones fold into a row a minute.
    let disabled = rows.iter().filter(|r| r["status"] == 401).count();
    assert_eq!(disabled, 30, "{rows:#?}");
    let throttled: Vec<&Value> = rows.iter().filter(|r| r["status"] == 429).collect();
    assert!((1..=2).contains(&throttled.len()), "{throttled:#?}");
    let total: i64 = throttled.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 470);
    assert!(mock.chat_requests().is_empty());
    gw.stop().await;
}
