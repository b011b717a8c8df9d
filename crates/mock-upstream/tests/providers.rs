//! Provider routes: each Anthropic / Gemini / Azure rule refuses a request that breaks it (with the provider's own
//! error shape), a conforming request passes, and plain answers and stream transcripts are well-formed.
#![cfg(test)]
#![expect(
    clippy::too_many_lines,
    reason = "an end-to-end scenario reads top to bottom; the 120-line limit is for product code (decision 0012)"
)]

mod common;

use common::mock;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

// === JSON editing ===

fn parent_and_key<'v>(v: &'v mut Value, pointer: &str) -> (&'v mut Value, String) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a slash");
    let parent = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    (parent, key.to_owned())
}

/// `v` with `pointer` set to `value` (an array index replaces the element, or appends at the length).
fn set(mut v: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = parent_and_key(&mut v, pointer);
    match parent {
        Value::Object(o) => {
            o.insert(key, value);
        }
        Value::Array(a) => {
            let i = key.parse::<usize>().expect("index");
            if i == a.len() {
                a.push(value);
            } else {
                a[i] = value;
            }
        }
        other => panic!("cannot set into {other}"),
    }
    v
}

/// `v` without `pointer`.
fn remove(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = parent_and_key(&mut v, pointer);
    match parent {
        Value::Object(o) => {
            o.remove(&key).expect("key present");
        }
        Value::Array(a) => {
            a.remove(key.parse::<usize>().expect("index"));
        }
        other => panic!("cannot remove from {other}"),
    }
    v
}

/// (event name, data) pairs of a named-event SSE body.
fn named_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .expect("event line");
            let data = e
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data line");
            (
                name.to_owned(),
                serde_json::from_str(data).expect("data is JSON"),
            )
        })
        .collect()
}

// === Anthropic ===

fn claude_body() -> Value {
    json!({
        "model": "claude-3-5-sonnet-20240620",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris? And what is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "text", "text": "thanks"}
            ]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "auto"},
        "temperature": 0.5
    })
}

async fn claude_with(
    m: &MockUpstream,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/messages", m.base_url()))
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("sent")
}

const CLAUDE_HEADERS: [(&str, &str); 2] = [
    ("x-api-key", "sk-ant-1"),
    ("anthropic-version", "2023-06-01"),
];

async fn claude(m: &MockUpstream, body: &Value) -> reqwest::Response {
    claude_with(m, &CLAUDE_HEADERS, body).await
}

/// Asserts Anthropic's error envelope and returns the message.
async fn claude_error(resp: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(resp.status().as_u16(), status);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(v["request_id"].is_string());
    v["error"]["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn anthropic_conforming_request_gets_a_message() {
    let m = mock().await;
    m.push(Behavior::Reply(
        Reply {
            text: Some("Let me check.".into()),
            ..Reply::tool_call("get_weather", r#"{"city":"Paris"}"#)
        }
        .usage(100, 20)
        .cached(30),
    ));
    let resp = claude(&m, &claude_body()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert!(v["id"].as_str().expect("id").starts_with("msg_"));
    assert_eq!(
        (&v["type"], &v["role"], &v["model"]),
        (
            &json!("message"),
            &json!("assistant"),
            &json!("claude-3-5-sonnet-20240620")
        )
    );
    assert_eq!(
        v["content"][0],
        json!({"type": "text", "text": "Let me check."})
    );
    let tool = &v["content"][1];
    assert_eq!(tool["type"], "tool_use");
    assert!(tool["id"].as_str().expect("id").starts_with("toolu_"));
    assert_eq!(
        (&tool["name"], &tool["input"]),
        (&json!("get_weather"), &json!({"city": "Paris"}))
    );
    assert_eq!(v["stop_reason"], "tool_use");
    assert!(v["stop_sequence"].is_null());
    let usage = json!({"input_tokens": 70, "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 30, "output_tokens": 20,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}});
    assert_eq!(v["usage"], usage);

    let v: Value = claude(&m, &claude_body()).await.json().await.expect("json");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": mock_upstream::DEFAULT_TEXT}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"]["input_tokens"], 9);

    // Other valid shapes: string system and content, URL image, tool_result with blocks, final prefill.
    let body = json!({"model": "c", "max_tokens": 1, "system": "Be brief.", "messages": [
        {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
            {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
            "content": [{"type": "text", "text": "ok"}]}]},
        {"role": "assistant", "content": "The answer is"}
    ], "tools": [{"name": "f", "input_schema": {"type": "object"}}], "stop_sequences": ["x"],
        "metadata": {"user_id": "u1"}, "top_k": 5});
    assert_eq!(claude(&m, &body).await.status(), 200);
    let recorded = m.chat_requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].path, "/v1/messages");
    assert_eq!(recorded[0].header("x-api-key"), Some("sk-ant-1"));
}

