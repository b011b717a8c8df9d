//! Fault-injection tests: cut, stalled, delayed, hung and malformed answers.
#![cfg(test)]

mod common;

use std::time::{Duration, Instant};

use common::{chat, events, mock};
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

#[tokio::test]
async fn cut_after_breaks_the_body() {
    let m = mock().await;
    m.push(Behavior::CutAfter { events: 2 });
    let resp = chat(&m, json!({"model": "m", "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    let mut got = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => panic!("body ended cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    let text = String::from_utf8(got).expect("utf8");
    assert_eq!(events(&text).len(), 2);
    assert!(!text.contains("[DONE]"));

    m.push(Behavior::CutAfter { events: 2 });
    assert!(chat(&m, json!({"model": "m"})).await.bytes().await.is_err());
    assert_eq!(m.open_streams(), 0);
}

#[tokio::test]
async fn faults_delay_hang_nonjson_garbage() {
    let m = mock().await;
    m.push(Behavior::NonJson);
    let resp = chat(&m, json!({"model": "m"})).await;
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(
        resp.text().await.expect("body"),
        "<html>502 Bad Gateway</html>"
    );

    m.push(Behavior::GarbageStream);
    let resp = chat(&m, json!({"model": "m", "stream": true})).await;
    assert_eq!(
        resp.text().await.expect("body"),
        "data: {not json\n\ndata: [DONE]\n\n"
    );

    m.push(Behavior::delay(150, Behavior::Reply(Reply::text("late"))));
    let start = Instant::now();
    let v: Value = chat(&m, json!({"model": "m"}))
        .await
        .json()
        .await
        .expect("json");
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(v["choices"][0]["message"]["content"], "late");

    m.push(Behavior::Hang);
    let hung = reqwest::Client::new()
        .post(format!("{}/chat/completions", m.base_url()))
        .timeout(Duration::from_millis(100))
        .json(&json!({"model": "m"}))
        .send()
        .await;
    assert!(hung.expect_err("never answers").is_timeout());
}

#[tokio::test]
async fn stream_is_paced_and_stall_is_released_on_disconnect() {
    let m = mock().await;
    m.push(Behavior::Reply(Reply::text("abc").pieces(3).delay_ms(60)));
    let mut resp = chat(&m, json!({"model": "m", "stream": true})).await;
    let start = Instant::now();
    let first = resp.chunk().await.expect("chunk").expect("some");
    let first_at = start.elapsed();
    assert!(String::from_utf8_lossy(&first).starts_with("data: {"));
    assert_eq!(m.open_streams(), 1);
    while resp.chunk().await.expect("chunk").is_some() {}
    assert!(
        start.elapsed() >= first_at + Duration::from_millis(250),
        "events are spaced"
    );
    assert_eq!(m.open_streams(), 0);

    m.set_default(Behavior::StallAfter { events: 1 });
    let mut resp = chat(&m, json!({"model": "m", "stream": true})).await;
    assert!(resp.chunk().await.expect("chunk").is_some());
    let stalled = tokio::time::timeout(Duration::from_millis(100), resp.chunk()).await;
    assert!(stalled.is_err(), "nothing after the first event");
    assert_eq!(m.open_streams(), 1);
    drop(resp);
    let deadline = Instant::now() + Duration::from_secs(1);
    while m.open_streams() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(m.open_streams(), 0, "client disconnect drops the body");
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let m = mock().await;
    assert_eq!(chat(&m, json!({"model": "m"})).await.status(), 200);
    m.shutdown();
    let url = format!("{}/v1/models", m.base_url());
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        // A fresh client each time: no pooled connection survives.
        if reqwest::Client::new().get(&url).send().await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting after shutdown");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
