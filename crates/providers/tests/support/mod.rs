//! Helpers shared by the fixture tests: the case files of a fixture folder, reading them, comparing JSON and
//! errors, and reading a case's SSE transcript. (`upstream.rs`: an upstream context, for the tests that build HTTP
//! requests.)

use providers::sse::{SseDecoder, SseEvent};
use providers::{UpstreamError, UpstreamErrorKind};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The `*.json` cases under `fixtures/<provider>/<kind>/`, sorted; there must be some.
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

/// The events of the case's transcript, `<case>.sse` beside `<case>.json`.
pub fn transcript(path: &Path) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::default();
    decoder.push(&std::fs::read(path.with_extension("sse")).unwrap());
    let mut events = Vec::new();
    while let Some(ev) = decoder.next_event().unwrap() {
        events.push(ev);
    }
    events
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

/// `{"status"?, "kind"?, "error_type"?, "code"?, "message_contains"?}` against an actual error.
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

/// A stream's error against the case's `error`: both there and alike, or neither.
pub fn assert_stream_error(path: &Path, want: Option<&Value>, got: Option<UpstreamError>) {
    match (want, got) {
        (Some(want), Some(got)) => assert_error(path, &got, want),
        (None, None) => {}
        (want, got) => panic!("{}: expected error {want:?}, got {got:?}", path.display()),
    }
}
