//! Unit tests for the URL and the filter-chunk test; stream transcripts are in `tests/azure_fixtures.rs`.

use super::*;
use crate::test_support::same_url_for;

#[test]
fn url_has_deployment_and_api_version() {
    let want = "https://myres.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21";
    let bases = [
        "https://myres.openai.azure.com",
        "https://myres.openai.azure.com/",
        "https://myres.openai.azure.com/openai",
        "https://myres.openai.azure.com/openai/",
    ];
    same_url_for(&bases, want, |base| chat_url(base, "gpt-4o-prod", None));
    assert_eq!(
        chat_url(
            "https://r.openai.azure.com",
            "d",
            Some("2025-04-01-preview")
        ),
        "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2025-04-01-preview"
    );
    assert_eq!(
        chat_url("https://r.openai.azure.com", "d", Some(" ")),
        "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"
    );
}

#[test]
fn v1_base_uses_the_v1_path() {
    assert_eq!(
        chat_url(
            "https://r.openai.azure.com/openai/v1/",
            "d",
            Some("2024-10-21")
        ),
        "https://r.openai.azure.com/openai/v1/chat/completions"
    );
}

#[test]
fn filter_only_chunks_are_recognised() {
    assert!(is_filter_only(
        br#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#
    ));
    assert!(is_filter_only(br#"{"choices":[],"usage":null}"#));
    assert!(!is_filter_only(
        br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
    ));
    assert!(!is_filter_only(br#"{"choices":[{"index":0,"delta":{}}]}"#));
    assert!(!is_filter_only(br#"{"error":{"message":"x"}}"#));
    assert!(!is_filter_only(b"not json"));
}
