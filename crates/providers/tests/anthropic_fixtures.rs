//! Fixture tests for the Anthropic adapter's pure conversions, one JSON file per case under `fixtures/anthropic/`:
//! `request/` (OpenAI request → Anthropic body, or the expected error), `response/` (Anthropic message → OpenAI
//! completion), `stream/` (an Anthropic SSE transcript in `<case>.sse` → OpenAI chunks, and the error if any).
#![cfg(test)]

use providers::anthropic::convert::to_anthropic;
use providers::anthropic::response::completion_from_message;
use providers::anthropic::stream::StreamState;
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use providers::sse::SseDecoder;
use providers::{UpstreamError, UpstreamErrorKind};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// `created` used for every converted answer, so fixtures are stable.
const CREATED: u64 = 1_700_000_000;

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/anthropic")
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

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_json(path: &Path, got: &Value, want: &Value) {
    assert!(
        got == want,
        "{}\n--- got ---\n{}\n--- want ---\n{}",
        path.display(),
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap()
    );
}

/// `{"status"?, "kind"?, "error_type"?, "code"?, "message_contains"?}` against an actual error.
fn assert_error(path: &Path, got: &UpstreamError, want: &Value) {
    let kind = match got.kind {
        UpstreamErrorKind::Status(s) => json!({ "status": s }),
        UpstreamErrorKind::InvalidInput => json!("invalid_input"),
        ref other => json!(format!("{other:?}")),
    };
    let actual = json!({
        "kind": kind,
        "error_type": got.error_type,
        "code": got.code,
    });
    for key in ["kind", "error_type", "code"] {
        if let Some(w) = want.get(key) {
            assert_json(path, &actual[key], w);
        }
    }
    if let Some(needle) = want.get("message_contains").and_then(Value::as_str) {
        assert!(
            got.message.contains(needle),
            "{}: `{}` lacks `{needle}`",
            path.display(),
            got.message
        );
    }
}

#[tokio::test]
async fn requests_convert_to_anthropic() {
    let media = MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap());
    for path in cases("request") {
        let case = load(&path);
        let req = case["openai"].as_object().unwrap();
        let forward = case["forward_image_urls"].as_bool().unwrap_or(false);
        let got = to_anthropic(req, &media, forward).await;
        match case.get("error") {
            Some(want) => assert_error(&path, &got.unwrap_err(), want),
            None => assert_json(&path, &got.unwrap(), &case["anthropic"]),
        }
    }
}

#[test]
fn responses_convert_to_openai() {
    for path in cases("response") {
        let case = load(&path);
        let body = serde_json::to_vec(&case["anthropic"]).unwrap();
        let got = completion_from_message(&body, CREATED);
        match case.get("error") {
            Some(want) => assert_error(&path, &got.unwrap_err(), want),
            None => assert_json(&path, &got.unwrap(), &case["openai"]),
        }
    }
}

#[test]
fn streams_convert_to_openai_chunks() {
    for path in cases("stream") {
        let case = load(&path);
        let transcript = std::fs::read(path.with_extension("sse")).unwrap();
        let mut decoder = SseDecoder::default();
        decoder.push(&transcript);
        let mut state = StreamState::new(CREATED);
        let mut chunks = Vec::new();
        let mut error = None;
        while let Some(ev) = decoder.next_event().unwrap() {
            match state.on_event(ev.event.as_deref().unwrap_or_default(), &ev.data) {
                Ok(out) => chunks.extend(
                    out.iter()
                        .map(|b| serde_json::from_slice::<Value>(b).unwrap()),
                ),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        assert!(
            state.is_finished(),
            "{}: stream did not finish",
            path.display()
        );
        assert_json(&path, &Value::Array(chunks), &case["chunks"]);
        match (case.get("error"), error) {
            (Some(want), Some(got)) => assert_error(&path, &got, want),
            (None, None) => {}
            (want, got) => panic!("{}: expected error {want:?}, got {got:?}", path.display()),
        }
    }
}
