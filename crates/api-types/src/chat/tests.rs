use super::*;
use serde_json::json;

fn head(v: Value) -> Result<ChatRequestHead, InvalidField> {
    ChatRequestHead::from_object(v.as_object().unwrap())
}

#[test]
fn reads_the_fields_it_needs() {
    let h = head(
        json!({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,
        "stream_options":{"include_usage":true},"max_tokens":12,"n":2}),
    )
    .unwrap();
    assert_eq!(
        h,
        ChatRequestHead {
            model: "gpt-4o".into(),
            stream: true,
            include_usage: true,
            max_tokens: Some(12),
            n: 2
        }
    );
}

#[test]
fn max_completion_tokens_wins_over_max_tokens() {
    let h = head(json!({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":9})).unwrap();
    assert_eq!(h.max_tokens, Some(9));
}

#[test]
fn rejects_missing_and_mistyped_fields() {
    assert_eq!(
        head(json!({"messages":[{"role":"user"}]}))
            .unwrap_err()
            .param,
        "model"
    );
    assert_eq!(
        head(json!({"model":1,"messages":[{"role":"user"}]}))
            .unwrap_err()
            .param,
        "model"
    );
    assert_eq!(head(json!({"model":"m"})).unwrap_err().param, "messages");
    assert_eq!(
        head(json!({"model":"m","messages":"hi"}))
            .unwrap_err()
            .param,
        "messages"
    );
    assert_eq!(
        head(json!({"model":"m","messages":[]})).unwrap_err().param,
        "messages"
    );
    assert_eq!(
        head(json!({"model":"m","messages":[{"content":"x"}]}))
            .unwrap_err()
            .param,
        "messages"
    );
    assert_eq!(
        head(json!({"model":"m","messages":[{"role":"user"}],"stream":"yes"}))
            .unwrap_err()
            .param,
        "stream"
    );
    assert_eq!(
        head(json!({"model":"m","messages":[{"role":"user"}],"max_tokens":-1}))
            .unwrap_err()
            .param,
        "max_tokens"
    );
    assert_eq!(
        head(json!({"model":"m","messages":[{"role":"user"}],"tools":{}}))
            .unwrap_err()
            .param,
        "tools"
    );
}

#[test]
fn stream_options_need_stream() {
    let e = head(
        json!({"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true}}),
    )
    .unwrap_err();
    assert_eq!(e.param, "stream_options");
    assert!(e.message.contains("only allowed when 'stream' is enabled"));
}
