//! Shared services going away under load, through a [`FaultProxy`] so the shared servers other tests use stay up:
//! Redis disappearing mid-load (requests keep being served and billed exactly, limits and change notices come back
//! by themselves) and PostgreSQL disappearing (served from the budget slice for at most its trust period, then 503
//! `unavailable` with nothing sent upstream, recovery without a restart, every log row of the outage written once
//! it is back).

use crate::fault_proxy::FaultProxy;
use crate::harness::*;
use crate::services::{PgSchema, REDIS, REDIS_ADDR, redis_up};
use mock_upstream::{Behavior, MockUpstream, Reply};
use std::time::{Duration, Instant};

const LIMITED: &str = "sk-limited000000000000000000000000000000000000000001";

/// Sends requests from `workers` tasks, alternating between the gateways, until `until`; returns every status.
async fn load(gws: [&Gw; 2], workers: usize, until: Instant) -> Vec<u16> {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let urls = gws.map(|g| g.url("/v1/chat/completions"));
        let http = gws[0].http.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut i = w;
            while Instant::now() < until {
                let resp = http
                    .post(&urls[i % 2])
                    .bearer_auth(KEY)
                    .json(&hello())
                    .send()
                    .await
                    .unwrap();
                statuses.push(resp.status().as_u16());
                i += 1;
            }
            statuses
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test]
async fn redis_going_away_mid_load_loses_no_request_and_no_money() {
    if !redis_up("the Redis outage test").await {
        return;
    }
    let proxy = FaultProxy::start(REDIS_ADDR.parse().unwrap()).await;
    let redis = format!("redis://{}", proxy.addr);
    let mock = MockUpstream::start().await.unwrap();
    mock.set_default(Behavior::Reply(
        Reply::text(mock_upstream::DEFAULT_TEXT).delay_ms(5),
    ));
    let toml = format!(
        "{BASE_TOML}\n[[keys]]\nname = \"limited\"\nuser = \"alice\"\nkey = \"{LIMITED}\"\nrpm_limit = 3\n"
    );
    let dir = temp_dir();
    let a = Gw::start_in(dir.clone(), &toml, &[&mock], |s| {
        s.redis_url = Some(redis.clone())
    })
    .await;
    let b = Gw::start_in(dir, &toml, &[&mock], |s| s.redis_url = Some(redis.clone())).await;

    // 3 s of load on both instances; Redis is away for the middle second.
    let start = Instant::now();
    let cutter = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.restore();
    };
    let (statuses, ()) = tokio::join!(load([&a, &b], 4, start + Duration::from_secs(3)), cutter);
    let sent = statuses.len();
    let served = statuses.iter().filter(|s| **s == 200).count();
    eprintln!("redis outage: {sent} requests sent, {served} served");
    assert!(sent > 20, "the load ran: {sent}");
    assert_eq!(
        served, sent,
        "a rate limiter outage must not become a gateway outage: {statuses:?}"
    );

    // Every request is logged and billed exactly once, nothing stays reserved.
    assert_eq!(a.log_total(sent).await, sent);
    let u = a.user("alice").await;
    assert_eq!(u.spent, sent as i64 * DEFAULT_COST);
    assert_eq!(a.key("alice", "alice-key").await.reserved, 0);

    // Shared limits are back without a restart: 3 per minute across both instances.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut ok = 0;
        for gw in [&a, &b, &a, &b, &a, &b] {
            if gw.chat_as(LIMITED, hello()).await.status() == 200 {
                ok += 1;
            }
        }
        // The first round may partly fall inside the reconnect (allowed); a round after it counts exactly.
        if ok == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the limit never held again after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Change notices are back too: a key created on A works on B.
    let created = a.create_key(u.id, "after-outage").await;
    let key = created["key"].as_str().unwrap().to_owned();
    b.until_key_answers(
        &key,
        200,
        (Duration::from_secs(3), Duration::from_millis(50)),
        "instance B never heard of the key created on A after Redis came back",
    )
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_postgres_outage_is_a_503_and_recovers_with_every_log_row() {
    // Redis configured → the budget slices of a multi-instance deployment.
    if !redis_up("the PostgreSQL outage test").await {
        return;
    }
    let Some(schema) = PgSchema::create("the PostgreSQL outage test").await else {
        return;
    };
    let mut pg_url = reqwest::Url::parse(&schema.server).unwrap();
    let target = format!(
        "{}:{}",
        pg_url.host_str().unwrap(),
        pg_url.port().unwrap_or(5432)
    );
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = FaultProxy::start(target).await;
    pg_url.set_port(Some(proxy.addr.port())).unwrap();
    pg_url.set_host(Some("127.0.0.1")).unwrap();
    let url = PgSchema::in_schema(pg_url.as_str(), &schema.name);

    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.database_url = url.clone();
        s.redis_url = Some(REDIS.into());
    })
    .await;
    assert_eq!(gw.chat(hello()).await.status(), 200);

    proxy.cut();
    let (served_from_slice, first_refused) =
        gw.served_until_unavailable(Duration::from_secs(3)).await;
    let served = 1 + served_from_slice;
    let during = futures::future::join_all((0..3).map(|_| gw.chat(hello()))).await;
    let mut refused = vec![first_refused];
    for resp in during {
        let rid = request_id(&resp);
        let body = expect_error(resp, 503, Some("unavailable")).await;
        assert!(error_message(&body).contains("database"));
        refused.push(rid);
    }
    assert_eq!(
        mock.chat_requests().len(),
        served,
        "nothing is sent upstream without a reservation"
    );
    // A load balancer sees the instance as not ready, and why.
    let resp = gw.get_anon("/readyz").await;
    assert_eq!(resp.status(), 503);
    let ready: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ready["status"], "not ready");
    assert!(
        ready["database"].as_str().unwrap().starts_with("error"),
        "{ready}"
    );
    assert_eq!(ready["redis"], "ok");

    proxy.restore();
    // Served again without a restart.
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert_eq!(gw.get_anon("/readyz").await.status(), 200);
    // The refused requests' rows were held and written once the database came back.
    let deadline = Instant::now() + Duration::from_secs(15);
    for rid in &refused {
        loop {
            let f = store::LogFilter {
                request_id: Some(rid.clone()),
                limit: 1,
                ..Default::default()
            };
            if let Ok((rows, _)) = gw.state.store.query_logs(&f).await
                && let Some(row) = rows.first()
            {
                assert_eq!((row.status, row.cost), (503, 0));
                break;
            }
            assert!(Instant::now() < deadline, "the row of {rid} was lost");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let u = gw.user("alice").await;
    assert_eq!(
        u.spent,
        (served as i64 + 1) * DEFAULT_COST,
        "the served requests cost, the refused ones do not"
    );
    assert_eq!(gw.key("alice", "alice-key").await.reserved, 0);
    gw.stop().await;
    schema.drop_schema().await;
}
