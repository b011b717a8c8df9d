//! Fixture tests for the Gemini adapter's pure conversions, one case per file under `fixtures/gemini/`:
//! `request/` (OpenAI request → Gemini body, or the expected error), `response/` (Gemini answer → OpenAI
//! completion), `stream/` (a Gemini SSE transcript `<case>.sse` → OpenAI chunks in `<case>.json`, and the error if
//! any). Random parts (`created`, generated ids written `*` / `call_*` in a fixture) are checked for shape, then
//! blanked before comparing.

/// Helpers live in `#[cfg(test)]` modules so the workspace lints on unwrap/panic treat them as test code.
#[cfg(test)]
mod support;
#[cfg(test)]
#[path = "support/upstream.rs"]
mod upstream;

#[cfg(test)]
mod random {
    use serde_json::{Value, json};
    use std::collections::HashSet;

    /// Blanks what is random in a completion or chunk, after checking its shape: `created` → 0; `id` → `*` when the
    /// fixture says `*`; every tool-call id → `call_*` (they must look like `call_<token>` and be distinct).
    pub fn normalize(got: &mut Value, want: &Value, seen_ids: &mut HashSet<String>) {
        assert!(
            got["created"].as_u64().is_some(),
            "created: {}",
            got["created"]
        );
        got["created"] = json!(0);
        let id = got["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("chatcmpl-") && id.len() > 9, "id {id}");
        if want["id"] == "*" {
            got["id"] = json!("*");
        }
        for choice in got["choices"].as_array_mut().unwrap() {
            let holder = if choice.get("message").is_some() {
                "message"
            } else {
                "delta"
            };
            let Some(calls) = choice[holder]
                .get_mut("tool_calls")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for call in calls {
                let Some(id) = call.get("id").and_then(Value::as_str) else {
                    continue;
                };
                assert!(
                    id.starts_with("call_") && id.len() > 10,
                    "tool call id {id}"
                );
                assert!(seen_ids.insert(id.to_owned()), "tool call id {id} repeated");
                call["id"] = json!("call_*");
            }
        }
    }
}

use futures::StreamExt;
use providers::gemini::{build_request, completion_from_body, gemini_chunks, http_request};
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use random::normalize;
use serde_json::{Value, json};
use std::collections::HashSet;
use support::{assert_error, assert_json, assert_stream_error, cases, load, transcript};

fn ctx(base: &str, api_version: Option<&str>) -> providers::UpstreamCtx {
    upstream::ctx(base, api_version, "secret-key", ("x-team", "blue"))
}

#[tokio::test]
async fn requests_convert_to_gemini() {
    let media = MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap());
    for path in cases("gemini", "request") {
        let case = load(&path);
        let got = build_request(case["openai"].as_object().unwrap(), &media).await;
        match case.get("error") {
            Some(want) => assert_error(&path, &got.unwrap_err(), want),
            None => assert_json(
                &path,
                &serde_json::to_value(got.unwrap()).unwrap(),
                &case["gemini"],
            ),
        }
    }
}

#[test]
fn responses_convert_to_openai() {
    for path in cases("gemini", "response") {
        let case = load(&path);
        let body = serde_json::to_vec(&case["gemini"]).unwrap();
        let got = completion_from_body(&body, case["model"].as_str().unwrap());
        match case.get("error") {
            Some(want) => assert_error(&path, &got.unwrap_err(), want),
            None => {
                let mut got = got.unwrap();
                normalize(&mut got, &case["openai"], &mut HashSet::new());
                assert_json(&path, &got, &case["openai"]);
            }
        }
    }
}

#[tokio::test]
async fn streams_convert_to_chunks() {
    for path in cases("gemini", "stream") {
        let case = load(&path);
        let events = transcript(&path).into_iter().map(Ok).collect::<Vec<_>>();
        let mut chunks = gemini_chunks(
            futures::stream::iter(events).boxed(),
            case["model"].as_str().unwrap(),
        );
        let want = case["chunks"].as_array().unwrap();
        let mut got = Vec::new();
        let mut error = None;
        let mut ids = HashSet::new();
        while let Some(item) = chunks.next().await {
            match item {
                Ok(bytes) => {
                    let mut chunk: Value = serde_json::from_slice(&bytes).unwrap();
                    normalize(&mut chunk, &want[got.len().min(want.len() - 1)], &mut ids);
                    got.push(chunk);
                }
                Err(e) => error = Some(e),
            }
        }
        assert_json(&path, &Value::Array(got), &case["chunks"]);
        assert_stream_error(&path, case.get("error"), error);
    }
}

#[tokio::test]
async fn http_request_keeps_the_key_out_of_the_url() {
    let ctx = ctx("https://generativelanguage.googleapis.com/v1beta/", None);
    let body = json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}], "stream": true});
    let req = http_request(&ctx, body.as_object().unwrap(), true)
        .await
        .unwrap();
    assert_eq!(
        req.uri().to_string(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(req.method(), "POST");
    assert_eq!(req.headers()["x-goog-api-key"], "secret-key");
    assert_eq!(req.headers()["x-team"], "blue");
    assert!(req.headers().get("authorization").is_none());
    let sent: Value = serde_json::from_slice(req.body_bytes()).unwrap();
    assert_eq!(
        sent,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}
