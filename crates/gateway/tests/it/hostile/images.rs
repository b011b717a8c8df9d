//! Images, key health and malformed messages: a key holder floods a request with images (or image URLs the gateway
//! must download), makes every failover attempt download them again, sends content that is not content, and an
//! upstream key is rejected while traffic keeps coming.

use crate::harness::*;
use mock_upstream::{Behavior, MockUpstream};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLAUDE: &str = "claude-3-5-sonnet-20240620";
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const ERR500: &str =
    r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#;

/// Anthropic channels on mocks 0 and 1 (mock 0 first), images inlined; alice and her key; Claude priced.
fn claude_toml(channels: usize) -> String {
    let mut toml = String::new();
    for i in 0..channels {
        toml.push_str(&format!(
            "[[channels]]\nname = \"claude-{i}\"\nkind = \"anthropic\"\nbase_url = \"{{MOCK{i}}}\"\nkeys = [\"k{i}\"]\nmodels = [\"{CLAUDE}\"]\npriority = {}\n\n",
            10 - i
        ));
    }
    toml.push_str(&format!(
        "[[users]]\nname = \"alice\"\nbalance = 10000000\n\n[[keys]]\nname = \"alice-key\"\nuser = \"alice\"\nkey = \"{KEY}\"\n\n\
         [[prices]]\nmodel = \"{CLAUDE}\"\ninput_per_million = 3000000\noutput_per_million = 15000000\n"
    ));
    toml
}

/// A local image host: serves every path as `size` bytes sniffed as PNG (the PNG signature, then padding) and
/// counts the hits per path.
async fn image_host(size: usize) -> (String, Arc<Mutex<HashMap<String, usize>>>) {
    let mut body = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    body.resize(size.max(body.len()), 0);
    let hits = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (hits, body) = (counted.clone(), body.clone());
        async move {
            *hits
                .lock()
                .unwrap()
                .entry(uri.path().to_owned())
                .or_default() += 1;
            ([("content-type", "image/png")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn images_request(model: &str, urls: &[String]) -> Value {
    let mut parts = vec![json!({"type": "text", "text": "what is in these?"})];
    parts.extend(
        urls.iter()
            .map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
    );
    json!({"model": model, "messages": [{"role": "user", "content": parts}]})
}

/// One Claude channel in front of a mock, downloads from loopback allowed (the image hosts here are local), and
/// `tweak`.
async fn claude_fetching(tweak: impl FnOnce(&mut gateway::config::Settings)) -> (Gw, MockUpstream) {
    Gw::with_mock_and(&claude_toml(1), |s| {
        s.allow_private_image_urls = true;
        tweak(s);
    })
    .await
}

/// A 400 blaming `param` for its images.
async fn refused_for_images(resp: reqwest::Response, param: &str) {
    let body = expect_error(resp, 400, None).await;
    assert_eq!(body["error"]["param"], param, "{body}");
    assert!(error_message(&body).contains("image"), "{body}");
}

fn total_hits(hits: &Mutex<HashMap<String, usize>>) -> usize {
    hits.lock().unwrap().values().sum()
}

#[tokio::test]
async fn a_hundred_and_one_images_are_refused_before_anything_is_sent() {
    let (gw, mock) = Gw::default().await;
    let before = gw.user("alice").await.balance;
    let image = format!("data:image/png;base64,{PNG_B64}");
    let resp = gw.chat(images_request("gpt-4o", &vec![image; 101])).await;
    let body = expect_error(resp, 400, None).await;
    assert_eq!(body["error"]["param"], "messages", "{body}");
    let message = error_message(&body);
    assert!(
        message.contains("image") && message.contains("100"),
        "{message}"
    );
    assert!(mock.chat_requests().is_empty(), "nothing sent upstream");
    gw.logs(1).await;
    assert_eq!(gw.user("alice").await.balance, before, "nothing charged");
    // At the limit, the request goes through.
    let image = format!("data:image/png;base64,{PNG_B64}");
    let resp = gw.chat(images_request("gpt-4o", &vec![image; 100])).await;
    assert_eq!(resp.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn five_hundred_image_urls_are_refused_before_any_download() {
    let (host, hits) = image_host(100).await;
    let (gw, mock) = claude_fetching(|_| {}).await;
    let urls: Vec<String> = (0..500).map(|i| format!("{host}/{i}.png")).collect();
    refused_for_images(gw.chat(images_request(CLAUDE, &urls)).await, "messages").await;
    assert_eq!(total_hits(&hits), 0, "nothing downloaded");
    assert!(mock.requests().is_empty(), "nothing sent upstream");
    gw.stop().await;
}

#[tokio::test]
async fn five_hundred_responses_input_images_are_refused_before_anything_is_sent() {
    let (gw, mock) = Gw::default().await;
    let image =
        json!({"type": "input_image", "image_url": format!("data:image/png;base64,{PNG_B64}")});
    let body = json!({"model": "gpt-4o", "input": [{"role": "user", "content": vec![image; 500]}]});
    refused_for_images(gw.post_as(KEY, "/v1/responses", &body).await, "input").await;
    assert!(mock.requests().is_empty(), "nothing sent upstream");
    gw.stop().await;
}

#[tokio::test]
async fn failing_over_does_not_download_the_images_again() {
    let (host, hits) = image_host(100).await;
    let first = MockUpstream::start().await.unwrap();
    let second = MockUpstream::start().await.unwrap();
    first.push(Behavior::status(500, ERR500));
    let gw = Gw::start(&claude_toml(2), &[&first, &second], |s| {
        s.allow_private_image_urls = true;
    })
    .await;
    let urls: Vec<String> = (0..3).map(|i| format!("{host}/{i}.png")).collect();
    let resp = gw.chat(images_request(CLAUDE, &urls)).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(first.chat_requests().len(), 1, "the first channel failed");
    assert_eq!(second.chat_requests().len(), 1, "the second one answered");
    let sent = &second.chat_requests()[0].body["messages"][0]["content"];
    let inlined = sent
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "image" && b["source"]["type"] == "base64")
        .count();
    assert_eq!(inlined, 3, "{sent}");
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits.values().all(|&n| n == 1), "each image once: {hits:?}");
    gw.stop().await;
}

#[tokio::test]
async fn images_beyond_the_request_download_budget_are_refused() {
    // 1000 bytes per image, so 4000 bytes per request; five images of 900 bytes each are 4500.
    let (host, hits) = image_host(900).await;
    let (gw, mock) = claude_fetching(|s| s.image_max_bytes = 1000).await;
    let before = gw.user("alice").await.balance;
    let four: Vec<String> = (0..4).map(|i| format!("{host}/ok-{i}.png")).collect();
    let resp = gw.chat(images_request(CLAUDE, &four)).await;
    assert_eq!(resp.status(), 200, "within the budget");
    assert_eq!(mock.chat_requests().len(), 1);
    // The charge is committed with its log row.
    gw.logs(1).await;
    let spent = before - gw.user("alice").await.balance;

    let five: Vec<String> = (0..5).map(|i| format!("{host}/big-{i}.png")).collect();
    let resp = gw.chat(images_request(CLAUDE, &five)).await;
    let body = expect_error(resp, 400, None).await;
    let message = error_message(&body);
    assert!(message.contains("4000 bytes per request"), "{message}");
    assert_eq!(mock.chat_requests().len(), 1, "nothing more sent upstream");
    let big_hits = hits
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.starts_with("/big-"))
        .map(|(_, n)| *n)
        .sum::<usize>();
    assert!(big_hits <= 5, "no image downloaded twice: {big_hits}");
    gw.logs(2).await;
    assert_eq!(
        before - gw.user("alice").await.balance,
        spent,
        "the refused request costs nothing"
    );
    gw.stop().await;
}

#[tokio::test]
async fn content_that_is_a_number_is_refused_naming_the_message() {
    let (gw, mock) = Gw::default().await;
    for (content, param) in [
        (json!(42), "messages[0].content"),
        (json!({}), "messages[0].content"),
        (json!(true), "messages[0].content"),
        (
            json!([{"type": "text", "text": 7}]),
            "messages[0].content[0].text",
        ),
        (
            json!([{"type": "image_url", "image_url": {"url": 1}}]),
            "messages[0].content[0].image_url.url",
        ),
        (json!(["hi"]), "messages[0].content[0]"),
    ] {
        let resp = gw
            .chat(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}))
            .await;
        let body = expect_error(resp, 400, None).await;
        assert_eq!(body["error"]["param"], param, "{body}");
    }
    assert!(mock.chat_requests().is_empty(), "nothing sent upstream");
    gw.stop().await;
}

#[tokio::test]
async fn assistant_null_content_with_tool_calls_is_still_relayed() {
    let (gw, mock) = Gw::default().await;
    let resp = gw
        .chat(json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]}))
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = &mock.chat_requests()[0].body;
    assert_eq!(sent["messages"][1]["content"], Value::Null);
    gw.stop().await;
}

