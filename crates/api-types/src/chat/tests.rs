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

fn content_error(messages: Value) -> Option<String> {
    head(json!({"model": "m", "messages": messages}))
        .err()
        .map(|e| e.param)
}

#[test]
fn content_must_be_a_string_or_parts() {
    for bad in [json!(42), json!({}), json!(true)] {
        assert_eq!(
            content_error(
                json!([{"role": "user", "content": "ok"}, {"role": "user", "content": bad}])
            ),
            Some("messages[1].content".to_owned())
        );
    }
    assert_eq!(
        content_error(json!([{"role": "user", "content": null}])),
        Some("messages[0].content".to_owned())
    );
    assert_eq!(
        content_error(json!([{"role": "assistant", "content": null}])),
        Some("messages[0].content".to_owned())
    );
}

#[test]
fn null_content_is_valid_where_openai_allows_it() {
    let calls =
        json!([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]);
    assert_eq!(
        content_error(json!([{"role": "assistant", "content": null, "tool_calls": calls}])),
        None
    );
    assert_eq!(
        content_error(
            json!([{"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "{}"}}])
        ),
        None
    );
    assert_eq!(
        content_error(json!([{"role": "function", "name": "f", "content": null}])),
        None
    );
}

#[test]
fn parts_need_a_type_and_their_fields() {
    let user = |parts: Value| json!([{"role": "user", "content": parts}]);
    assert_eq!(
        content_error(user(json!(["hi"]))),
        Some("messages[0].content[0]".to_owned())
    );
    assert_eq!(
        content_error(user(json!([{"text": "hi"}]))),
        Some("messages[0].content[0].type".to_owned())
    );
    assert_eq!(
        content_error(user(json!([{"type": 1}]))),
        Some("messages[0].content[0].type".to_owned())
    );
    assert_eq!(
        content_error(user(json!([{"type": "text", "text": 5}]))),
        Some("messages[0].content[0].text".to_owned())
    );
    assert_eq!(
        content_error(user(
            json!([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": 1}}])
        )),
        Some("messages[0].content[1].image_url.url".to_owned())
    );
    assert_eq!(
        content_error(user(json!([{"type": "image_url", "image_url": 7}]))),
        Some("messages[0].content[0].image_url".to_owned())
    );
    assert_eq!(
        content_error(user(json!([
            {"type": "text", "text": "a"},
            {"type": "image_url", "image_url": {"url": "data:x"}},
            {"type": "image_url", "image_url": "https://h/i.png"},
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
        ]))),
        None
    );
}

#[test]
fn counts_image_parts_across_messages() {
    let img = json!({"type": "image_url", "image_url": {"url": "u"}});
    let obj = json!({"model": "m", "messages": [
        {"role": "user", "content": [img, {"type": "text", "text": "t"}]},
        {"role": "assistant", "content": "x"},
        {"role": "user", "content": [img, img]}]});
    assert_eq!(count_image_parts(obj.as_object().unwrap()), 3);
}
