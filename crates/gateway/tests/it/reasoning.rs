//! Reasoning on the way in (issue 18): `reasoning_effort` (or `reasoning.effort`) on chat becomes Anthropic
//! `thinking` and Gemini `thinkingConfig`, held as output and written as a limit the upstream cannot exceed; left
//! off when the account cannot pay for it; passed as it is to OpenAI-compatible upstreams.

use crate::harness::*;
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

const CLAUDE: &str = "claude-3-7-sonnet-20250219";
const GEMINI: &str = "gemini-2.5-flash";

const TOML: &str = concat!(
    channel_toml!(
        "claude",
        "anthropic",
        0,
        "anthropic-key",
        [
            "claude-3-7-sonnet-20250219",
            "claude-3-7-sonnet-20250219-thinking",
            "claude-3-7-sonnet-20250219-thinking-3000",
            "claude-deep"
        ],
        "model_mapping = { \"claude-deep\" = \"claude-3-7-sonnet-20250219-thinking-8000\" }"
    ),
    channel_toml!("gemini", "gemini", 0, "gemini-key", ["gemini-2.5-flash"]),
    channel_toml!("openai", "openai", 0, "openai-key", ["o3-mini"]),
    alice_toml!(),
    price_toml!("claude-3-7-sonnet-20250219", 3000000, 15000000),
    price_toml!("claude-3-7-sonnet-20250219-thinking", 6000000, 30000000),
    price_toml!(
        "claude-3-7-sonnet-20250219-thinking-3000",
        6000000,
        30000000
    ),
    price_toml!("claude-deep", 6000000, 30000000),
    price_toml!("gemini-2.5-flash", 300000, 2500000),
    price_toml!("o3-mini", 1100000, 4400000),
);

