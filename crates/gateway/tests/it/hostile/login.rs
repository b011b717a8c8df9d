//! Attacks on the dashboard login and registration: floods that used to run argon2 for every request at once,
//! guessing one account's password, locking its owner out, forging a login from another site, mass sign-ups.
//! The gateway runs in this process, so its memory is this process's `VmRSS`.

use crate::harness::{BASE_TOML, Gw, error_message, expect_error};
use reqwest::Method;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// This process's resident memory, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A client whose connections come from `ip` (any 127.x address reaches the gateway on 127.0.0.1).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn create_user(gw: &Gw, name: &str, password: &str) {
    let body = json!({"name": name, "password": password, "role": "user", "balance": 0});
    let resp = gw.admin(Method::POST, "/users", Some(body)).await;
    assert_eq!(resp.status(), 201);
}

async fn login(gw: &Gw, client: &reqwest::Client, name: &str, password: &str) -> reqwest::Response {
    client
        .post(gw.url("/api/auth/login"))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Set in the child process that runs the flood alone.
const ALONE: &str = "TOLLGATE_IT_LOGIN_FLOOD_ALONE";

/// The other tests of this binary run in the same process at the same time, so the flood re-runs this test by
/// itself in a child process, where `VmRSS` is the gateway's and the flood's only.
#[test]
fn four_hundred_parallel_wrong_logins_neither_blow_up_memory_nor_hang() {
    if std::env::var_os(ALONE).is_some() {
        return tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
            .block_on(login_flood());
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hostile::login::four_hundred_parallel_wrong_logins_neither_blow_up_memory_nor_hang",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed"),
        "the flood ran in the child: {text}"
    );
}

async fn login_flood() {
    let (gw, mock) = Gw::default().await;
    create_user(&gw, "bob", "bob-password-1").await;
    let gw = Arc::new(gw);
    let baseline = rss_bytes();
    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    // Half guess bob's password, half spray names that do not exist (each still costs a decoy argon2 run).
    let attempts = (0..400).map(|i| {
        let gw = gw.clone();
        tokio::spawn(async move {
            let name = if i % 2 == 0 {
                "bob".to_owned()
            } else {
                format!("nobody-{i}")
            };
            let resp = login(&gw, &gw.http, &name, &format!("guess-{i:08}")).await;
            let status = resp.status().as_u16();
            let retry_after = resp.headers().contains_key("retry-after");
            (status, retry_after)
        })
    });
    let answers = futures::future::join_all(attempts).await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();

    let mut seen = std::collections::BTreeMap::<u16, usize>::new();
    for a in answers {
        let (status, retry_after) = a.unwrap();
        assert!(
            matches!(status, 401 | 429 | 503),
            "every attempt is refused cleanly, got {status}"
        );
        assert!(status == 401 || retry_after, "{status} carries Retry-After");
        *seen.entry(status).or_default() += 1;
    }
    assert!(
        elapsed < Duration::from_secs(30),
        "no hang: took {elapsed:?}"
    );
    assert!(
        seen.get(&503).copied().unwrap_or(0) > 0,
        "the excess waited briefly, then got 503: {seen:?}"
    );
    assert!(
        seen.get(&429).copied().unwrap_or(0) >= 190,
        "bob's guesses past the free few are throttled before argon2: {seen:?}"
    );
    let grown = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    assert!(
        grown <= 40 * 1024 * 1024,
        "memory grew by {} MiB ({seen:?})",
        grown / (1024 * 1024)
    );
    assert!(mock.requests().is_empty(), "nothing reached the upstream");
    eprintln!(
        "400 logins: {seen:?} in {elapsed:?}, memory grew by {} MiB",
        grown / (1024 * 1024)
    );
}

