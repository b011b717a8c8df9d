//! Fixture tests for the Gemini adapter's pure conversions, one case per file under `fixtures/gemini/`:
//! `request/` (OpenAI request → Gemini body, or the expected error), `response/` (Gemini answer → OpenAI
//! completion), `stream/` (a Gemini SSE transcript `<case>.sse` → OpenAI chunks in `<case>.json`, and the error if
//! any). Random parts (`created`, generated ids written `*` / `call_*` in a fixture) are checked for shape, then
//! blanked before comparing.

/// Helpers live in a `#[cfg(test)]` module so the workspace lints on unwrap/panic treat them as test code.
#[cfg(test)]
mod support {
    use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
    use providers::{UpstreamCtx, UpstreamError, UpstreamErrorKind};
    use serde_json::{Value, json};
    use std::collections::{BTreeMap, HashSet};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    pub fn cases(provider: &str, kind: &str) -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(provider)
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

    pub fn load(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn assert_json(path: &Path, got: &Value, want: &Value) {
        assert!(
            got == want,
            "{}\n--- got ---\n{}\n--- want ---\n{}",
            path.display(),
            serde_json::to_string_pretty(got).unwrap(),
            serde_json::to_string_pretty(want).unwrap()
        );
    }

    /// `{"kind"?, "error_type"?, "code"?, "message_contains"?}` against an actual error.
    pub fn assert_error(path: &Path, got: &UpstreamError, want: &Value) {
        let kind = match got.kind {
            UpstreamErrorKind::Status(s) => json!({ "status": s }),
            UpstreamErrorKind::InvalidInput => json!("invalid_input"),
            ref other => json!(format!("{other:?}")),
        };
        let actual = json!({ "kind": kind, "error_type": got.error_type, "code": got.code });
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

    pub fn ctx(base: &str, api_version: Option<&str>) -> UpstreamCtx {
        UpstreamCtx {
            client: reqwest::Client::new(),
            base_url: base.into(),
            api_key: "secret-key".into(),
            api_version: api_version.map(str::to_owned),
            extra_headers: BTreeMap::from([("x-team".to_owned(), "blue".to_owned())]),
            first_byte_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            media: MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap()),
            forward_image_urls: false,
        }
    }
}

use futures::StreamExt;
use providers::gemini::{build_request, completion_from_body, gemini_chunks, http_request};
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use providers::sse::SseDecoder;
use serde_json::{Value, json};
use std::collections::HashSet;
use support::{assert_error, assert_json, cases, ctx, load, normalize};

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
        let mut decoder = SseDecoder::default();
        decoder.push(&std::fs::read(path.with_extension("sse")).unwrap());
        let mut events = Vec::new();
        while let Some(ev) = decoder.next_event().unwrap() {
            events.push(Ok(ev));
        }
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
        match (case.get("error"), error) {
            (Some(want), Some(e)) => assert_error(&path, &e, want),
            (None, None) => {}
            (want, got) => panic!("{}: error {want:?} expected, got {got:?}", path.display()),
        }
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
        req.url().as_str(),
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(req.method(), "POST");
    assert_eq!(req.headers()["x-goog-api-key"], "secret-key");
    assert_eq!(req.headers()["x-team"], "blue");
    assert!(req.headers().get("authorization").is_none());
    let sent: Value = serde_json::from_slice(req.body().unwrap().as_bytes().unwrap()).unwrap();
    assert_eq!(
        sent,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}
