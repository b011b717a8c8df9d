//! Unit tests for the small pure pieces; request/response translation is covered by the fixture tests in
//! `crates/providers/tests/gemini_fixtures.rs`.

use super::*;
use crate::error::UpstreamErrorKind;
use crate::test_support::same_url_for;
use serde_json::json;

#[test]
fn url_tolerates_trailing_version_and_slash() {
    let want =
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent";
    let bases = [
        "https://generativelanguage.googleapis.com",
        "https://generativelanguage.googleapis.com/",
        "https://generativelanguage.googleapis.com/v1beta",
        "https://generativelanguage.googleapis.com/v1beta/",
    ];
    same_url_for(&bases, want, |base| {
        endpoint_url(base, "gemini-2.5-flash", false)
    });
    assert_eq!(
        endpoint_url("http://h:1", "tunedModels/mine", true),
        "http://h:1/v1beta/tunedModels/mine:streamGenerateContent?alt=sse"
    );
}

#[test]
fn bad_key_is_reported_as_401() {
    let body = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#;
    let e = error_from_body(400, body);
    assert_eq!(e.status(), Some(401));
    assert!(e.disables_key());
    assert!(e.message.contains("API key not valid"));
}

#[test]
fn errors_keep_status_and_message() {
    let body = br#"[{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]"#;
    let e = error_from_body(429, body);
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.error_type.as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert!(e.message.ends_with("Resource has been exhausted"));
    assert!(e.is_retryable());
    assert!(!e.disables_key());
    assert!(error_from_body(403, b"forbidden").disables_key());
}

#[test]
fn schema_refs_are_inlined_and_nullables_folded() {
    let schema = json!({
        "type": "object",
        "$defs": { "Unit": { "type": "string", "enum": ["c", "f"], "title": "Unit" } },
        "properties": {
            "unit": { "$ref": "#/$defs/Unit", "description": "which scale" },
            "note": { "anyOf": [{ "type": "string" }, { "type": "null" }], "default": null },
            "count": { "type": ["integer", "null"], "exclusiveMinimum": 0 },
            "tree": { "$ref": "#" }
        },
        "required": ["unit", "ghost"]
    });
    assert_eq!(
        clean_schema(&schema),
        json!({
            "type": "object",
            "properties": {
                "unit": { "type": "string", "enum": ["c", "f"], "description": "which scale" },
                "note": { "type": "string", "nullable": true },
                "count": { "type": "integer", "nullable": true },
                "tree": {}
            },
            "required": ["unit"]
        })
    );
}

#[test]
fn stream_without_events_is_a_protocol_error() {
    let mut m = StreamMapper::new("gemini-2.5-flash");
    let e = m.finish().unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Protocol);
}

#[test]
fn stream_error_event_becomes_upstream_error() {
    let mut m = StreamMapper::new("gemini-2.5-flash");
    let e = m
        .map_event(br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#)
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.is_retryable());
}
