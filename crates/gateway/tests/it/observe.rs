//! `/metrics`, `/healthz` and `/readyz` as an operator's Prometheus and load balancer see them: the counters agree
//! with the request log, errors and streams are counted, channel health and pools are exposed.

use crate::harness::{Gw, expect_error, hello};
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

#[tokio::test]
async fn metrics_agree_with_the_log_and_probes_answer() {
    let (gw, mock) = Gw::default().await;
    assert_eq!(
        gw.http
            .get(gw.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let ready: Value = gw
        .http
        .get(gw.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let resp = gw.http.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    let ok = r#"{model="gpt-4o",channel="1",status="200"}"#;
    assert_eq!(
        sample(&text, &format!("tollgate_requests_total{ok}")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tollgate_requests_total{model="gpt-4o",channel="1",status="400"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"tollgate_request_errors_total{model="gpt-4o",channel="1",status="400"}"#
        ),
        Some(1.0)
    );
    // The refused key never reached a model or a channel.
    assert_eq!(
        sample(
            &text,
            r#"tollgate_request_errors_total{model="",channel="",status="401"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("tollgate_request_duration_seconds_count{ok}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("tollgate_time_to_first_token_seconds_count{ok}")
        ),
        Some(1.0),
        "only the stream has a time to first token"
    );
    let billed = |f: fn(&store::LogRow) -> i64| rows.iter().map(f).sum::<i64>() as f64;
    assert_eq!(
        sample(
            &text,
            r#"tollgate_tokens_total{model="gpt-4o",channel="1",kind="prompt"}"#
        ),
        Some(billed(|r| r.prompt_tokens))
    );
    assert_eq!(
        sample(
            &text,
            r#"tollgate_tokens_total{model="gpt-4o",channel="1",kind="completion"}"#
        ),
        Some(billed(|r| r.completion_tokens))
    );
    let cost = billed(|r| r.cost);
    assert!(cost > 0.0);
    assert_eq!(
        sample(
            &text,
            r#"tollgate_cost_micro_units_total{model="gpt-4o",channel="1"}"#
        ),
        Some(cost)
    );
    assert_eq!(
        sample(
            &text,
            r#"tollgate_channel_healthy{channel="1",name="primary"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"tollgate_channel_keys_healthy{channel="1",name="primary"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "tollgate_streams_open"), Some(0.0));
    assert_eq!(sample(&text, "tollgate_redis_up"), Some(1.0));
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
    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(
            &text,
            r#"tollgate_channel_healthy{channel="1",name="primary"}"#
        ),
        Some(0.0)
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_open_stream_is_counted_while_it_is_delivered() {
    let (gw, mock) = Gw::default().await;
    mock.push(Behavior::Reply(
        mock_upstream::Reply::text("one two three four")
            .pieces(4)
            .delay_ms(300),
    ));
    let mut body = hello();
    body["stream"] = json!(true);
    let resp = gw.chat(body).await;
    assert_eq!(resp.status(), 200);
    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sample(&text, "tollgate_streams_open"), Some(1.0));
    resp.text().await.unwrap();
    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sample(&text, "tollgate_streams_open"), Some(0.0));
    gw.stop().await;
}
