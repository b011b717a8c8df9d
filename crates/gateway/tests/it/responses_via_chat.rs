//! `POST /v1/responses` for models served only by Anthropic and Gemini channels: converted to chat, relayed through
//! the chat pipeline, and answered as a `response` object or Responses stream events, billed from the upstream's
//! usage; what needs OpenAI's stored state is a 400 that charges nothing.

use crate::harness::{
    Gw, KEY, assert_content_type, channel_toml, expect_error, price_toml, request_id, sse_events,
};
use crate::support::find;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};

const TOML: &str = concat!(
    channel_toml!(
        "claude",
        "anthropic",
        0,
        "up-key-1",
        ["claude-3-5-sonnet-20240620"]
    ),
    channel_toml!("gemini", "gemini", 1, "up-key-2", ["gemini-1.5-pro"]),
    crate::harness::alice_toml!(),
    price_toml!("claude-3-5-sonnet-20240620", 3000000, 15000000),
    price_toml!("gemini-1.5-pro", 1250000, 5000000),
);

/// `TOML` in front of its Claude mock and its Gemini mock.
async fn start() -> (Gw, MockUpstream, MockUpstream) {
    let claude = MockUpstream::start().await.unwrap();
    let gemini = MockUpstream::start().await.unwrap();
    let gw = Gw::start(TOML, &[&claude, &gemini], |_| {}).await;
    (gw, claude, gemini)
}

async fn post(gw: &Gw, body: Value) -> reqwest::Response {
    gw.post_as(KEY, "/v1/responses", &body).await
}

/// The stream's events' data, each checked to carry its event's name as `type`.
fn events(text: &str) -> Vec<Value> {
    sse_events(text)
        .into_iter()
        .map(|(name, data)| {
            assert_eq!(data["type"], name.as_str(), "{data}");
            data
        })
        .collect()
}

#[tokio::test]
async fn a_response_on_an_anthropic_channel_is_served_through_chat_and_billed() {
    let (gw, claude, _gemini) = start().await;
    let start = gw.user("alice").await.balance;
    let resp = post(
        &gw,
        json!({"model": "claude-3-5-sonnet-20240620", "instructions": "be brief",
            "input": "tell me something", "max_output_tokens": 200, "temperature": 0.5}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "response");
    assert!(answer["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["model"], "claude-3-5-sonnet-20240620");
    assert_eq!(answer["output"][0]["type"], "message");
    assert_eq!(
        answer["output"][0]["content"][0]["text"],
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(
        (
            answer["usage"]["input_tokens"].clone(),
            answer["usage"]["output_tokens"].clone()
        ),
        (json!(9), json!(12))
    );
    assert_eq!(answer["max_output_tokens"], 200);
    // What Anthropic received: the instructions as `system`, the input as a user turn, the limit as max_tokens.
    let sent = claude.chat_requests().pop().unwrap();
    assert!(sent.path.ends_with("/v1/messages"), "{}", sent.path);
    assert_eq!(sent.body["system"], "be brief");
    assert_eq!(sent.body["messages"][0]["role"], "user");
    assert_eq!(sent.body["max_tokens"], 200);
    // 9 × $3/M + 12 × $15/M = 27 + 180 = 207 micro-units.
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (9, 12, 207)
    );
    assert_eq!(gw.user("alice").await.balance, start - 207);
    gw.stop().await;
}

#[tokio::test]
async fn function_calls_round_trip_through_an_anthropic_channel() {
    let (gw, claude, _gemini) = start().await;
    let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    claude.push(Behavior::Reply(Reply::tool_call(
        "get_weather",
        r#"{"city":"Paris"}"#,
    )));
    let answer: Value = post(
        &gw,
        json!({"model": "claude-3-5-sonnet-20240620", "input": "weather in Paris?", "tools": tools}),
    )
    .await
    .json()
    .await
    .unwrap();
    let call = find(&answer["output"], "type", "function_call").clone();
    assert_eq!(call["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let sent = claude.chat_requests().pop().unwrap();
    assert_eq!(sent.body["tools"][0]["name"], "get_weather");
    assert_eq!(sent.body["tools"][0]["input_schema"]["required"][0], "city");

    // The next turn carries the call and its output back, as the SDKs do.
    let resp = post(
        &gw,
        json!({"model": "claude-3-5-sonnet-20240620", "tools": tools, "input": [
            {"role": "user", "content": "weather in Paris?"},
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny, 21°C"},
        ]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let sent = claude.chat_requests().pop().unwrap();
    let messages = sent.body["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"][0]["type"], "tool_use");
    assert_eq!(messages[1]["content"][0]["id"], call["call_id"]);
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], call["call_id"]);
    gw.stop().await;
}

#[tokio::test]
async fn a_stream_on_a_gemini_channel_becomes_responses_events() {
    let (gw, _claude, gemini) = start().await;
    let resp = post(
        &gw,
        json!({"model": "gemini-1.5-pro", "input": [{"role": "user",
            "content": [{"type": "input_text", "text": "tell me something"}]}], "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/event-stream");
    let rid = request_id(&resp);
    let events = events(&resp.text().await.unwrap());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], i);
    }
    assert_eq!(events[0]["type"], "response.created");
    assert_eq!(events[0]["response"]["status"], "in_progress");
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, mock_upstream::DEFAULT_TEXT);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    assert_eq!(
        last["response"]["output"][0]["content"][0]["text"],
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(last["response"]["usage"]["output_tokens"], 12);
    assert!(
        gemini.chat_requests()[0]
            .path
            .contains(":streamGenerateContent")
    );
    // 9 × $1.25/M + 12 × $5/M = 11.25 + 60 → 72 micro-units (rounded up).
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (
            row.prompt_tokens,
            row.completion_tokens,
            row.cost,
            row.stream
        ),
        (9, 12, 72, true)
    );
    gw.stop().await;
}

#[tokio::test]
async fn what_needs_openai_state_is_refused_and_charges_nothing() {
    let (gw, claude, _gemini) = start().await;
    let start = gw.user("alice").await.balance;
    for (body, param) in [
        (
            json!({"model": "claude-3-5-sonnet-20240620", "input": "x", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "claude-3-5-sonnet-20240620", "input": "x", "tools": [{"type": "web_search"}]}),
            "tools[0].type",
        ),
        (
            json!({"model": "gemini-1.5-pro", "input": [{"role": "user",
                "content": [{"type": "input_file", "file_id": "file-1"}]}]}),
            "input[0].content[0]",
        ),
        (json!({"model": "gemini-1.5-pro"}), "input"),
    ] {
        let err = expect_error(post(&gw, body).await, 400, None).await;
        assert_eq!(err["error"]["param"], param, "{err}");
    }
    // An upstream failure is relayed as an error and charges nothing either.
    claude.set_default(Behavior::status(
        500,
        r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#,
    ));
    let resp = post(
        &gw,
        json!({"model": "claude-3-5-sonnet-20240620", "input": "x"}),
    )
    .await;
    assert!(resp.status().is_server_error(), "{}", resp.status());
    assert!(!claude.chat_requests().is_empty());
    assert_eq!(gw.user("alice").await.balance, start);
    gw.stop().await;
}