fn chat(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "max_tokens": 500, "temperature": 0.3, "top_k": 5,
        "messages": [{"role": "user", "content": "why is the sky blue?"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn an_effort_becomes_anthropic_thinking_and_comes_back_as_reasoning_content() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(
        Reply::text("Rayleigh scattering.")
            .reasoning("Short wavelengths scatter more.")
            .usage(20, 300),
    ));
    let resp = gw
        .chat(chat(CLAUDE, json!({"reasoning_effort": "medium"})))
        .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Rayleigh scattering.");
    assert_eq!(
        message["reasoning_content"],
        "Short wavelengths scatter more."
    );
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(
        sent["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    // The answer keeps its 500 tokens on top of the budget; Anthropic takes no sampling fields while thinking.
    assert_eq!(sent["max_tokens"], 2548);
    assert!(
        sent.get("temperature").is_none() && sent.get("top_k").is_none(),
        "{sent}"
    );
    // Thinking is output: 20 × 3 + 300 × 15.
    assert_eq!(gw.log_for(&rid).await.cost, 60 + 4500);

    // The Responses API's form on chat, streamed: the same, reasoning as deltas.
    mock.push(Behavior::Reply(
        Reply::text("Blue.").reasoning("Think.").usage(20, 30),
    ));
    let resp = gw
        .chat(chat(
            CLAUDE,
            json!({"reasoning": {"effort": "low"}, "stream": true}),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("\"reasoning_content\""), "{text}");
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(sent["thinking"]["budget_tokens"], 1024);
    assert_eq!(sent["max_tokens"], 1524);
    assert!(sent.get("reasoning").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn thinking_is_left_off_when_the_account_cannot_pay_for_it() {
    // 20,000 units pay for about 1,300 output tokens at 15 per million: less than the 2,048-token budget.
    let toml = TOML.replace("balance = 10000000", "balance = 20000");
    let (gw, mock) = Gw::with_mock(&toml).await;
    mock.push(Behavior::Reply(Reply::text("Blue.").usage(20, 10)));
    let resp = gw
        .chat(chat(CLAUDE, json!({"reasoning_effort": "medium"})))
        .await;
    assert_eq!(resp.status(), 200);
    let sent = last_sent(&mock, "/v1/messages").body;
    assert!(sent.get("thinking").is_none(), "{sent}");
    let max_tokens = sent["max_tokens"].as_u64().unwrap();
    assert!((1..=1400).contains(&max_tokens), "{max_tokens}");
    // Whatever the answer, the bill fits the balance.
    let u = gw.user("alice").await;
    assert!(u.spent <= 20_000 && u.balance >= 0, "{u:?}");
    gw.stop().await;
}

#[tokio::test]
async fn gemini_gets_a_thinking_budget_and_openai_the_effort_as_sent() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(
        Reply::text("Blue.").reasoning("Scattering, surely."),
    ));
    let resp = gw
        .chat(chat(GEMINI, json!({"reasoning_effort": "high"})))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(
        (&message["content"], &message["reasoning_content"]),
        (&json!("Blue."), &json!("Scattering, surely."))
    );
    let sent = last_sent(&mock, ":generateContent").body;
    let config = &sent["generationConfig"];
    assert_eq!(
        config["thinkingConfig"],
        json!({"thinkingBudget": 4096, "includeThoughts": true})
    );
    assert_eq!(config["maxOutputTokens"], 4596);
    // Streamed: the thoughts as reasoning deltas before the answer.
    mock.push(Behavior::Reply(
        Reply::text("Blue.").reasoning("Scattering, surely."),
    ));
    let resp = gw
        .chat(chat(
            GEMINI,
            json!({"reasoning_effort": "low", "stream": true}),
        ))
        .await;
    let deltas: Vec<Value> = sse_data(&resp.text().await.unwrap())
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .map(|v| v["choices"][0]["delta"].clone())
        .collect();
    let joined =
        |field: &str| -> String { deltas.iter().filter_map(|d| d[field].as_str()).collect() };
    assert_eq!(
        (joined("reasoning_content"), joined("content")),
        ("Scattering, surely.".to_owned(), "Blue.".to_owned())
    );
    let reasoning_at = deltas
        .iter()
        .position(|d| d["reasoning_content"].is_string());
    let text_at = deltas
        .iter()
        .position(|d| d["content"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(reasoning_at.unwrap() < text_at.unwrap(), "{deltas:?}");

    let resp = gw
        .chat(
            json!({"model": "o3-mini", "reasoning_effort": "high", "max_completion_tokens": 500,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let sent = last_sent(&mock, "/v1/chat/completions").body;
    // OpenAI's limit already counts reasoning: it gets what the client asked, no more.
    assert_eq!(
        (&sent["reasoning_effort"], &sent["max_completion_tokens"]),
        (&json!("high"), &json!(500))
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_effort_that_is_not_one_is_refused_before_sending() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    for (extra, param) in [
        (json!({"reasoning_effort": "extreme"}), "reasoning_effort"),
        (json!({"reasoning_effort": 3}), "reasoning_effort"),
        (
            json!({"reasoning": {"effort": ["high"]}}),
            "reasoning.effort",
        ),
    ] {
        expect_param(gw.chat(chat(CLAUDE, extra)).await, param).await;
    }
    assert!(mock.requests().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn new_api_thinking_model_names_are_models_of_their_own() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let thinking = |model: &str| json!({"model": model, "max_tokens": 500, "messages": [{"role": "user", "content": "hi"}]});
    // `-thinking`: the base model upstream, 2,048 tokens of thinking, the suffixed model's own price.
    mock.push(Behavior::Reply(Reply::text("ok").usage(10, 100)));
    let resp = gw
        .chat(thinking("claude-3-7-sonnet-20250219-thinking"))
        .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(sent["model"], CLAUDE);
    assert_eq!(
        (&sent["thinking"]["budget_tokens"], &sent["max_tokens"]),
        (&json!(2048), &json!(2548))
    );
    assert_eq!(gw.log_for(&rid).await.cost, 10 * 6 + 100 * 30);
    // `-thinking-<budget>`, and a name mapped to one: the hold covers the channel's budget too.
    for (model, budget) in [
        ("claude-3-7-sonnet-20250219-thinking-3000", 3000),
        ("claude-deep", 8000),
    ] {
        let resp = gw.chat(thinking(model)).await;
        assert_eq!(resp.status(), 200);
        let sent = last_sent(&mock, "/v1/messages").body;
        assert_eq!(sent["model"], CLAUDE, "{model}");
        assert_eq!(sent["thinking"]["budget_tokens"], budget, "{model}");
        assert_eq!(sent["max_tokens"], budget + 500, "{model}");
    }
    gw.stop().await;

    // An account that cannot pay for the budget gets the base model without thinking.
    let poor = TOML.replace("balance = 10000000", "balance = 20000");
    let (gw, mock) = Gw::with_mock(&poor).await;
    let resp = gw
        .chat(thinking("claude-3-7-sonnet-20250219-thinking"))
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(sent["model"], CLAUDE);
    assert!(sent.get("thinking").is_none(), "{sent}");
    assert!(sent["max_tokens"].as_u64().unwrap() <= 700, "{sent}");
    gw.stop().await;
}

/// The chunks of a streamed answer that thinks, then calls `get_weather` (the mock scripted so).
async fn streamed_thinking_tool_call(
    gw: &Gw,
    mock: &mock_upstream::MockUpstream,
    tools: &Value,
    ask: &Value,
) -> Vec<Value> {
    mock.push(Behavior::Reply(
        Reply::tool_call("get_weather", r#"{"city":"Paris"}"#).reasoning("I need the tool."),
    ));
    let streamed = gw
        .chat(
            json!({"model": CLAUDE, "reasoning_effort": "low", "max_tokens": 300, "stream": true,
            "tools": tools, "messages": [ask]}),
        )
        .await;
    sse_data(&streamed.text().await.unwrap())
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .collect()
}

#[tokio::test]
async fn thinking_blocks_survive_a_tool_use_round_trip_and_their_absence_turns_thinking_off() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let ask = json!({"role": "user", "content": "weather in Paris?"});
    mock.push(Behavior::Reply(
        Reply::tool_call("get_weather", r#"{"city":"Paris"}"#).reasoning("I need the tool."),
    ));
    let first = gw
        .chat(
            json!({"model": CLAUDE, "reasoning_effort": "low", "max_tokens": 300,
            "tools": tools, "messages": [ask]}),
        )
        .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let assistant = first["choices"][0]["message"].clone();
    let blocks = assistant["thinking_blocks"].as_array().unwrap().clone();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (&blocks[0]["type"], &blocks[0]["thinking"]),
        (&json!("thinking"), &json!("I need the tool."))
    );
    assert!(
        blocks[0]["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    let call_id = assistant["tool_calls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = json!({"role": "tool", "tool_call_id": call_id, "content": "18°C"});

    // The follow-up turn: the question, `assistant` as the client kept it, the tool's result; the mock's request.
    let follow_up = async |assistant: &Value| {
        mock.push(Behavior::Reply(Reply::text("18°C in Paris.")));
        let resp = gw
            .chat(json!({"model": CLAUDE, "reasoning_effort": "low", "max_tokens": 300, "tools": tools,
                "messages": [ask, assistant, result]}))
            .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        last_sent(&mock, "/v1/messages").body
    };
    // The client sends the blocks back: they open the assistant turn, thinking stays on.
    let sent = follow_up(&assistant).await;
    assert_eq!(sent["thinking"]["type"], "enabled");
    assert_eq!(sent["messages"][1]["content"][0], blocks[0]);
    // A client that dropped the unknown field: the gateway kept the blocks by the tool call's id and puts them back.
    let mut stripped = assistant.clone();
    stripped.as_object_mut().unwrap().remove("thinking_blocks");
    let sent = follow_up(&stripped).await;
    assert_eq!(sent["thinking"]["type"], "enabled");
    assert_eq!(sent["messages"][1]["content"][0], blocks[0]);
    // A call the gateway kept nothing for: that turn goes without thinking instead of failing.
    let unknown = serde_json::to_string(&stripped)
        .unwrap()
        .replace(&call_id, "toolu_never_seen");
    let unknown: Value = serde_json::from_str(&unknown).unwrap();
    mock.push(Behavior::Reply(Reply::text("18°C in Paris.")));
    let other_result =
        json!({"role": "tool", "tool_call_id": "toolu_never_seen", "content": "18°C"});
    let resp = gw
        .chat(
            json!({"model": CLAUDE, "reasoning_effort": "low", "max_tokens": 300, "tools": tools,
            "messages": [ask, unknown, other_result]}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = last_sent(&mock, "/v1/messages").body;
    assert!(sent.get("thinking").is_none(), "{sent}");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");

    // Streamed, the block comes whole with its signature once it closes.
    let blocks: Vec<Value> = streamed_thinking_tool_call(&gw, &mock, &tools, &ask)
        .await
        .iter()
        .filter_map(|v| {
            v["choices"][0]["delta"]["thinking_blocks"]
                .as_array()
                .cloned()
        })
        .flatten()
        .collect();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!(blocks[0]["thinking"], "I need the tool.");
    assert!(
        blocks[0]["signature"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    gw.stop().await;
}

#[tokio::test]
async fn thinking_blocks_of_a_stream_are_kept_for_the_user_who_got_them() {
    let toml = format!(
        "{TOML}{}",
        concat!(
            "\n[[users]]\nname = \"mallory\"\nbalance = 10000000\n",
            "\n[[keys]]\nname = \"mallory-key\"\nuser = \"mallory\"\n",
            "key = \"sk-mallory000000000000000000000000000000000000000001\"\n"
        )
    );
    let (gw, mock) = Gw::with_mock(&toml).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let ask = json!({"role": "user", "content": "weather in Paris?"});
    let chunks = streamed_thinking_tool_call(&gw, &mock, &tools, &ask).await;
    let call = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["id"].as_str())
        .unwrap()
        .to_owned();
    // The client kept only the OpenAI fields of the turn.
    let assistant = json!({"role": "assistant", "content": null, "tool_calls": [{"id": call, "type": "function",
        "function": {"name": "get_weather", "arguments": r#"{"city":"Paris"}"#}}]});
    let result = json!({"role": "tool", "tool_call_id": call, "content": "18°C"});
    let body = json!({"model": CLAUDE, "reasoning_effort": "low", "max_tokens": 300, "tools": tools,
        "messages": [ask, assistant, result]});
    // Another user naming the same call finds nothing of it: no thinking, no blocks.
    mock.push(Behavior::Reply(Reply::text("18°C in Paris.")));
    let theirs = gw
        .chat_as(
            "sk-mallory000000000000000000000000000000000000000001",
            body.clone(),
        )
        .await;
    assert_eq!(theirs.status(), 200);
    let sent = last_sent(&mock, "/v1/messages").body;
    assert!(sent.get("thinking").is_none(), "{sent}");
    // Its owner gets the turn back with its thinking, kept from the stream.
    mock.push(Behavior::Reply(Reply::text("18°C in Paris.")));
    let mine = gw.chat(body).await;
    assert_eq!(mine.status(), 200, "{}", mine.text().await.unwrap());
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(sent["thinking"]["type"], "enabled");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "thinking");
    assert_eq!(
        sent["messages"][1]["content"][0]["thinking"],
        "I need the tool."
    );
    gw.stop().await;
}

#[tokio::test]
async fn anthropic_thinking_on_messages_reaches_other_channels_as_an_effort() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    // 3,000 tokens of thinking in 3,500: the largest effort within it (medium, 2,048), the rest for the answer.
    let body = json!({"model": GEMINI, "max_tokens": 3500,
        "thinking": {"type": "enabled", "budget_tokens": 3000},
        "messages": [{"role": "user", "content": "why is the sky blue?"}]});
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let config = last_sent(&mock, ":generateContent").body["generationConfig"].clone();
    assert_eq!(config["thinkingConfig"]["thinkingBudget"], 2048);
    assert_eq!(config["maxOutputTokens"], 3500);
    // Anthropic's own rules, in Anthropic's error shape.
    for bad in [
        json!({"type": "enabled", "budget_tokens": 500}),
        json!({"type": "enabled", "budget_tokens": 3500}),
        json!({"type": "enabled"}),
    ] {
        let mut body = body.clone();
        body["thinking"] = bad;
        let resp = gw.messages_as(KEY, &body).await;
        assert_eq!(resp.status(), 400);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error", "{err}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn native_thinking_is_held_whole_and_dropped_when_the_account_cannot_pay_for_it() {
    let body = json!({"model": CLAUDE, "max_tokens": 3500,
        "thinking": {"type": "enabled", "budget_tokens": 3000},
        "messages": [{"role": "user", "content": "why is the sky blue?"}]});
    let (gw, mock) = Gw::with_mock(TOML).await;
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = last_sent(&mock, "/v1/messages").body;
    assert_eq!(
        (&sent["max_tokens"], &sent["thinking"]),
        (&json!(3500), &body["thinking"])
    );
    gw.stop().await;

    // 20,000 units pay for about 1,300 output tokens: not the 3,000-token budget.
    let poor = TOML.replace("balance = 10000000", "balance = 20000");
    let (gw, mock) = Gw::with_mock(&poor).await;
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = last_sent(&mock, "/v1/messages").body;
    assert!(sent.get("thinking").is_none(), "{sent}");
    assert!(sent["max_tokens"].as_u64().unwrap() < 1400, "{sent}");
    gw.stop().await;
}
