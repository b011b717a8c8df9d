//! The Gemini API inbound (`…/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`, `:countTokens`,
//! the model list): relayed natively to a gemini channel (the client's body untouched, usage from
//! `usageMetadata`) and converted to an OpenAI channel, billed like chat, refused in Google's error shape.

use crate::harness::*;
use crate::support::{BOB, get_with_header};
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

/// Bob's key: his balance pays for a few dozen gemini output tokens only.
/// Carol's key may use gpt-4o only.
const CAROL: &str = "sk-carol0000000000000000000000000000000000000000000001";

const TOML: &str = concat!(
    channel_toml!("gem", "gemini", 0, "AIza-up", ["gemini-1.5-pro"]),
    channel_toml!("oai", "openai", 0, "up-key-1", ["gpt-4o"]),
    alice_toml!(),
    user_toml!("bob", 300),
    key_toml!(
        "bob-key",
        "bob",
        "sk-bob00000000000000000000000000000000000000000000001"
    ),
    user_toml!("carol", 10000000),
    key_toml!(
        "carol-key",
        "carol",
        "sk-carol0000000000000000000000000000000000000000000001",
        "models = [\"gpt-4o\"]"
    ),
    price_toml!("gemini-1.5-pro", 1250000, 5000000),
    price_toml!("gpt-4o", 2500000, 10000000),
);

/// The mock's default answer (9 prompt + 12 output tokens) on gemini-1.5-pro: ceil(11.25 + 60).
const GEMINI_COST: i64 = 72;

fn hello() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})
}

/// The log row of `rid`: a 200 billed for the mock's default usage (9 prompt and 12 completion tokens).
async fn billed_the_default_answer(gw: &Gw, rid: &str) -> store::LogRow {
    let row = gw.log_for(rid).await;
    assert_eq!(
        (row.status, tokens_and_cost(&row)),
        (200, (9, 0, 12, GEMINI_COST))
    );
    row
}

/// `POST /v1beta/models/{model}:{method}` with `key` in `x-goog-api-key`, as the google-genai SDK sends it.
async fn call(gw: &Gw, key: &str, target: &str, body: &Value) -> reqwest::Response {
    gw.http
        .post(gw.url(&format!("/v1beta/models/{target}")))
        .header("x-goog-api-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Asserts Google's error shape with `code` and `status`, and returns the body.
async fn google_error(resp: reqwest::Response, code: u16, status: &str) -> Value {
    assert_eq!(resp.status().as_u16(), code);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["status"], status, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    body
}

/// The `data:` payloads of a Gemini SSE answer, which names no events.
fn gemini_events(text: &str) -> Vec<Value> {
    assert!(
        !text.contains("event:"),
        "Gemini events are unnamed: {text}"
    );
    assert!(!text.contains("[DONE]"), "{text}");
    sse_data(text)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn text_of(events: &[Value]) -> String {
    events
        .iter()
        .flat_map(|e| e["candidates"].as_array().cloned().unwrap_or_default())
        .flat_map(|c| {
            c["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn native_generate_relays_the_clients_body_and_bills_its_usage() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"maxOutputTokens": 100, "topK": 5},
    });
    let resp = call(&gw, KEY, "gemini-1.5-pro:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(
        text_of(std::slice::from_ref(&answer)),
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(answer["usageMetadata"]["promptTokenCount"], 9);
    let sent = first_sent(&mock, ":generateContent");
    assert_eq!(sent.path, "/v1beta/models/gemini-1.5-pro:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), Some("AIza-up"));
    assert_eq!(sent.body["safetySettings"], body["safetySettings"]);
    assert_eq!(sent.body["generationConfig"]["topK"], 5);
    assert_eq!(sent.body["generationConfig"]["maxOutputTokens"], 100);
    let row = billed_the_default_answer(&gw, &rid).await;
    assert_eq!(row.model.as_deref(), Some("gemini-1.5-pro"));
    gw.stop().await;
}

#[tokio::test]
async fn native_stream_is_relayed_as_unnamed_events_and_billed() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(Reply::text("one two three four").pieces(3)));
    let resp = call(
        &gw,
        KEY,
        "gemini-1.5-pro:streamGenerateContent?alt=sse",
        &hello(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/event-stream");
    let rid = request_id(&resp);
    let events = gemini_events(&resp.text().await.unwrap());
    assert!(events.len() >= 3, "{events:?}");
    assert_eq!(text_of(&events), "one two three four");
    let sent = first_sent(&mock, ":streamGenerateContent");
    assert_eq!(sent.query_param("alt"), Some("sse"));
    assert!(billed_the_default_answer(&gw, &rid).await.stream);
    gw.stop().await;
}

#[tokio::test]
async fn converted_generate_reaches_an_openai_channel_as_chat() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"parts": [{"text": "how are you?"}]},
        ],
        "generation_config": {"temperature": 0.2, "max_output_tokens": 50, "stopSequences": ["END"]},
    });
    let resp = call(&gw, KEY, "gpt-4o:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    let candidate = &answer["candidates"][0];
    assert_eq!(candidate["content"]["role"], "model");
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(
        text_of(std::slice::from_ref(&answer)),
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(
        answer["usageMetadata"],
        json!({"promptTokenCount": 9, "candidatesTokenCount": 12, "totalTokenCount": 21})
    );
    assert_eq!(answer["modelVersion"], "gpt-4o");
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["messages"],
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "how are you?"},
        ])
    );
    assert_eq!(
        (up["max_tokens"].clone(), up["temperature"].clone()),
        (json!(50), json!(0.2))
    );
    assert_eq!(up["stop"], json!(["END"]));
    let row = gw.log_for(&rid).await;
    assert_eq!((row.status, row.cost), (200, DEFAULT_COST));
    gw.stop().await;
}

