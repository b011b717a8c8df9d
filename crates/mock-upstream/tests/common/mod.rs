//! Helpers shared by the integration tests: start a mock, post a chat request, split SSE.

use mock_upstream::MockUpstream;
use serde_json::Value;

pub async fn mock() -> MockUpstream {
    MockUpstream::start().await.expect("mock starts")
}

pub async fn chat(m: &MockUpstream, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", m.base_url()))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// The `data:` payloads of an SSE body, in order.
pub fn events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").expect("data event").to_owned())
        .collect()
}
