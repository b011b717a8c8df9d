//! Channel selection and failover: priority, round-robin keys, retries with a per-request tried set, health.

use crate::harness::*;
use mock_upstream::{Behavior, MockUpstream};
use std::time::{Duration, Instant};

fn two_channels(second_priority: i64) -> String {
    format!(
        "{BASE_TOML}\n[[channels]]\nname = \"secondary\"\nkind = \"openai\"\nbase_url = \"{{MOCK1}}\"\nkeys = [\"sec-key\"]\nmodels = [\"gpt-4o\"]\npriority = {second_priority}\n"
    )
}

const ERR500: &str = r#"{"error":{"message":"The server had an error while processing your request","type":"server_error","param":null,"code":null}}"#;
const ERR401: &str = r#"{"error":{"message":"Incorrect API key provided: up-k***-1.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;

#[tokio::test]
async fn higher_priority_takes_all_traffic() {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&two_channels(10), &[&a, &b], |_| {}).await;
    for _ in 0..6 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    assert_eq!((a.chat_requests().len(), b.chat_requests().len()), (0, 6));
    gw.stop().await;
}

#[tokio::test]
async fn keys_of_a_channel_are_used_in_turn() {
    let toml = BASE_TOML.replace(
        "keys = [\"up-key-1\"]",
        "keys = [\"k-one\", \"k-two\", \"k-three\"]",
    );
    let (gw, mock) = Gw::with_mock(&toml).await;
    for _ in 0..6 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    let auths: Vec<String> = mock
        .chat_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    for k in ["k-one", "k-two", "k-three"] {
        assert_eq!(
            auths.iter().filter(|a| a.ends_with(k)).count(),
            2,
            "{auths:?}"
        );
    }
    assert_ne!(auths[0], auths[1]);
    gw.stop().await;
}

#[tokio::test]
async fn retryable_failure_moves_to_the_next_channel() {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&two_channels(-1), &[&a, &b], |_| {}).await;
    for status in [500u16, 429, 408, 503] {
        a.push(Behavior::Status {
            status,
            body: ERR500.into(),
        });
        let resp = gw.chat(hello()).await;
        assert_eq!(resp.status(), 200, "after upstream {status}");
        let rid = request_id(&resp);
        let row = gw.log_for(&rid).await;
        assert_eq!(row.retries, 1);
        assert_eq!(row.cost, DEFAULT_COST, "charged once");
    }
    assert_eq!((a.chat_requests().len(), b.chat_requests().len()), (4, 4));
    // A client error from the upstream is not retried and keeps its status.
    a.push(Behavior::Status {
        status: 400,
        body: r#"{"error":{"message":"context_length_exceeded","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#.into(),
    });
    expect_error(gw.chat(hello()).await, 400, Some("context_length_exceeded")).await;
    assert_eq!(b.chat_requests().len(), 4);
    gw.stop().await;
}

#[tokio::test]
async fn connect_errors_and_slow_first_bytes_fail_over() {
    let dead = MockUpstream::start().await.unwrap();
    dead.shutdown();
    let slow = MockUpstream::start().await.unwrap();
    let good = MockUpstream::start().await.unwrap();
    // Three tiers: dead (refuses), slow (exceeds the first-byte timeout), good.
    let toml = format!(
        "{BASE_TOML}\n[[channels]]\nname = \"slow\"\nkind = \"openai\"\nbase_url = \"{{MOCK1}}\"\nkeys = [\"s\"]\nmodels = [\"gpt-4o\"]\npriority = -1\n\n[[channels]]\nname = \"good\"\nkind = \"openai\"\nbase_url = \"{{MOCK2}}\"\nkeys = [\"g\"]\nmodels = [\"gpt-4o\"]\npriority = -2\n"
    );
    let gw = Gw::start(
        &toml.replace("{MOCK0}", "http://127.0.0.1:1"),
        &[&dead, &slow, &good],
        |s| s.upstream_first_byte_timeout = Duration::from_secs(1),
    )
    .await;
    slow.set_default(Behavior::Hang);
    let started = Instant::now();
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(4));
    let rid = request_id(&resp);
    assert_eq!(gw.log_for(&rid).await.retries, 2);
    assert_eq!(good.chat_requests().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn retries_are_bounded_and_each_channel_is_tried_once() {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&two_channels(0), &[&a, &b], |_| {}).await;
    a.set_default(Behavior::Status {
        status: 502,
        body: ERR500.into(),
    });
    b.set_default(Behavior::Status {
        status: 503,
        body: ERR500.into(),
    });
    let before = gw.user("alice").await.balance;
    let resp = gw.chat(hello()).await;
    let rid = request_id(&resp);
    let body = expect_error(resp, 502, Some("upstream_error")).await;
    assert!(!body.to_string().contains("sec-key") && !body.to_string().contains("up-key-1"));
    assert_eq!(
        (a.chat_requests().len(), b.chat_requests().len()),
        (1, 1),
        "same channel never tried twice"
    );
    let row = gw.log_for(&rid).await;
    assert_eq!((row.retries, row.cost), (1, 0));
    assert_eq!(
        gw.user("alice").await.balance,
        before,
        "a failed request costs nothing"
    );
    gw.stop().await;

    let c = MockUpstream::start().await.unwrap();
    let d = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&two_channels(-1), &[&c, &d], |s| s.max_retries = 0).await;
    c.push(Behavior::Status {
        status: 500,
        body: ERR500.into(),
    });
    expect_error(gw.chat(hello()).await, 502, None).await;
    assert!(
        d.chat_requests().is_empty(),
        "max_retries = 0 disables failover"
    );
    gw.stop().await;
}

#[tokio::test]
async fn rejected_upstream_key_is_disabled_then_probed_back() {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&two_channels(-1), &[&a, &b], |s| {
        s.probe_interval = Duration::from_secs(1)
    })
    .await;
    a.set_accepted_keys(Some(vec!["something-else".into()]));
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200, "served by the secondary channel");
    // The primary channel's only key is out of rotation, with the reason recorded.
    let primary = gw.channel_out_of_rotation("primary").await;
    assert!(!primary.keys[0].healthy);
    assert!(
        primary.keys[0]
            .disabled_reason
            .as_deref()
            .unwrap()
            .contains("Incorrect API key")
    );
    assert!(primary.last_error.is_some());
    let _ = ERR401;
    // While out, traffic goes straight to the secondary.
    let a_before = a.chat_requests().len();
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert_eq!(a.chat_requests().len(), a_before);
    // The upstream accepts the key again: the prober puts it back.
    a.set_accepted_keys(None);
    eventually("the probe to restore the channel", || async {
        let c = gw.state.store.get_channel_by_name("primary").await.unwrap();
        c.health == store::ChannelHealth::Healthy && c.keys[0].healthy
    })
    .await;
    gw.chat(hello()).await;
    assert!(
        a.chat_requests().len() > a_before + 1,
        "primary serves again"
    );
    gw.stop().await;
}
