//! `POST /v1/messages` (Anthropic format from clients) relayed to an OpenAI channel: converted both ways, billed and
//! logged like any request, errors in the Anthropic shape.

use crate::harness::*;
use crate::support::{find, replying};
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

async fn messages(gw: &Gw, key: &str, body: Value) -> reqwest::Response {
    gw.messages_as(key, &body).await
}

fn hello_messages(stream: bool) -> Value {
    json!({"model": "gpt-4o", "max_tokens": 64, "stream": stream, "system": "be brief",
        "messages": [{"role": "user", "content": "你好"}]})
}

/// The `event:` names of an SSE body, in order.
fn event_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect()
}

/// The text deltas of an Anthropic event stream, joined.
fn delta_text(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn plain_message_round_trip_is_billed() {
    let (gw, mock) = Gw::default().await;
    let resp = messages(&gw, KEY, hello_messages(false)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["type"], "message");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["model"], "gpt-4o");
    assert_eq!(
        m["content"][0],
        json!({"type": "text", "text": mock_upstream::DEFAULT_TEXT})
    );
    assert_eq!(m["stop_reason"], "end_turn");
    assert_eq!(m["usage"]["input_tokens"], 9);
    assert_eq!(m["usage"]["output_tokens"], 12);
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(up["max_tokens"], 64);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.status, row.cost), (200, DEFAULT_COST));
    gw.stop().await;
}