#[tokio::test]
async fn anthropic_rules_each_refuse() {
    let m = mock().await;
    let good = claude_body();
    // The good body with one field set to another value, or left out.
    let with = |pointer: &str, value: Value| set(good.clone(), pointer, value);
    let without = |pointer: &str| remove(good.clone(), pointer);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no model", without("/model"), "model: Field required"),
        (
            "no max_tokens",
            without("/max_tokens"),
            "max_tokens: Field required",
        ),
        (
            "zero max_tokens",
            with("/max_tokens", json!(0)),
            "greater than or equal to 1",
        ),
        (
            "string max_tokens",
            with("/max_tokens", json!("9")),
            "valid integer",
        ),
        (
            "no messages",
            with("/messages", json!([])),
            "at least one message",
        ),
        (
            "system role inside messages",
            with("/messages/0", json!({"role": "system", "content": "x"})),
            "Unexpected role \"system\"",
        ),
        (
            "first message from the assistant",
            with(
                "/messages",
                json!([{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]),
            ),
            "first message must use the \"user\" role",
        ),
        (
            "two user turns in a row",
            with(
                "/messages",
                json!([{"role": "user", "content": "x"}, {"role": "user", "content": "y"}]),
            ),
            "roles must alternate",
        ),
        (
            "tool role",
            with("/messages/2/role", json!("tool")),
            "Input should be 'user' or 'assistant'",
        ),
        (
            "empty text block",
            with("/messages/0/content/0/text", json!("")),
            "text content blocks must be non-empty",
        ),
        (
            "blank text block",
            with("/messages/0/content/0/text", json!("  \n")),
            "non-whitespace",
        ),
        (
            "empty string content",
            with("/messages/0/content", json!("")),
            "non-empty content",
        ),
        (
            "empty block list",
            with("/messages/0/content", json!([])),
            "non-empty content",
        ),
        (
            "OpenAI image part",
            with(
                "/messages/0/content/1",
                json!({"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}),
            ),
            "Input tag 'image_url'",
        ),
        (
            "bmp media type",
            with(
                "/messages/0/content/1/source/media_type",
                json!("image/bmp"),
            ),
            "media_type",
        ),
        (
            "data URL as base64 data",
            with(
                "/messages/0/content/1/source/data",
                json!(format!("data:image/png;base64,{PNG}")),
            ),
            "invalid base64",
        ),
        (
            "media type not matching the bytes",
            with(
                "/messages/0/content/1/source/media_type",
                json!("image/jpeg"),
            ),
            "appears to be a image/png image",
        ),
        (
            "non-http URL source",
            with(
                "/messages/0/content/1/source",
                json!({"type": "url", "url": "ftp://x/a.png"}),
            ),
            "http(s) URL",
        ),
        (
            "unknown source type",
            with(
                "/messages/0/content/1/source",
                json!({"type": "data_url", "url": "x"}),
            ),
            "'base64', 'url'",
        ),
        (
            "tool_use in a user turn",
            with(
                "/messages/0/content/1",
                json!({"type": "tool_use", "id": "a", "name": "f", "input": {}}),
            ),
            "`tool_use` blocks can only appear in assistant messages",
        ),
        (
            "tool_result answering an unknown id",
            with("/messages/2/content/0/tool_use_id", json!("toolu_other")),
            "unexpected `tool_use_id`",
        ),
        (
            "tool_use left without a result",
            with("/messages/2/content", json!("thanks")),
            "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            "tool_use as the last turn",
            without("/messages/2"),
            "without `tool_result` blocks",
        ),
        (
            "tool_result after text",
            with(
                "/messages/2/content",
                json!([{"type": "text", "text": "a"},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}]),
            ),
            "must come first",
        ),
        (
            "tool_result in an assistant turn",
            with(
                "/messages/1/content/0",
                json!({"type": "tool_result", "tool_use_id": "x"}),
            ),
            "only appear in user messages",
        ),
        (
            "tool_use input as a JSON string",
            with("/messages/1/content/1/input", json!("{\"city\":\"Paris\"}")),
            "input: Input should be a valid dictionary",
        ),
        (
            "OpenAI tool_calls on a message",
            with("/messages/1/tool_calls", json!([])),
            "messages.1.tool_calls: Extra inputs are not permitted",
        ),
        (
            "name on a message",
            with("/messages/0/name", json!("bob")),
            "messages.0.name: Extra inputs are not permitted",
        ),
        (
            "input_schema without type object",
            with("/tools/0/input_schema", json!({"properties": {}})),
            "input_schema.type: Input should be 'object'",
        ),
        (
            "tool without input_schema",
            without("/tools/0/input_schema"),
            "input_schema: Field required",
        ),
        (
            "OpenAI tool shape",
            with(
                "/tools/0",
                json!({"type": "function", "function": {"name": "f"}}),
            ),
            "",
        ),
        (
            "duplicate tool names",
            with(
                "/tools/1",
                json!({"name": "get_weather", "input_schema": {"type": "object"}}),
            ),
            "Tool names must be unique",
        ),
        (
            "temperature above 1",
            with("/temperature", json!(1.5)),
            "temperature: Input should be less than or equal to 1",
        ),
        (
            "negative temperature",
            with("/temperature", json!(-0.1)),
            "temperature",
        ),
        (
            "OpenAI-only field",
            with("/stream_options", json!({"include_usage": true})),
            "stream_options: Extra inputs are not permitted",
        ),
        (
            "n",
            with("/n", json!(1)),
            "n: Extra inputs are not permitted",
        ),
        (
            "system as an object",
            with("/system", json!({"text": "x"})),
            "system",
        ),
        (
            "empty system block",
            with("/system/0/text", json!("")),
            "text content blocks must be non-empty",
        ),
        (
            "string tool_choice",
            with("/tool_choice", json!("auto")),
            "tool_choice: Input should be a valid dictionary",
        ),
        (
            "tool_choice without tools",
            without("/tools"),
            "tool_choice may only be specified while providing tools",
        ),
        (
            "stop as a string",
            with("/stop_sequences", json!("x")),
            "stop_sequences",
        ),
        (
            "prefill ending in a space",
            with(
                "/messages",
                json!([{"role": "user", "content": "x"},
            {"role": "assistant", "content": "Sure "}]),
            ),
            "trailing whitespace",
        ),
    ];
    for (what, body, needle) in &cases {
        let resp = claude(&m, body).await;
        assert_eq!(resp.status(), 400, "{what}");
        let message = claude_error(resp, 400, "invalid_request_error").await;
        if needle.is_empty() {
            // The OpenAI tool shape: name missing or `function` not permitted, whichever comes first.
            assert!(message.starts_with("tools.0"), "{what}: {message}");
        } else {
            assert!(
                message.contains(needle),
                "{what}: `{message}` lacks `{needle}`"
            );
        }
    }
    assert_eq!(
        m.chat_requests().len(),
        cases.len(),
        "refused requests are recorded"
    );
    // Headers.
    let msg = claude_error(
        claude_with(&m, &[("anthropic-version", "2023-06-01")], &good).await,
        401,
        "authentication_error",
    )
    .await;
    assert!(msg.contains("x-api-key"), "{msg}");
    let auth = [
        ("authorization", "Bearer sk-ant-1"),
        ("anthropic-version", "2023-06-01"),
    ];
    claude_error(
        claude_with(&m, &auth, &good).await,
        401,
        "authentication_error",
    )
    .await;
    let msg = claude_error(
        claude_with(&m, &[("x-api-key", "k")], &good).await,
        400,
        "invalid_request_error",
    )
    .await;
    assert!(msg.contains("anthropic-version"), "{msg}");
    let bad_version = [("x-api-key", "k"), ("anthropic-version", "2024-99-99")];
    claude_error(
        claude_with(&m, &bad_version, &good).await,
        400,
        "invalid_request_error",
    )
    .await;
    m.set_accepted_keys(Some(vec!["sk-ant-good".into()]));
    let msg = claude_error(claude(&m, &good).await, 401, "authentication_error").await;
    assert_eq!(msg, "invalid x-api-key");
    let good_key = [
        ("x-api-key", "sk-ant-good"),
        ("anthropic-version", "2023-06-01"),
    ];
    assert_eq!(claude_with(&m, &good_key, &good).await.status(), 200);
}

#[tokio::test]
async fn anthropic_refusal_keeps_the_script_and_status_is_verbatim() {
    let m = mock().await;
    let overloaded =
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    m.push(Behavior::status(529, overloaded));
    let bad = set(claude_body(), "/max_tokens", json!(0));
    claude_error(claude(&m, &bad).await, 400, "invalid_request_error").await;
    let resp = claude(&m, &claude_body()).await;
    assert_eq!(resp.status(), 529);
    assert_eq!(resp.text().await.expect("body"), overloaded);
    assert_eq!(claude(&m, &claude_body()).await.status(), 200);
}

#[tokio::test]
async fn anthropic_stream_transcript_is_well_formed() {
    let m = mock().await;
    let reply = Reply {
        text: Some("Hello wörld".into()),
        ..Reply::tool_call("get_weather", r#"{"city":"Paris"}"#).and_tool_call("now", "{}")
    }
    .usage(50, 7)
    .cached(10)
    .pieces(3);
    m.push(Behavior::Reply(reply));
    let resp = claude(&m, &set(claude_body(), "/stream", json!(true))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = named_events(&resp.text().await.expect("body"));
    for (name, data) in &events {
        assert_eq!(
            data["type"],
            name.as_str(),
            "data.type repeats the event name"
        );
    }
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(&names[..2], ["message_start", "ping"]);
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert!(start["stop_reason"].is_null());
    assert_eq!(start["model"], "claude-3-5-sonnet-20240620");
    assert_eq!(
        start["usage"],
        json!({"input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10, "output_tokens": 1,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}})
    );
    // Blocks: start / deltas / stop, indexes counting every block.
    let mut blocks: Vec<(Value, String, bool)> = Vec::new();
    for (name, data) in &events {
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(data["index"], blocks.len());
                blocks.push((data["content_block"].clone(), String::new(), false));
            }
            "content_block_delta" => {
                let i = usize::try_from(data["index"].as_u64().expect("index")).expect("small");
                assert_eq!(i + 1, blocks.len(), "deltas belong to the open block");
                let d = &data["delta"];
                let piece = match d["type"].as_str() {
                    Some("text_delta") => d["text"].as_str(),
                    Some("input_json_delta") => d["partial_json"].as_str(),
                    other => panic!("delta {other:?}"),
                };
                blocks[i].1.push_str(piece.expect("piece"));
            }
            "content_block_stop" => {
                let i = usize::try_from(data["index"].as_u64().expect("index")).expect("small");
                blocks[i].2 = true;
            }
            _ => {}
        }
    }
    assert_eq!(blocks.len(), 3);
    assert!(blocks.iter().all(|b| b.2), "every block stopped");
    assert_eq!(blocks[0].0, json!({"type": "text", "text": ""}));
    assert_eq!(blocks[0].1, "Hello wörld");
    assert_eq!(blocks[1].0["type"], "tool_use");
    assert_eq!(blocks[1].0["name"], "get_weather");
    assert_eq!(blocks[1].0["input"], json!({}));
    assert!(
        blocks[1].0["id"]
            .as_str()
            .expect("id")
            .starts_with("toolu_")
    );
    assert_eq!(blocks[1].1, r#"{"city":"Paris"}"#);
    assert_eq!(
        (blocks[2].0["name"].as_str(), blocks[2].1.as_str()),
        (Some("now"), "{}")
    );
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "tool_use", "stop_sequence": null})
    );
    assert_eq!(delta["usage"], json!({"output_tokens": 7}));

    // Cut streams never reach message_stop.
    m.push(Behavior::CutAfter { events: 4 });
    let resp = claude(&m, &set(claude_body(), "/stream", json!(true))).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.is_err(), "the connection is aborted");
    m.push(Behavior::GarbageStream);
    let resp = claude(&m, &set(claude_body(), "/stream", json!(true))).await;
    assert!(resp.text().await.expect("body").contains("{not json"));
}