#[tokio::test]
async fn attacker_hammering_the_victims_account_from_elsewhere_neither_guesses_nor_locks_them_out()
{
    let (gw, _mock) = Gw::default().await;
    create_user(&gw, "bob", "bob-password-1").await;
    let attacker = Arc::new(client_from("127.0.0.2"));

    // A burst of guesses; a moment later (while the burst is still being checked), the right password too.
    let guesses = (0..10).map(|i| {
        let (gw, attacker) = (&gw, attacker.clone());
        async move { login(gw, &attacker, "bob", &format!("guess-{i}")).await }
    });
    let right_ones = (0..5).map(|_| {
        let (gw, attacker) = (&gw, attacker.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            login(gw, &attacker, "bob", "bob-password-1").await
        }
    });
    let (guesses, right_ones) = tokio::join!(
        futures::future::join_all(guesses),
        futures::future::join_all(right_ones)
    );
    let statuses: Vec<u16> = guesses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "three guesses are checked, the rest wait: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    for resp in right_ones {
        // The right password is not even checked while the pair waits: no guessing through the wait.
        assert!(!resp.headers().contains_key("set-cookie"));
        let body = expect_error(resp, 429, Some("too_many_login_failures")).await;
        assert!(error_message(&body).contains("retry in"));
    }

    // The attacker keeps hammering while bob logs in from his own address.
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (stop, url, attacker) = (stop.clone(), gw.url("/api/auth/login"), attacker.clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let resp = attacker
                    .post(&url)
                    .json(&json!({"username": "bob", "password": "still-guessing"}))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    matches!(resp.status().as_u16(), 401 | 429),
                    "{}",
                    resp.status()
                );
                sent += 1;
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let resp = login(&gw, &gw.http, "bob", "bob-password-1").await;
        assert_eq!(resp.status(), 200, "bob gets in from his own address");
        assert!(resp.headers().contains_key("set-cookie"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["user"]["name"], "bob");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(hammer.await.unwrap() > 0);
    gw.stop().await;
}

#[tokio::test]
async fn a_cross_site_form_login_or_registration_is_415() {
    let (gw, _mock) = Gw::with_mock_and(BASE_TOML, |s| s.allow_registration = true).await;
    create_user(&gw, "bob", "bob-password-1").await;
    for (path, body) in [
        ("/api/auth/login", "username=bob&password=bob-password-1"),
        ("/api/auth/register", "username=eve&password=eve-password"),
    ] {
        for content_type in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
        ] {
            let resp = gw
                .http
                .post(gw.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(!resp.headers().contains_key("set-cookie"));
            expect_error(resp, 415, Some("unsupported_media_type")).await;
        }
    }
    // Same credentials as JSON (what the dashboard's script sends), with a charset parameter: accepted.
    let resp = gw
        .http
        .post(gw.url("/api/auth/login"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"username":"bob","password":"bob-password-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        gw.state.store.get_user_by_name("eve").await.is_err(),
        "no account was created by a form"
    );
    gw.stop().await;
}

#[tokio::test]
async fn one_address_cannot_register_accounts_without_limit() {
    let (gw, _mock) = Gw::with_mock_and(BASE_TOML, |s| s.allow_registration = true).await;
    let register = |client: reqwest::Client, name: String| {
        let url = gw.url("/api/auth/register");
        async move {
            client
                .post(url)
                .json(&json!({"username": name, "password": "spam-password"}))
                .send()
                .await
                .unwrap()
        }
    };
    for i in 0..5 {
        let resp = register(gw.http.clone(), format!("spam{i}")).await;
        assert_eq!(resp.status(), 201, "registration {i}");
    }
    let resp = register(gw.http.clone(), "spam5".into()).await;
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, Some("too_many_registrations")).await;
    assert!(gw.state.store.get_user_by_name("spam5").await.is_err());
    // Another address is not affected.
    let resp = register(client_from("127.0.0.3"), "someone-else".into()).await;
    assert_eq!(resp.status(), 201);
    gw.stop().await;
}

#[tokio::test]
async fn restarting_with_the_same_declared_password_keeps_the_hash_and_its_sessions() {
    let toml = |pw: &str| format!("[[users]]\nname = \"dora\"\nbalance = 1\npassword = \"{pw}\"\n");
    let (gw, mock) = Gw::with_mock(&toml("first-password-1")).await;
    let first = gw.user("dora").await.password_hash.unwrap();
    let dir = gw.db_dir.clone();
    gw.stop().await;
    let gw = Gw::start_in(dir.clone(), &toml("first-password-1"), &[&mock], |_| {}).await;
    assert_eq!(gw.user("dora").await.password_hash.unwrap(), first);
    gw.stop().await;
    let gw = Gw::start_in(dir, &toml("second-password-2"), &[&mock], |_| {}).await;
    let second = gw.user("dora").await.password_hash.unwrap();
    assert_ne!(second, first, "a changed password is hashed again");
    gw.stop().await;
}
