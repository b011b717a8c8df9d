//! Fixture tests for the Azure OpenAI adapter: stream transcripts under `fixtures/azure/stream/` (`<case>.sse` →
//! the chunks in `<case>.json`, filter-only chunks dropped, and the error if any), plus the built HTTP request
//! (deployment URL, `api-version`, `api-key` header, body passed through).

/// Helpers live in `#[cfg(test)]` modules so the workspace lints on unwrap/panic treat them as test code.
#[cfg(test)]
mod support;
#[cfg(test)]
#[path = "support/upstream.rs"]
mod upstream;

use futures::StreamExt;
use providers::azure::{azure_chunks, http_request};
use serde_json::{Value, json};
use support::{assert_json, assert_stream_error, cases, load, transcript};

fn ctx(base: &str, api_version: Option<&str>) -> providers::UpstreamCtx {
    upstream::ctx(
        base,
        api_version,
        "azure-secret",
        ("x-ms-client-request-id", "r1"),
    )
}

#[tokio::test]
async fn streams_drop_filter_chunks() {
    for path in cases("azure", "stream") {
        let case = load(&path);
        let events = transcript(&path).into_iter().map(Ok).collect::<Vec<_>>();
        let mut chunks = azure_chunks(futures::stream::iter(events).boxed());
        let mut got = Vec::new();
        let mut error = None;
        while let Some(item) = chunks.next().await {
            match item {
                Ok(bytes) => got.push(serde_json::from_slice::<Value>(&bytes).unwrap()),
                Err(e) => error = Some(e),
            }
        }
        assert_json(&path, &Value::Array(got), &case["chunks"]);
        if let Some(want) = case.get("error") {
            // Azure's cases name both what the error is and what it says.
            assert!(
                want["kind"].is_string() && want["message_contains"].is_string(),
                "{want}"
            );
        }
        assert_stream_error(&path, case.get("error"), error);
    }
}

#[test]
fn http_request_targets_the_deployment_with_api_key() {
    let ctx = ctx(
        "https://myres.openai.azure.com/openai/",
        Some("2025-01-01-preview"),
    );
    let body = json!({
        "model": "gpt-4o-prod",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": true,
        "stream_options": {"include_usage": true}
    });
    let req = http_request(&ctx, body.as_object().unwrap()).unwrap();
    assert_eq!(
        req.uri().to_string(),
        "https://myres.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview"
    );
    assert_eq!(req.headers()["api-key"], "azure-secret");
    assert_eq!(req.headers()["x-ms-client-request-id"], "r1");
    assert!(req.headers().get("authorization").is_none());
    let sent: Value = serde_json::from_slice(req.body_bytes()).unwrap();
    assert_eq!(sent, body);
}

#[test]
fn http_request_defaults_the_api_version() {
    let ctx = ctx("https://myres.openai.azure.com", None);
    let body = json!({"model": "gpt-35-turbo", "messages": []});
    let req = http_request(&ctx, body.as_object().unwrap()).unwrap();
    assert_eq!(req.uri().query(), Some("api-version=2024-10-21"));
}