#[tokio::test]
async fn a_rejected_upstream_key_is_skipped_by_the_very_next_requests() {
    use sqlx::Connection;
    let toml = BASE_TOML.replace("keys = [\"up-key-1\"]", "keys = [\"key-a\", \"key-b\"]");
    let (gw, mock) = Gw::with_mock(&toml).await;
    mock.set_accepted_keys(Some(vec!["key-b".into()]));
    // Another writer holds the database, so the health write (and the catalog rebuild after it) cannot finish
    // while the next requests come in; the request path itself never waits on the database.
    let url = format!("sqlite://{}/tollgate.db", gw.db_dir.display());
    let mut blocker = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let resp = gw.chat(hello()).await;
    assert!(!resp.status().is_success(), "key A was rejected");
    let first = mock.chat_requests();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].header("authorization"), Some("Bearer key-a"));
    for _ in 0..6 {
        assert_eq!(gw.chat(hello()).await.status(), 200);
    }
    let auths: Vec<String> = mock.chat_requests()[1..]
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(auths.len(), 6);
    assert!(auths.iter().all(|a| a == "Bearer key-b"), "{auths:?}");
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    // Then it is persisted.
    eventually("the key health to be persisted", || async {
        let c = gw.state.store.get_channel_by_name("primary").await.unwrap();
        !c.keys[0].healthy && c.keys[1].healthy
    })
    .await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert_eq!(
        mock.chat_requests().last().unwrap().header("authorization"),
        Some("Bearer key-b")
    );
    gw.stop().await;
}
