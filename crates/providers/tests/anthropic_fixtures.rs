//! Fixture tests for the Anthropic adapter's pure conversions, one JSON file per case under `fixtures/anthropic/`:
//! `request/` (OpenAI request → Anthropic body, or the expected error), `response/` (Anthropic message → OpenAI
//! completion), `stream/` (an Anthropic SSE transcript in `<case>.sse` → OpenAI chunks, and the error if any).
#![cfg(test)]

#[cfg(test)]
mod support;

use providers::UpstreamError;
use providers::anthropic::convert::to_anthropic;
use providers::anthropic::response::completion_from_message;
use providers::anthropic::stream::StreamState;
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use serde_json::Value;
use std::path::Path;
use support::{assert_error, assert_json, assert_stream_error, load, transcript};

/// `created` used for every converted answer, so fixtures are stable.
const CREATED: u64 = 1_700_000_000;

fn cases(kind: &str) -> Vec<std::path::PathBuf> {
    support::cases("anthropic", kind)
}

/// A conversion's outcome against a case: the case's `error` when it has one, else its JSON under `want_key`.
fn assert_outcome(path: &Path, got: Result<Value, UpstreamError>, case: &Value, want_key: &str) {
    match case.get("error") {
        Some(want) => assert_error(path, &got.unwrap_err(), want),
        None => assert_json(path, &got.unwrap(), &case[want_key]),
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
        assert_outcome(&path, got, &case, "anthropic");
    }
}

#[test]
fn responses_convert_to_openai() {
    for path in cases("response") {
        let case = load(&path);
        let body = serde_json::to_vec(&case["anthropic"]).unwrap();
        let got = completion_from_message(&body, CREATED);
        assert_outcome(&path, got, &case, "openai");
    }
}

#[test]
fn streams_convert_to_openai_chunks() {
    for path in cases("stream") {
        let case = load(&path);
        let mut state = StreamState::new(CREATED);
        let mut chunks = Vec::new();
        let mut error = None;
        for ev in transcript(&path) {
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
        assert_stream_error(&path, case.get("error"), error);
    }
}
