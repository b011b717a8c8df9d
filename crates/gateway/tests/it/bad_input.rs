//! Bad input: each gets the right status and an OpenAI-shaped error, nothing is charged, and a log row is written.

use crate::harness::*;
use crate::support::{chat_raw, partial_chat};
use mock_upstream::Behavior;
use serde_json::json;

#[tokio::test]
async fn malformed_requests_are_400_with_the_field_named() {
    let (gw, mock) = Gw::default().await;
    let before = gw.user("alice").await.balance;
    let b = expect_error(
        chat_raw(&gw, "{\"model\": \"gpt-4o\", \"messages\": [").await,
        400,
        None,
    )
    .await;
    assert!(error_message(&b).contains("parse the JSON"));
    expect_error(chat_raw(&gw, "[1,2]").await, 400, None).await;
    expect_error(chat_raw(&gw, "").await, 400, None).await;
    let cases = [
        (json!({"messages":[{"role":"user","content":"x"}]}), "model"),
        (
            json!({"model":42,"messages":[{"role":"user","content":"x"}]}),
            "model",
        ),
        (json!({"model":"gpt-4o"}), "messages"),
        (json!({"model":"gpt-4o","messages":"hello"}), "messages"),
        (
            json!({"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream":"yes"}),
            "stream",
        ),
        (
            json!({"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_tokens":"10"}),
            "max_tokens",
        ),
        (
            json!({"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}),
            "stream_options",
        ),
    ];
    for (body, param) in &cases {
        let b = expect_error(gw.chat(body.clone()).await, 400, None).await;
        assert_eq!(b["error"]["param"], *param, "{body} → {b}");
        assert_eq!(b["error"]["type"], "invalid_request_error");
    }
    let b = expect_error(
        gw.chat(json!({"model":"gpt-5","messages":[{"role":"user","content":"x"}]}))
            .await,
        404,
        Some("model_not_found"),
    )
    .await;
    assert!(error_message(&b).contains("gpt-5"));
    let n = 3 + cases.len() + 1;
    let rows = gw.logs(n).await;
    assert!(
        rows.iter()
            .all(|r| r.cost == 0 && r.status >= 400 && r.error.is_some()),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .filter(|r| r.status == 400)
            .all(|r| r.key_name.as_deref() == Some("alice-key"))
    );
    assert_eq!(gw.user("alice").await.balance, before);
    assert!(
        mock.chat_requests().is_empty(),
        "nothing bad reaches the upstream"
    );
    gw.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| s.max_body_bytes = 1024).await;
    let big = "x".repeat(4096);
    let r = gw
        .chat(json!({"model":"gpt-4o","messages":[{"role":"user","content":big}]}))
        .await;
    expect_error(r, 413, Some("request_too_large")).await;
    // Also when the client streams the body without a Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![b' '; 800]), Ok(vec![b' '; 800])];
    let r = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    expect_error(r, 413, Some("request_too_large")).await;
    let rows = gw.logs(2).await;
    assert!(rows.iter().all(|r| r.status == 413));
    assert!(mock.chat_requests().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_openai_errors() {
    let (gw, _mock) = Gw::default().await;
    let r = gw
        .http
        .post(gw.url("/v1/does-not-exist"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let b = expect_error(r, 404, Some("unknown_url")).await;
    assert!(error_message(&b).contains("/v1/does-not-exist"));
    let r = gw.get_as(KEY, "/v1/chat/completions").await;
    expect_error(r, 405, Some("method_not_allowed")).await;
    let rows = gw.logs(2).await;
    assert!(rows.iter().all(|r| r.status == 404 || r.status == 405));
    gw.stop().await;
}

#[tokio::test]
async fn upstream_non_json_and_broken_streams_cost_nothing() {
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| s.max_retries = 0).await;
    let before = gw.user("alice").await.balance;
    mock.push(Behavior::NonJson);
    expect_error(gw.chat(hello()).await, 502, Some("bad_upstream_response")).await;
    mock.push(Behavior::GarbageStream);
    let mut req = hello();
    req["stream"] = json!(true);
    expect_error(
        gw.chat(req.clone()).await,
        502,
        Some("bad_upstream_response"),
    )
    .await;
    mock.push(Behavior::CutAfter { events: 0 });
    let r = gw.chat(req).await;
    assert!(r.status().as_u16() >= 500, "{}", r.status());
    let rows = gw.logs(3).await;
    assert!(
        rows.iter().all(|r| r.cost == 0 && r.status >= 500),
        "{rows:#?}"
    );
    let u = gw.user("alice").await;
    assert_eq!(u.balance, before);
    assert_eq!(gw.key("alice", "alice-key").await.reserved, 0);
    gw.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_408() {
    use tokio::io::AsyncReadExt;
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.client_body_timeout = std::time::Duration::from_secs(1)
    })
    .await;
    let mut sock = partial_chat(&gw, 500, r#"{"model":"#).await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    gw.logs(1).await;
    assert!(mock.chat_requests().is_empty());
    gw.stop().await;
}