// === Gemini ===

fn gemini_body() -> Value {
    json!({
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"},
                {"inlineData": {"mimeType": "image/png", "data": PNG}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"content": "18C"}}}]}
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {
                "city": {"type": "string", "enum": ["Paris", "Rome"]},
                "default": {"type": "string", "description": "a property may be named default"}
            }, "required": ["city"]}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"temperature": 0.7, "maxOutputTokens": 256}
    })
}

async fn gemini_at(
    m: &MockUpstream,
    suffix: &str,
    key: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let url = format!("{}/v1beta/models/gemini-1.5-pro{suffix}", m.base_url());
    let mut req = reqwest::Client::new().post(url).json(body);
    if let Some(k) = key {
        req = req.header("x-goog-api-key", k);
    }
    req.send().await.expect("sent")
}

async fn gemini(m: &MockUpstream, body: &Value) -> reqwest::Response {
    gemini_at(m, ":generateContent", Some("AIza-1"), body).await
}

/// Asserts Google's error envelope and returns the message.
async fn gemini_error(resp: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(resp.status().as_u16(), status);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["code"], status, "{v}");
    assert_eq!(v["error"]["status"], kind, "{v}");
    v["error"]["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn gemini_conforming_request_gets_candidates() {
    let m = mock().await;
    m.push(Behavior::Reply(
        Reply::text("Sunny.").usage(100, 20).cached(30),
    ));
    let resp = gemini(&m, &gemini_body()).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    let expected = json!([{"content": {"role": "model", "parts": [{"text": "Sunny."}]}, "index": 0, "finishReason": "STOP"}]);
    assert_eq!(v["candidates"], expected);
    assert_eq!(
        v["usageMetadata"],
        json!({"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120, "cachedContentTokenCount": 30})
    );
    assert_eq!(v["modelVersion"], "gemini-1.5-pro");

    m.push(Behavior::Reply(
        Reply::tool_call("get_weather", r#"{"city":"Rome"}"#).and_tool_call("now", "{}"),
    ));
    let v: Value = gemini(&m, &gemini_body()).await.json().await.expect("json");
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
            {"functionCall": {"name": "now", "args": {}}}])
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert!(v["usageMetadata"].get("cachedContentTokenCount").is_none());

    // snake_case names and upper-case schema types are accepted too.
    let snake = json!({"contents": [{"role": "user", "parts": [{"text": "hi"},
            {"inline_data": {"mime_type": "image/png", "data": PNG}}]}],
        "system_instruction": {"parts": [{"text": "x"}]},
        "generation_config": {"max_output_tokens": 5},
        "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}}]}]});
    assert_eq!(gemini(&m, &snake).await.status(), 200);
    let r = &m.chat_requests()[0];
    assert_eq!(r.path, "/v1beta/models/gemini-1.5-pro:generateContent");
    assert_eq!(r.query, "");
    assert_eq!(r.header("x-goog-api-key"), Some("AIza-1"));
}

#[tokio::test]
async fn gemini_rules_each_refuse() {
    let m = mock().await;
    let good = gemini_body();
    let params = "/tools/0/functionDeclarations/0/parameters";
    let p = |rest: &str| format!("{params}{rest}");
    // The good body with one field set to another value, or left out.
    let with = |pointer: &str, value: Value| set(good.clone(), pointer, value);
    let without = |pointer: &str| remove(good.clone(), pointer);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no contents",
            without("/contents"),
            "contents is not specified",
        ),
        (
            "empty contents",
            with("/contents", json!([])),
            "contents is not specified",
        ),
        (
            "assistant role",
            with("/contents/0/role", json!("assistant")),
            "Please use a valid role: user, model.",
        ),
        (
            "system role",
            with("/contents/0/role", json!("system")),
            "valid role",
        ),
        ("no role", without("/contents/0/role"), "valid role"),
        (
            "empty parts",
            with("/contents/0/parts", json!([])),
            "contents.parts must not be empty",
        ),
        (
            "OpenAI part shape",
            with("/contents/0/parts/0", json!({"type": "text", "text": "x"})),
            "Unknown name \"type\" at 'contents[0].parts[0]'",
        ),
        (
            "empty text part",
            with("/contents/0/parts/0/text", json!("")),
            "required oneof field 'data'",
        ),
        (
            "two data fields",
            with(
                "/contents/0/parts/0/inlineData",
                json!({"mimeType": "image/png", "data": PNG}),
            ),
            "Oneof field 'data' is already set",
        ),
        (
            "OpenAI messages field",
            with("/messages", json!([])),
            "Unknown name \"messages\": Cannot find field.",
        ),
        (
            "empty systemInstruction",
            with("/systemInstruction/parts", json!([])),
            "system_instruction.parts",
        ),
        (
            "blank systemInstruction text",
            with("/systemInstruction/parts/0/text", json!("")),
            "system_instruction.parts[0]",
        ),
        (
            "additionalProperties",
            with(&p("/additionalProperties"), json!(false)),
            "Unknown name \"additionalProperties\"",
        ),
        (
            "$schema",
            with(
                &p("/$schema"),
                json!("http://json-schema.org/draft-07/schema#"),
            ),
            "Unknown name \"$schema\"",
        ),
        (
            "nested default",
            with(&p("/properties/city/default"), json!("Paris")),
            "Unknown name \"default\"",
        ),
        (
            "examples",
            with(&p("/properties/city/examples"), json!(["Paris"])),
            "Unknown name \"examples\"",
        ),
        (
            "type list",
            with(&p("/properties/city/type"), json!(["string", "null"])),
            "Proto field is not repeating",
        ),
        (
            "null type",
            with(&p("/properties/city/type"), json!("null")),
            "Invalid value at",
        ),
        (
            "integer enum",
            with(&p("/properties/city/enum"), json!([1, 2])),
            "(TYPE_STRING)",
        ),
        (
            "required names nothing",
            with(&p("/required"), json!(["country"])),
            "required[0]: property is not defined",
        ),
        (
            "object without properties",
            with(params, json!({"type": "object", "properties": {}})),
            "should be non-empty for OBJECT type",
        ),
        (
            "bad function name",
            with("/tools/0/functionDeclarations/0/name", json!("get weather")),
            "Invalid function name",
        ),
        (
            "OpenAI tool shape",
            with("/tools/0", json!({"type": "function", "function": {}})),
            "Unknown name \"type\" at 'tools[0]'",
        ),
        (
            "inlineData without mimeType",
            without("/contents/0/parts/1/inlineData/mimeType"),
            "mime_type: required field is not set",
        ),
        (
            "data URL as inline data",
            with(
                "/contents/0/parts/1/inlineData/data",
                json!(format!("data:image/png;base64,{PNG}")),
            ),
            "Base64 decoding failed",
        ),
        (
            "functionResponse in a model turn",
            with("/contents/2/role", json!("model")),
            "",
        ),
        (
            "functionCall in a user turn",
            with("/contents/1/role", json!("user")),
            "function calls are only allowed in model turns",
        ),
        (
            "response not after a call",
            without("/contents/1"),
            "function response turn comes immediately after a function call turn",
        ),
        (
            "more responses than calls",
            with(
                "/contents/2/parts/1",
                json!({"functionResponse": {"name": "get_weather", "response": {}}}),
            ),
            "number of function response parts is equal",
        ),
        (
            "response naming another function",
            with("/contents/2/parts/0/functionResponse/name", json!("other")),
            "answers no function call",
        ),
        (
            "response as a string",
            with(
                "/contents/2/parts/0/functionResponse/response",
                json!("18C"),
            ),
            "google.protobuf.Struct",
        ),
        (
            "args as a string",
            with("/contents/1/parts/0/functionCall/args", json!("{}")),
            "google.protobuf.Struct",
        ),
        (
            "unknown generationConfig name",
            with("/generationConfig/max_tokens", json!(5)),
            "Unknown name \"max_tokens\" at 'generation_config'",
        ),
        (
            "temperature above 2",
            with("/generationConfig/temperature", json!(2.5)),
            "temperature",
        ),
        (
            "bad calling mode",
            with("/toolConfig/functionCallingConfig/mode", json!("required")),
            "Mode",
        ),
        (
            "allowed names without ANY",
            with(
                "/toolConfig/functionCallingConfig/allowedFunctionNames",
                json!(["get_weather"]),
            ),
            "only allowed when mode is ANY",
        ),
    ];
    for (what, body, needle) in &cases {
        let resp = gemini(&m, body).await;
        assert_eq!(resp.status(), 400, "{what}");
        let message = gemini_error(resp, 400, "INVALID_ARGUMENT").await;
        assert!(
            message.contains(needle),
            "{what}: `{message}` lacks `{needle}`"
        );
        if needle.is_empty() {
            assert!(message.contains("function"), "{what}: {message}");
        }
    }
    // Auth: the key goes in the header, never in the URL.
    let msg = gemini_error(
        gemini_at(&m, ":generateContent?key=AIza-1", Some("AIza-1"), &good).await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    assert!(msg.contains("key in URL"), "{msg}");
    gemini_error(
        gemini_at(&m, ":generateContent?key=AIza-1", None, &good).await,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    gemini_error(
        gemini_at(&m, ":generateContent", None, &good).await,
        403,
        "PERMISSION_DENIED",
    )
    .await;
    let unknown_method = gemini_at(&m, ":countTokens", Some("AIza-1"), &good).await;
    assert_eq!(unknown_method.status(), 404);
    m.set_accepted_keys(Some(vec!["AIza-good".into()]));
    let resp = gemini(&m, &good).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("API key not valid"),
        "{v}"
    );
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");
    assert_eq!(
        gemini_at(&m, ":generateContent", Some("AIza-good"), &good)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn gemini_stream_is_sse_chunks_without_done() {
    let m = mock().await;
    m.push(Behavior::Reply(
        Reply::text("one two three")
            .pieces(3)
            .usage(40, 6)
            .cached(4),
    ));
    let resp = gemini_at(
        &m,
        ":streamGenerateContent?alt=sse",
        Some("k"),
        &gemini_body(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.expect("body");
    assert!(!text.contains("[DONE]"));
    let chunks: Vec<Value> = text
        .split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").expect("data event")).expect("JSON"))
        .collect();
    assert_eq!(chunks.len(), 3);
    let joined: String = chunks
        .iter()
        .map(|c| {
            c["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .expect("text")
        })
        .collect();
    assert_eq!(joined, "one two three");
    let (last, rest) = chunks.split_last().expect("chunks");
    for c in rest {
        assert!(c["candidates"][0].get("finishReason").is_none());
        assert_eq!(
            c["usageMetadata"],
            json!({"promptTokenCount": 40, "totalTokenCount": 40})
        );
        assert_eq!(c["candidates"][0]["content"]["role"], "model");
    }
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({"promptTokenCount": 40, "candidatesTokenCount": 6, "totalTokenCount": 46, "cachedContentTokenCount": 4})
    );
    assert_eq!(m.chat_requests()[0].query, "alt=sse");
    assert_eq!(m.chat_requests()[0].query_param("alt"), Some("sse"));

    // Function calls arrive whole, one per chunk; the last carries the finish reason.
    m.push(Behavior::Reply(
        Reply::tool_call("a", r#"{"x":1}"#).and_tool_call("b", "{}"),
    ));
    let text = gemini_at(
        &m,
        ":streamGenerateContent?alt=sse",
        Some("k"),
        &gemini_body(),
    )
    .await
    .text()
    .await
    .expect("body");
    let chunks: Vec<Value> = text
        .split("\r\n\r\n")
        .filter(|e| !e.is_empty())
        .map(|e| serde_json::from_str(&e[6..]).expect("JSON"))
        .collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        chunks[0]["candidates"][0]["content"]["parts"][0]["functionCall"],
        json!({"name": "a", "args": {"x": 1}})
    );
    assert_eq!(chunks[1]["candidates"][0]["finishReason"], "STOP");

    // Without alt=sse the real API streams one JSON array.
    let resp = gemini_at(&m, ":streamGenerateContent", Some("k"), &gemini_body()).await;
    assert_eq!(resp.headers()["content-type"], "application/json");
    let arr: Value = resp.json().await.expect("a JSON array");
    assert_eq!(arr.as_array().expect("array").len(), 3);

    // Faults play on this route too.
    m.push(Behavior::CutAfter { events: 1 });
    let resp = gemini_at(
        &m,
        ":streamGenerateContent?alt=sse",
        Some("k"),
        &gemini_body(),
    )
    .await;
    assert!(resp.text().await.is_err());
}

// === Azure ===

/// (query, headers, expected status, message part).
type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

async fn azure_at(
    m: &MockUpstream,
    query: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let url = format!(
        "{}/openai/deployments/my-deployment/chat/completions{query}",
        m.base_url()
    );
    let mut req = reqwest::Client::new().post(url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("sent")
}

#[tokio::test]
async fn azure_needs_api_key_and_version_and_answers_with_filters() {
    let m = mock().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let q = "?api-version=2024-10-21";
    // The plain OpenAI route is untouched by the Azure one.
    assert_eq!(common::chat(&m, body.clone()).await.status(), 200);
    let resp = azure_at(&m, q, &[("api-key", "az-1")], &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "my-deployment");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(v["prompt_filter_results"][0]["prompt_index"], 0);
    assert_eq!(
        v["choices"][0]["content_filter_results"]["hate"]["filtered"],
        false
    );
    let r = m.chat_requests().pop().expect("recorded");
    assert_eq!(r.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(r.header("api-key"), Some("az-1"));

    let refusals: [Refusal; 5] = [
        (q, &[("authorization", "Bearer az-1")], 401, "Access denied"),
        (q, &[], 401, "Access denied"),
        ("", &[("api-key", "az-1")], 404, "Resource not found"),
        (
            "?api-version=latest",
            &[("api-key", "az-1")],
            400,
            "API version not supported",
        ),
        ("?foo=1", &[("api-key", "az-1")], 404, "Resource not found"),
    ];
    for (query, headers, status, needle) in refusals {
        let resp = azure_at(&m, query, headers, &body).await;
        assert_eq!(resp.status().as_u16(), status, "{query} {headers:?}");
        let v: Value = resp.json().await.expect("json");
        assert!(
            v["error"]["message"]
                .as_str()
                .expect("message")
                .contains(needle),
            "{v}"
        );
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    m.set_accepted_keys(Some(vec!["az-good".into()]));
    assert_eq!(
        azure_at(&m, q, &[("api-key", "az-1")], &body)
            .await
            .status(),
        401
    );
    assert_eq!(
        azure_at(&m, q, &[("api-key", "az-good")], &body)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn azure_stream_opens_with_the_filter_chunk() {
    let m = mock().await;
    m.push(Behavior::Reply(Reply::text("abc").pieces(3)));
    let body = json!({"model": "x", "stream": true, "stream_options": {"include_usage": true}, "messages": []});
    let resp = azure_at(&m, "?api-version=2024-10-21", &[("api-key", "k")], &body).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = common::events(&resp.text().await.expect("body"));
    assert_eq!(events.last().expect("events"), "[DONE]");
    let first: Value = serde_json::from_str(&events[0]).expect("JSON");
    assert_eq!(first["choices"], json!([]));
    assert_eq!(
        (
            &first["id"],
            &first["object"],
            &first["model"],
            &first["created"]
        ),
        (&json!(""), &json!(""), &json!(""), &json!(0))
    );
    assert!(first["prompt_filter_results"].is_array());
    let chunks: Vec<Value> = events[1..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).expect("JSON"))
        .collect();
    assert!(chunks.iter().all(|c| c["model"] == "my-deployment"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "abc");
    assert_eq!(chunks.last().expect("usage")["usage"]["total_tokens"], 21);
}

#[tokio::test]
async fn faults_play_on_every_provider_route() {
    use std::time::{Duration, Instant};
    let m = mock().await;
    let stream_body = set(claude_body(), "/stream", json!(true));

    // Anthropic: stall after the first event, keeping the connection open.
    m.push(Behavior::StallAfter { events: 1 });
    let mut resp = claude(&m, &stream_body).await;
    let first = resp.chunk().await.expect("chunk").expect("some");
    assert!(String::from_utf8_lossy(&first).starts_with("event: message_start\n"));
    let stalled = tokio::time::timeout(Duration::from_millis(100), resp.chunk()).await;
    assert!(stalled.is_err(), "nothing after the first event");
    drop(resp);

    // Anthropic: non-JSON 200.
    m.push(Behavior::NonJson);
    let resp = claude(&m, &claude_body()).await;
    assert_eq!(resp.headers()["content-type"], "text/html");

    // Gemini: delayed answer.
    m.push(Behavior::delay(120, Behavior::Reply(Reply::text("late"))));
    let start = Instant::now();
    let v: Value = gemini(&m, &gemini_body()).await.json().await.expect("json");
    assert!(start.elapsed() >= Duration::from_millis(120));
    assert_eq!(v["candidates"][0]["content"]["parts"][0]["text"], "late");

    // Azure: hang until the client gives up.
    m.push(Behavior::Hang);
    let hung = reqwest::Client::new()
        .post(format!(
            "{}/openai/deployments/d/chat/completions?api-version=2024-10-21",
            m.base_url()
        ))
        .header("api-key", "k")
        .timeout(Duration::from_millis(100))
        .json(&json!({"messages": []}))
        .send()
        .await;
    assert!(hung.expect_err("never answers").is_timeout());

    // Paced Anthropic stream: events are spaced by the reply's delay.
    m.push(Behavior::Reply(Reply::text("abc").pieces(3).delay_ms(40)));
    let start = Instant::now();
    let text = claude(&m, &stream_body).await.text().await.expect("body");
    assert!(named_events(&text).len() >= 8);
    assert!(
        start.elapsed() >= Duration::from_millis(280),
        "{:?}",
        start.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    while m.open_streams() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(m.open_streams(), 0);
}
