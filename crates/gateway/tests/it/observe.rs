//! `/metrics`, `/healthz` and `/readyz` as an operator's Prometheus and load balancer see them: the counters agree
//! with the request log, errors and streams are counted, channel health and pools are exposed.

use crate::harness::{Gw, assert_content_type, expect_error, hello};
use crate::support::replying;
use mock_upstream::Behavior;
use serde_json::{Value, json};

/// The value of the sample whose name and labels are exactly `series` (e.g. `x_total{a="b"}`).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

const HEALTHY: &str = r#"tollgate_channel_healthy{channel="1",name="primary"}"#;

#[tokio::test]
async fn metrics_agree_with_the_log_and_probes_answer() {
    let (gw, mock) = Gw::default().await;
    assert_eq!(gw.get_anon_text("/healthz").await, "ok");
    let ready: Value = gw.get_anon("/readyz").await.json().await.unwrap();
    assert_eq!(
        ready,
        json!({"status": "ready", "database": "ok", "redis": "not configured"})
    );

    // Two plain answers, one stream, one refused key, one upstream client error.
    for _ in 0..2 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    let mut stream = hello();
    stream["stream"] = json!(true);
    let resp = gw.chat(stream).await;
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap();
    expect_error(gw.chat_as("sk-wrong", hello()).await, 401, None).await;
    mock.push(Behavior::Status {
        status: 400,
        body: r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"bad"}}"#.into(),
    });
    expect_error(gw.chat(hello()).await, 400, None).await;
    let rows = gw.logs(5).await;

    let resp = gw.get_anon("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "application/openmetrics-text");
    let text = resp.text().await.unwrap();
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    let ok = r#"{model="gpt-4o",channel="1",status="200"}"#;
    let (requests_ok, durations_ok, first_tokens_ok) = (
        format!("tollgate_requests_total{ok}"),
        format!("tollgate_request_duration_seconds_count{ok}"),
        format!("tollgate_time_to_first_token_seconds_count{ok}"),
    );
    let billed = |f: fn(&store::LogRow) -> i64| rows.iter().map(f).sum::<i64>() as f64;
    let cost = billed(|r| r.cost);
    assert!(cost > 0.0);
    for (series, value) in [
        (requests_ok.as_str(), 3.0),
        (
            r#"tollgate_requests_total{model="gpt-4o",channel="1",status="400"}"#,
            1.0,
        ),
        (
            r#"tollgate_request_errors_total{model="gpt-4o",channel="1",status="400"}"#,
            1.0,
        ),
        // The refused key never reached a model or a channel.
        (
            r#"tollgate_request_errors_total{model="",channel="",status="401"}"#,
            1.0,
        ),
        (durations_ok.as_str(), 3.0),
        // Only the stream has a time to first token.
        (first_tokens_ok.as_str(), 1.0),
        (
            r#"tollgate_tokens_total{model="gpt-4o",channel="1",kind="prompt"}"#,
            billed(|r| r.prompt_tokens),
        ),
        (
            r#"tollgate_tokens_total{model="gpt-4o",channel="1",kind="completion"}"#,
            billed(|r| r.completion_tokens),
        ),
        (
            r#"tollgate_cost_micro_units_total{model="gpt-4o",channel="1"}"#,
            cost,
        ),
        (HEALTHY, 1.0),
        (
            r#"tollgate_channel_keys_healthy{channel="1",name="primary"}"#,
            1.0,
        ),
        ("tollgate_streams_open", 0.0),
        ("tollgate_redis_up", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series}\n{text}");
    }
    assert!(
        text.contains(r#"tollgate_db_pool_connections{pool="write",state="idle"}"#),
        "{text}"
    );
    assert!(!text.contains("up-key-1"), "no upstream secret in metrics");

    // A disabled channel shows as unhealthy.
    let resp = gw
        .admin(
            reqwest::Method::PATCH,
            "/channels/1",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let text = gw.get_anon_text("/metrics").await;
    assert_eq!(sample(&text, HEALTHY), Some(0.0));
    gw.stop().await;
}

#[tokio::test]
async fn an_open_stream_is_counted_while_it_is_delivered() {
    let (gw, _mock) = replying(
        mock_upstream::Reply::text("one two three four")
            .pieces(4)
            .delay_ms(300),
    )
    .await;
    let mut body = hello();
    body["stream"] = json!(true);
    let resp = gw.chat(body).await;
    assert_eq!(resp.status(), 200);
    let text = gw.get_anon_text("/metrics").await;
    assert_eq!(sample(&text, "tollgate_streams_open"), Some(1.0));
    resp.text().await.unwrap();
    let text = gw.get_anon_text("/metrics").await;
    assert_eq!(sample(&text, "tollgate_streams_open"), Some(0.0));
    gw.stop().await;
}
