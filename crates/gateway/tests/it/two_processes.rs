//! Two real `tollgate serve` processes on one PostgreSQL schema and one Redis, under concurrent load on one key,
//! as a load balancer would spread it: the key's spend cap is never exceeded, its per-minute limit holds across
//! both processes, and an admin change made on one is effective on the other within a second. Prints the figures
//! (run with `--nocapture`). Needs `TOLLGATE_TEST_POSTGRES` and Redis on 127.0.0.1:6379; skipped without them.

use crate::harness::*;
use crate::processes::{count, spawn, stop};
use crate::services::{PgSchema, redis_up};
use futures::StreamExt;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CAPPED: &str = "sk-capped00000000000000000000000000000000000000001";
const LIMITED: &str = "sk-limited000000000000000000000000000000000000000001";
const CAP_REQUESTS: i64 = 100;
const RPM: usize = 100;
const TPM_KEY: &str = "sk-tpm000000000000000000000000000000000000000000001";
/// The mock's answer uses 9 + 12 tokens; the limit affords 50 answers.
const TOKENS_PER_ANSWER: usize = 21;
const TPM: usize = 50 * TOKENS_PER_ANSWER;
const CONCURRENCY: usize = 32;

/// `n` chat requests with `key`, `concurrency` at a time, alternating between the instances; returns the statuses.
async fn fire(
    http: &reqwest::Client,
    bases: [&str; 2],
    key: &str,
    n: usize,
    concurrency: usize,
) -> Vec<u16> {
    let body = json!({"model": "gpt-4o", "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]});
    futures::stream::iter(0..n)
        .map(|i| {
            let req = http
                .post(format!("{}/v1/chat/completions", bases[i % 2]))
                .bearer_auth(key)
                .json(&body);
            async move { req.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// `aggregate` (a number) over the log rows of key `key_id` in the shared schema.
async fn key_logs(pg: &mut PgSchema, aggregate: &str, key_id: i64) -> i64 {
    let sql = format!("SELECT {aggregate} FROM {}.logs WHERE key_id = $1", pg.name);
    sqlx::query_scalar(&sql)
        .bind(key_id)
        .fetch_one(&mut pg.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_processes_share_caps_limits_and_admin_changes() {
    if !redis_up("the two-process test").await {
        return;
    }
    let Some(mut pg) = PgSchema::create("the two-process test").await else {
        return;
    };
    let url = pg.url();

    let mock = MockUpstream::start().await.unwrap();
    mock.set_default(Behavior::Reply(
        Reply::text(mock_upstream::DEFAULT_TEXT).delay_ms(5),
    ));
    let cap = CAP_REQUESTS * DEFAULT_COST;
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"capped\"\nuser = \"alice\"\nkey = \"{CAPPED}\"\nspend_cap = {cap}\n\n\
         [[keys]]\nname = \"limited\"\nuser = \"alice\"\nkey = \"{LIMITED}\"\nrpm_limit = {RPM}\n\n\
         [[keys]]\nname = \"tpm\"\nuser = \"alice\"\nkey = \"{TPM_KEY}\"\ntpm_limit = {TPM}\n"
    );
    let dir = temp_dir();
    let config = dir.join("tollgate.toml");
    std::fs::write(&config, render(&toml, &[&mock])).unwrap();
    // The first process creates the schema's tables; the second starts on them.
    let a = spawn(&config, &url).await;
    let b = spawn(&config, &url).await;
    let bases = [a.base.as_str(), b.base.as_str()];
    let http = reqwest::Client::new();
    let store = store::Store::connect(&url).await.unwrap();
    let alice = store.get_user_by_name("alice").await.unwrap();

    // 1. Spend cap: 3× more requests than the cap affords, 32 at a time, over both processes.
    let started = Instant::now();
    let statuses = fire(&http, bases, CAPPED, 3 * CAP_REQUESTS as usize, CONCURRENCY).await;
    let elapsed = started.elapsed();
    let (accepted, refused) = (count(&statuses, 200), count(&statuses, 429));
    assert_eq!(
        accepted + refused,
        statuses.len(),
        "only 200 or 429: {statuses:?}"
    );
    // Every request leaves one log row; wait for the batches of both processes.
    let deadline = Instant::now() + Duration::from_secs(15);
    let key = loop {
        let key = store.get_key_by_name(alice.id, "capped").await.unwrap();
        let rows = key_logs(&mut pg, "COUNT(*)", key.id).await;
        if rows as usize == statuses.len() || Instant::now() > deadline {
            assert_eq!(rows as usize, statuses.len(), "a log row is missing");
            break key;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let overspend = (key.spent - cap).max(0);
    eprintln!(
        "two processes, spend cap: {} requests sent in {:.2} s (32 concurrent), {accepted} accepted, \
         {refused} refused (insufficient_quota); cap {cap}, spent {}, overspend {overspend}, reserved {}",
        statuses.len(),
        elapsed.as_secs_f64(),
        key.spent,
        key.reserved
    );
    assert_eq!(overspend, 0);
    assert_eq!(key.reserved, 0);
    // What the key spent is exactly what its log rows say it was charged. The reservation is an estimate (the
    // mock bills more prompt tokens than "hi" has); the requests that settle last near the cap are charged only
    // up to it — a settlement never goes past the cap — so `spent` may trail accepted × price, never exceed it.
    let logged = key_logs(&mut pg, "COALESCE(SUM(cost), 0)::BIGINT", key.id).await;
    assert_eq!(key.spent, logged);
    let full = accepted as i64 * DEFAULT_COST;
    assert!(key.spent <= full, "{full}");

    // 2. Requests per minute: 3× the limit, 32 at a time, over both processes.
    let statuses = fire(&http, bases, LIMITED, 3 * RPM, CONCURRENCY).await;
    let (accepted, limited) = (count(&statuses, 200), count(&statuses, 429));
    eprintln!(
        "two processes, rpm_limit {RPM}: {} requests sent, {accepted} accepted, {limited} refused \
         (rate_limit_exceeded); deviation from the limit: {}",
        statuses.len(),
        accepted as i64 - RPM as i64
    );
    assert_eq!(accepted + limited, statuses.len(), "{statuses:?}");
    assert_eq!(accepted, RPM, "the limit is shared and exact");

    // 3. Tokens per minute: each request is admitted with its estimate (prompt + max_tokens) and corrected to
    //    the real count after its answer, so requests running at the same time see each other; what remains is
    //    the estimate's error (the mock bills 9 prompt tokens for "hi"), a few percent.
    let statuses = fire(&http, bases, TPM_KEY, 150, CONCURRENCY).await;
    let (accepted, limited) = (count(&statuses, 200), count(&statuses, 429));
    let used = accepted * TOKENS_PER_ANSWER;
    eprintln!(
        "two processes, tpm_limit {TPM}: {} requests sent, {accepted} accepted ({used} tokens), {limited} refused \
         (rate_limit_exceeded); over the limit by {} tokens ({:.1} %)",
        statuses.len(),
        used.saturating_sub(TPM),
        used.saturating_sub(TPM) as f64 * 100.0 / TPM as f64
    );
    assert_eq!(accepted + limited, statuses.len(), "{statuses:?}");
    assert!(used >= TPM, "the limit refused early: {used}");
    assert!(
        used <= TPM + TPM / 10,
        "more than 10 % over the limit: {used}"
    );

    // 4. An admin change on A is effective on B within a second.
    let created: Value = http
        .post(format!("{}/api/admin/keys", a.base))
        .bearer_auth(ADMIN)
        .json(&json!({"user_id": alice.id, "name": "fresh"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = created["key"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let status = http
            .post(format!("{}/v1/chat/completions", b.base))
            .bearer_auth(&fresh)
            .json(&hello())
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "process B never learned the key created on A"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "two processes: a key created on A served by B after {} ms",
        started.elapsed().as_millis()
    );

    for instance in [a, b] {
        stop(instance).await;
    }
    store.close().await;
    pg.drop_schema().await;
}
