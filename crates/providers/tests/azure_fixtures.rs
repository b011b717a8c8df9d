//! Fixture tests for the Azure OpenAI adapter: stream transcripts under `fixtures/azure/stream/` (`<case>.sse` →
//! the chunks in `<case>.json`, filter-only chunks dropped, and the error if any), plus the built HTTP request
//! (deployment URL, `api-version`, `api-key` header, body passed through).

/// Helpers live in a `#[cfg(test)]` module so the workspace lints on unwrap/panic treat them as test code.
#[cfg(test)]
mod support {
    use providers::UpstreamCtx;
    use providers::UpstreamErrorKind;
    use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    pub fn cases(kind: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/azure")
            .join(kind);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
        paths
    }

    pub fn kind_name(kind: &UpstreamErrorKind) -> String {
        format!("{kind:?}")
    }

    pub fn ctx(base: &str, api_version: Option<&str>) -> UpstreamCtx {
        UpstreamCtx {
            client: reqwest::Client::new(),
            base_url: base.into(),
            api_key: "azure-secret".into(),
            api_version: api_version.map(str::to_owned),
            extra_headers: BTreeMap::from([("x-ms-client-request-id".to_owned(), "r1".to_owned())]),
            first_byte_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            media: MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap()),
            forward_image_urls: false,
        }
    }
}

use futures::StreamExt;
use providers::azure::{azure_chunks, http_request};
use providers::sse::SseDecoder;
use serde_json::{Value, json};
use support::{cases, ctx, kind_name};

#[tokio::test]
async fn streams_drop_filter_chunks() {
    for path in cases("stream") {
        let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut decoder = SseDecoder::default();
        decoder.push(&std::fs::read(path.with_extension("sse")).unwrap());
        let mut events = Vec::new();
        while let Some(ev) = decoder.next_event().unwrap() {
            events.push(Ok(ev));
        }
        let mut chunks = azure_chunks(futures::stream::iter(events).boxed());
        let mut got = Vec::new();
        let mut error = None;
        while let Some(item) = chunks.next().await {
            match item {
                Ok(bytes) => got.push(serde_json::from_slice::<Value>(&bytes).unwrap()),
                Err(e) => error = Some(e),
            }
        }
        assert_eq!(Value::Array(got), case["chunks"], "{}", path.display());
        match (case.get("error"), error) {
            (Some(want), Some(e)) => {
                assert_eq!(kind_name(&e.kind), want["kind"], "{}", path.display());
                assert!(
                    e.message
                        .contains(want["message_contains"].as_str().unwrap())
                );
            }
            (None, None) => {}
            (want, got) => panic!("{}: error {want:?} expected, got {got:?}", path.display()),
        }
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
        req.url().as_str(),
        "https://myres.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview"
    );
    assert_eq!(req.headers()["api-key"], "azure-secret");
    assert_eq!(req.headers()["x-ms-client-request-id"], "r1");
    assert!(req.headers().get("authorization").is_none());
    let sent: Value = serde_json::from_slice(req.body().unwrap().as_bytes().unwrap()).unwrap();
    assert_eq!(sent, body);
}

#[test]
fn http_request_defaults_the_api_version() {
    let ctx = ctx("https://myres.openai.azure.com", None);
    let body = json!({"model": "gpt-35-turbo", "messages": []});
    let req = http_request(&ctx, body.as_object().unwrap()).unwrap();
    assert_eq!(req.url().query(), Some("api-version=2024-10-21"));
}