#[tokio::test]
async fn streamed_message_events_in_order() {
    let (gw, _mock) = replying(Reply::text("Hello there friend").pieces(3)).await;
    let resp = messages(&gw, KEY, hello_messages(true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    let names = event_names(&text);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(
        &names[names.len() - 2..],
        &["message_delta", "message_stop"]
    );
    let joined: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e["type"] == "content_block_delta")
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(joined, "Hello there friend");
    assert!(text.contains(r#""output_tokens":12"#), "{text}");
    assert!(!text.contains("[DONE]"));
    gw.stop().await;
}

#[tokio::test]
async fn tool_use_comes_back_as_tool_use_blocks() {
    let (gw, mock) = replying(Reply::tool_call("get_weather", r#"{"city":"Beijing"}"#)).await;
    let mut req = hello_messages(false);
    req["tools"] = json!([{"name": "get_weather", "description": "weather", "input_schema": {"type": "object",
        "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    req["tool_choice"] = json!({"type": "auto"});
    let m: Value = messages(&gw, KEY, req).await.json().await.unwrap();
    assert_eq!(m["stop_reason"], "tool_use");
    let block = find(&m["content"], "type", "tool_use");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({"city": "Beijing"}));
    let up = &mock.chat_requests()[0].body;
    assert_eq!(up["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(up["tool_choice"], "auto");
    gw.stop().await;
}

#[tokio::test]
async fn errors_use_the_anthropic_shape() {
    let (gw, _mock) = Gw::default().await;
    let r = messages(
        &gw,
        KEY,
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["type"], "error");
    assert_eq!(b["error"]["type"], "invalid_request_error");
    assert!(error_message(&b).contains("max_tokens"));
    let r = messages(&gw, "sk-wrong000000000000000000000", hello_messages(false)).await;
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["type"], "authentication_error");
    let mut unknown = hello_messages(false);
    unknown["model"] = json!("claude-9");
    let r = messages(&gw, KEY, unknown).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["type"],
        "not_found_error"
    );
    gw.logs(3).await;
    gw.stop().await;
}

const ANTHROPIC_TOML: &str = concat!(
    channel_toml!(
        "claude",
        "anthropic",
        0,
        "anthropic-upstream-key",
        ["claude-3-5-sonnet-20240620"]
    ),
    crate::harness::alice_toml!(),
    crate::harness::claude_price_toml!(),
);

fn claude_request(stream: bool) -> Value {
    json!({"model": "claude-3-5-sonnet-20240620", "max_tokens": 100, "stream": stream,
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
}

/// A gateway on `ANTHROPIC_TOML` whose upstream answers `reply`, and its 200 to `claude_request(stream)`.
async fn native(
    reply: Reply,
    stream: bool,
) -> (Gw, mock_upstream::MockUpstream, reqwest::Response) {
    let (gw, mock) = Gw::with_mock(ANTHROPIC_TOML).await;
    mock.push(Behavior::Reply(reply));
    let resp = messages(&gw, KEY, claude_request(stream)).await;
    assert_eq!(resp.status(), 200);
    (gw, mock, resp)
}

#[tokio::test]
async fn anthropic_channels_get_the_clients_body_natively() {
    let reply = Reply::text("native answer").usage(1000, 100).cached(400);
    let (gw, mock, resp) = native(reply, false).await;
    let rid = request_id(&resp);
    let m: Value = resp.json().await.unwrap();
    assert!(m["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(m["content"][0]["text"], "native answer");
    assert_eq!(m["usage"]["cache_read_input_tokens"], 400);
    let up = first_sent(&mock, "/v1/messages");
    assert_eq!(up.header("x-api-key"), Some("anthropic-upstream-key"));
    assert!(up.header("anthropic-version").is_some());
    // Untouched: the client's cache_control and block structure reach the upstream as sent.
    assert_eq!(up.body["system"], claude_request(false)["system"]);
    assert_eq!(up.body["messages"], claude_request(false)["messages"]);
    // 600 × 3 + 400 × 0.3 + 100 × 15 = 1800 + 120 + 1500 = 3420.
    let row = gw.log_for(&rid).await;
    assert_eq!(tokens_and_cost(&row), (1000, 400, 100, 3420));
    gw.stop().await;
}

#[tokio::test]
async fn native_streams_pass_events_through_and_bill_from_them() {
    let reply = Reply::text("streamed natively").usage(50, 20).pieces(3);
    let (gw, _mock, resp) = native(reply, true).await;
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    let names = event_names(&text);
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert!(
        names.contains(&"ping"),
        "native events pass through untouched: {names:?}"
    );
    assert_eq!(delta_text(&text), "streamed natively");
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.completion_tokens), (50, 20));
    assert_eq!(row.cost, 50 * 3 + 20 * 15);
    assert!(row.stream);
    gw.stop().await;
}

#[tokio::test]
async fn a_native_error_event_mid_stream_is_scrubbed_for_client_and_log() {
    let (gw, mock) = Gw::with_mock(ANTHROPIC_TOML).await;
    let echo = json!({"type": "error", "error": {"type": "authentication_error",
        "message": "invalid x-api-key sk-ant-SECRETSECRET123 (Bearer tok-SECRET-456)"}});
    mock.push(Behavior::ErrorEventAfter {
        events: 2,
        body: echo.to_string(),
    });
    let resp = messages(&gw, KEY, claude_request(true)).await;
    assert_eq!(resp.status(), 200, "the stream had started");
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    assert!(text.contains("invalid x-api-key"), "{text}");
    let row = gw.log_for(&rid).await;
    let error = row.error.clone().unwrap_or_default();
    assert!(error.contains("upstream sent an error event"), "{error}");
    for secret in ["SECRETSECRET123", "tok-SECRET-456"] {
        assert!(
            !text.contains(secret),
            "{secret} reached the client: {text}"
        );
        assert!(!error.contains(secret), "{secret} reached the log: {error}");
    }
    assert_eq!(row.status, 502);
    gw.stop().await;
}

/// A Claude client on a bedrock channel: `/v1/messages` goes through the chat conversion to a signed Bedrock
/// invoke (checked by the mock with the key's secret), comes back as Anthropic events, billed from Bedrock's usage.
#[tokio::test]
async fn bedrock_channels_serve_claude_clients() {
    const BEDROCK_KEY: &str = "AKIDMSG|messages-secret|us-west-2";
    let toml = format!(
        "{}{}{}\n[[channels]]\nname = \"aws\"\nkind = \"bedrock\"\nbase_url = \"{{MOCK0}}\"\nkeys = [\"{BEDROCK_KEY}\"]\n\
         models = [\"claude-3-5-sonnet-20240620\"]\n\
         model_mapping = {{ \"claude-3-5-sonnet-20240620\" = \"anthropic.claude-3-5-sonnet-20240620-v1:0\" }}\n",
        crate::harness::alice_toml!(),
        crate::harness::claude_price_toml!(),
        "",
    );
    let (gw, mock) = Gw::with_mock(&toml).await;
    mock.set_accepted_keys(Some(vec![BEDROCK_KEY.to_owned()]));
    mock.push(Behavior::Reply(
        Reply::text("from bedrock").usage(1000, 100).pieces(2),
    ));
    let resp = messages(&gw, KEY, claude_request(true)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    assert_eq!(event_names(&text).last(), Some(&"message_stop"), "{text}");
    assert_eq!(delta_text(&text), "from bedrock");
    let up = &mock.chat_requests()[0];
    assert!(
        up.path.ends_with("/invoke-with-response-stream"),
        "{}",
        up.path
    );
    assert_eq!(up.body["anthropic_version"], "bedrock-2023-05-31");
    // 1000 × 3 + 100 × 15 = 4500.
    let row = gw.log_for(&rid).await;
    assert_eq!(tokens_and_cost(&row), (1000, 0, 100, 4500));
    gw.stop().await;
}