#[tokio::test]
async fn converted_stream_ends_with_the_finish_reason_and_usage() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(Reply::text("Hello there friend").pieces(3)));
    let resp = call(&gw, KEY, "gpt-4o:streamGenerateContent?alt=sse", &hello()).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let events = gemini_events(&resp.text().await.unwrap());
    assert_eq!(text_of(&events), "Hello there friend");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 21);
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e.get("usageMetadata").is_none())
    );
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.status, row.cost, row.stream),
        (200, DEFAULT_COST, true)
    );
    gw.stop().await;
}

/// A declaration in Gemini's own schema dialect (upper-case types).
fn weather_tool() -> Value {
    json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
            "required": ["city"], "propertyOrdering": ["city"]}}]}])
}

#[tokio::test]
async fn function_calls_round_trip_through_an_openai_channel() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(Reply::tool_call(
        "get_weather",
        r#"{"city":"Paris"}"#,
    )));
    let mut body = hello();
    body["tools"] = weather_tool();
    body["toolConfig"] =
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}});
    let resp = call(&gw, KEY, "gpt-4o:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let call_part = &answer["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(
        (call_part["name"].clone(), call_part["args"].clone()),
        (json!("get_weather"), json!({"city": "Paris"}))
    );
    let id = call_part["id"].as_str().unwrap().to_owned();
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["tools"],
        json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
    );
    assert_eq!(
        up["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );

    // The client answers the call without its id (as older clients do): it is matched by name.
    body["contents"] = json!([
        {"role": "user", "parts": [{"text": "hello"}]},
        {"role": "model", "parts": [{"functionCall": {"id": id, "name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"sky": "clear"}}}]},
    ]);
    body.as_object_mut().unwrap().remove("toolConfig");
    let resp = call(&gw, KEY, "gpt-4o:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    let up = &mock.chat_requests()[1].body;
    assert_eq!(up["messages"][1]["tool_calls"][0]["id"], id.as_str());
    assert_eq!(
        up["messages"][1]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(
        up["messages"][2],
        json!({"role": "tool", "tool_call_id": id, "content": r#"{"sky":"clear"}"#})
    );

    // Streamed, the call comes whole in the closing event.
    mock.push(Behavior::Reply(Reply::tool_call(
        "get_weather",
        r#"{"city":"Rome"}"#,
    )));
    let resp = call(&gw, KEY, "gpt-4o:streamGenerateContent?alt=sse", &hello()).await;
    let events = gemini_events(&resp.text().await.unwrap());
    let last = events.last().unwrap();
    assert_eq!(
        last["candidates"][0]["content"]["parts"][0]["functionCall"]["args"],
        json!({"city": "Rome"})
    );
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    gw.stop().await;
}

#[tokio::test]
async fn the_key_is_read_from_the_header_the_query_or_bearer() {
    let (gw, _mock) = Gw::with_mock(TOML).await;
    let url = gw.url("/v1beta/models/gpt-4o:generateContent");
    let by_query = gw
        .http
        .post(format!("{url}?key={KEY}"))
        .json(&hello())
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    let by_bearer = gw
        .http
        .post(&url)
        .bearer_auth(KEY)
        .json(&hello())
        .send()
        .await
        .unwrap();
    assert_eq!(by_bearer.status(), 200);
    let none = gw.http.post(&url).json(&hello()).send().await.unwrap();
    google_error(none, 401, "UNAUTHENTICATED").await;
    let wrong = call(
        &gw,
        "sk-wrong000000000000000000000000000000000000000000000",
        "gpt-4o:generateContent",
        &hello(),
    )
    .await;
    let body = google_error(wrong, 401, "UNAUTHENTICATED").await;
    assert!(
        !body.to_string().contains("sk-wrong0000000000000"),
        "{body}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn refusals_come_in_googles_shape_and_call_no_upstream() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let r = call(&gw, CAROL, "gemini-1.5-pro:generateContent", &hello()).await;
    google_error(r, 403, "PERMISSION_DENIED").await;
    let r = call(&gw, KEY, "gemini-9:generateContent", &hello()).await;
    google_error(r, 404, "NOT_FOUND").await;
    let r = call(&gw, KEY, "gpt-4o:embedContent", &hello()).await;
    google_error(r, 501, "UNIMPLEMENTED").await;
    let r = call(&gw, KEY, "gpt-4o:streamGenerateContent", &hello()).await;
    assert_eq!(
        google_error(r, 400, "INVALID_ARGUMENT").await["error"]["message"]
            .as_str()
            .map(|m| m.contains("alt=sse")),
        Some(true)
    );
    let cases = [
        (json!({"contents": []}), "contents"),
        (json!({"contents": [{"parts": [{"text": 5}]}]}), "text"),
        (
            json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}),
            "role",
        ),
        (
            json!({"contents": [{"parts": [{"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}}]}]}),
            "audio/wav",
        ),
        (
            json!({"contents": [{"parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/x.png"}}]}]}),
            "fileUri",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]}),
            "googleSearch",
        ),
        (
            json!({"contents": [{"parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
            "functionResponse",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": "9"}}),
            "maxOutputTokens",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}),
            "TEXT",
        ),
    ];
    for (model, target) in [
        ("gpt-4o", "gpt-4o:generateContent"),
        ("gemini", "gemini-1.5-pro:generateContent"),
    ] {
        for (body, named) in &cases {
            let r = call(&gw, KEY, target, body).await;
            let err = google_error(r, 400, "INVALID_ARGUMENT").await;
            assert!(err.to_string().contains(named), "{model}: {body} → {err}");
        }
    }
    // Too many images: refused before the body becomes chat, naming the client's own field.
    let image = json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}});
    let many = json!({"contents": [{"parts": vec![image; 101]}]});
    for target in ["gpt-4o:generateContent", "gemini-1.5-pro:generateContent"] {
        let r = call(&gw, KEY, target, &many).await;
        let err = google_error(r, 400, "INVALID_ARGUMENT").await;
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("101 images")
                && message.contains("'contents'")
                && !message.contains("messages"),
            "{target}: {message}"
        );
    }
    // Bob's balance cannot pay for the prompt of a long request.
    let long = json!({"contents": [{"parts": [{"text": "word ".repeat(4000)}]}]});
    let r = call(&gw, BOB, "gemini-1.5-pro:generateContent", &long).await;
    google_error(r, 429, "RESOURCE_EXHAUSTED").await;
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    gw.stop().await;
}

#[tokio::test]
async fn count_tokens_is_answered_locally_for_keys_that_may_use_the_model() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let count = |body: Value, key: &'static str| {
        let gw = &gw;
        async move { call(gw, key, "gemini-1.5-pro:countTokens", &body).await }
    };
    let short: Value = count(hello(), KEY).await.json().await.unwrap();
    let long = json!({"contents": [{"parts": [{"text": "hello ".repeat(100)}]}]});
    let long: Value = count(long, KEY).await.json().await.unwrap();
    let (short, long) = (
        short["totalTokens"].as_u64().unwrap(),
        long["totalTokens"].as_u64().unwrap(),
    );
    assert!(short > 0 && long >= short + 99, "{short} {long}");
    let wrapped = json!({"generateContentRequest": hello()});
    let wrapped: Value = count(wrapped, KEY).await.json().await.unwrap();
    assert_eq!(wrapped["totalTokens"], short);
    google_error(count(hello(), CAROL).await, 403, "PERMISSION_DENIED").await;
    google_error(count(hello(), "sk-nope").await, 401, "UNAUTHENTICATED").await;
    assert!(mock.requests().is_empty());
    // Counting is neither billed nor logged.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(gw.log_total(0).await, 0);
    assert_eq!(gw.user("alice").await.balance, 10_000_000);
    gw.stop().await;
}

/// `GET path` with `key` in Google's header.
async fn google_get(gw: &Gw, path: &str, key: &str) -> reqwest::Response {
    get_with_header(gw, path, ("x-goog-api-key", key)).await
}

/// [`google_get`]: asserts a 200 and returns the JSON answer.
async fn google_json(gw: &Gw, path: &str, key: &str) -> Value {
    let resp = google_get(gw, path, key).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn models_are_listed_in_googles_shape_to_google_clients() {
    let (gw, _mock) = Gw::with_mock(TOML).await;
    let names = |v: &Value| -> Vec<String> {
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = google_json(&gw, "/v1beta/models", KEY).await;
    assert_eq!(names(&listed), ["models/gemini-1.5-pro", "models/gpt-4o"]);
    let v1 = google_json(&gw, "/v1/models", KEY).await;
    assert_eq!(names(&v1), names(&listed));
    let carol = google_json(&gw, "/v1beta/models", CAROL).await;
    assert_eq!(names(&carol), ["models/gpt-4o"]);
    let openai: Value = gw.get_as(KEY, "/v1/models").await.json().await.unwrap();
    assert_eq!(openai["object"], "list");
    let one = google_json(&gw, "/v1beta/models/gpt-4o", KEY).await;
    assert_eq!(one["name"], "models/gpt-4o");
    google_error(
        google_get(&gw, "/v1beta/models/gemini-1.5-pro", CAROL).await,
        404,
        "NOT_FOUND",
    )
    .await;
    google_error(gw.get_anon("/v1beta/models").await, 401, "UNAUTHENTICATED").await;
    gw.stop().await;
}

#[tokio::test]
async fn a_native_stream_past_the_hold_is_cut_with_max_tokens() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(
        Reply::text(&"word ".repeat(300)).pieces(60).usage(3, 300),
    ));
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 4096}}});
    let resp = call(
        &gw,
        BOB,
        "gemini-1.5-pro:streamGenerateContent?alt=sse",
        &body,
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let rid = request_id(&resp);
    let events = gemini_events(&resp.text().await.unwrap());
    let last = events.last().unwrap();
    assert_eq!(
        last["candidates"][0]["finishReason"], "MAX_TOKENS",
        "{last}"
    );
    // The hold's limit was written, and a thinking budget it cannot pay for was turned off.
    let sent = first_sent(&mock, ":streamGenerateContent");
    let limit = sent.body["generationConfig"]["maxOutputTokens"]
        .as_u64()
        .unwrap();
    assert!(limit > 0 && limit < 60, "{limit}");
    assert_eq!(
        sent.body["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        0
    );
    let row = gw.log_for(&rid).await;
    assert!(row.cost > 0 && row.cost <= 300, "{row:?}");
    assert_eq!(gw.user("bob").await.balance, 300 - row.cost);
    gw.stop().await;
}

#[tokio::test]
async fn a_native_thinking_budget_is_held_whole_when_the_account_can_pay() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 6000, "thinkingConfig": {"thinkingBudget": 5000}}});
    let resp = call(&gw, KEY, "gemini-1.5-pro:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    // Gemini's maxOutputTokens counts thoughts: the client's own stays (the hold pays for it with the whole
    // budget on top), and so does the budget, larger than any effort's.
    let sent = first_sent(&mock, ":generateContent");
    let config = &sent.body["generationConfig"];
    assert_eq!(config["maxOutputTokens"], 6000);
    assert_eq!(config["thinkingConfig"]["thinkingBudget"], 5000);
    // Without a limit of its own, the hold's is written, and it covers the budget.
    let mut unlimited = body.clone();
    unlimited["generationConfig"]
        .as_object_mut()
        .unwrap()
        .remove("maxOutputTokens");
    let resp = call(&gw, KEY, "gemini-1.5-pro:generateContent", &unlimited).await;
    assert_eq!(resp.status(), 200);
    let sent = last_sent(&mock, ":generateContent");
    let config = &sent.body["generationConfig"];
    assert!(
        config["maxOutputTokens"].as_u64().unwrap() > 5000,
        "{config}"
    );
    assert_eq!(config["thinkingConfig"]["thinkingBudget"], 5000);
    // Converted, the budget becomes the nearest effort.
    let resp = call(&gw, KEY, "gpt-4o:generateContent", &body).await;
    assert_eq!(resp.status(), 200);
    let up = &last_sent(&mock, "/chat/completions").body;
    assert_eq!(up["reasoning_effort"], "high", "{up}");
    gw.stop().await;
}

#[tokio::test]
async fn a_model_turn_with_too_many_function_calls_is_refused() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let calls: Vec<Value> = (0..129)
        .map(|i| json!({"functionCall": {"name": format!("f{i}"), "args": {}}}))
        .collect();
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": calls},
    ]});
    let r = call(&gw, KEY, "gpt-4o:generateContent", &body).await;
    let err = google_error(r, 400, "INVALID_ARGUMENT").await;
    assert!(err.to_string().contains("contents[1].parts[128]"), "{err}");
    assert!(mock.requests().is_empty());
    gw.stop().await;
}
