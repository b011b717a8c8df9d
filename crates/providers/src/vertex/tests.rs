use super::*;

#[test]
fn urls_follow_the_region_and_the_publisher() {
    assert_eq!(
        endpoint_url("", None, "p1", "claude-3-5-sonnet@20240620", false),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/anthropic/models/claude-3-5-sonnet@20240620:rawPredict"
    );
    assert_eq!(
        endpoint_url("", Some("europe-west4"), "p1", "gemini-2.0-flash", true),
        "https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        endpoint_url("", Some("global"), "p1", "claude-x", true),
        "https://aiplatform.googleapis.com/v1/projects/p1/locations/global/publishers/anthropic/models/claude-x:streamRawPredict"
    );
    assert_eq!(
        endpoint_url("http://127.0.0.1:9/", None, "p1", "gemini-x", false),
        "http://127.0.0.1:9/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-x:generateContent"
    );
}

#[test]
fn a_key_that_is_not_a_service_account_is_named_without_its_text() {
    for key in [
        "sk-secret-abcdef",
        r#"{"type":"service_account","project_id":"p","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----"}"#,
    ] {
        let err = ServiceAccount::parse(key).err().unwrap();
        assert!(
            !err.contains("secret") && !err.contains("c2VjcmV0"),
            "{err}"
        );
    }
}
