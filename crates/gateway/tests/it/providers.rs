//! Anthropic, Gemini, Azure and Bedrock channels behind the OpenAI endpoint. The mock enforces each provider's own
//! request rules, so a request the gateway converted wrongly fails here with the provider's 400 (and on Bedrock
//! verifies every SigV4 signature with the key's secret). Every scenario runs for each kind:
//! `providers::{anthropic,gemini,azure,bedrock}::<scenario>`.

use crate::harness::*;
use crate::support::{find, strs};
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};

/// The 1×1 PNG that `PNG_B64` encodes.
const PNG_BYTES: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Users, keys and prices shared by every deployment here (prices per 1M tokens, in micro-units).
const ACCOUNTS: &str = concat!(
    crate::harness::alice_toml!(),
    crate::harness::claude_price_toml!(),
    price_toml!("gemini-1.5-pro", 1250000, 5000000, cached = 312500),
    price_toml!("gpt-4o", 2500000, 10000000, cached = 1250000),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Anthropic,
    Gemini,
    Azure,
    Bedrock,
}

/// The Bedrock model id the bedrock channels map the Claude model to.
const BEDROCK_MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Anthropic => "anthropic",
            Kind::Gemini => "gemini",
            Kind::Azure => "azure",
            Kind::Bedrock => "bedrock",
        }
    }

    /// The model the client asks for.
    fn model(self) -> &'static str {
        match self {
            Kind::Anthropic | Kind::Bedrock => "claude-3-5-sonnet-20240620",
            Kind::Gemini => "gemini-1.5-pro",
            Kind::Azure => "gpt-4o",
        }
    }

    /// The channel's upstream key on mock `i`.
    fn key(self, i: usize) -> String {
        match self {
            Kind::Anthropic => format!("sk-ant-up-{i}"),
            Kind::Gemini => format!("AIza-up-{i}"),
            Kind::Azure => format!("az-up-{i}"),
            Kind::Bedrock => format!("AKIDUP{i}|bedrock-secret-{i}|us-east-1"),
        }
    }

    /// (input, cached input, output) prices per 1M tokens, as in `ACCOUNTS`.
    fn prices(self) -> (i128, i128, i128) {
        match self {
            Kind::Anthropic | Kind::Bedrock => (3_000_000, 300_000, 15_000_000),
            Kind::Gemini => (1_250_000, 312_500, 5_000_000),
            Kind::Azure => (2_500_000, 1_250_000, 10_000_000),
        }
    }

    /// One channel of this kind on mock `i`.
    fn channel(self, name: &str, i: usize, priority: i64) -> String {
        let mut c = format!(
            "\n[[channels]]\nname = \"{name}\"\nkind = \"{}\"\nbase_url = \"{{MOCK{i}}}\"\nkeys = [\"{}\"]\n\
             models = [\"{}\"]\npriority = {priority}\n",
            self.name(),
            self.key(i),
            self.model()
        );
        if self == Kind::Azure {
            c.push_str("model_mapping = { \"gpt-4o\" = \"my-deployment\" }\napi_version = \"2024-10-21\"\n");
        }
        if self == Kind::Bedrock {
            c.push_str(&format!(
                "model_mapping = {{ \"{}\" = \"{BEDROCK_MODEL}\" }}\n",
                self.model()
            ));
        }
        c
    }

    /// One channel on mock 0.
    fn toml(self) -> String {
        format!("{ACCOUNTS}{}", self.channel("main", 0, 0))
    }

    /// A primary channel on mock 0 and a fallback on mock 1.
    fn two_channels_toml(self) -> String {
        format!(
            "{ACCOUNTS}{}{}",
            self.channel("primary", 0, 0),
            self.channel("secondary", 1, -1)
        )
    }

    /// Checks where and how the gateway called the upstream.
    fn assert_upstream_call(self, r: &mock_upstream::Recorded, stream: bool, mock: usize) {
        assert_eq!(r.method, "POST");
        assert!(
            self == Kind::Bedrock || r.header("authorization").is_none(),
            "{self:?} sends its key in its own header"
        );
        match self {
            Kind::Bedrock => {
                let action = if stream {
                    "invoke-with-response-stream"
                } else {
                    "invoke"
                };
                let id = BEDROCK_MODEL.replace(':', "%3A");
                assert_eq!(r.path, format!("/model/{id}/{action}"));
                let auth = r.header("authorization").unwrap_or_default();
                let scope = format!("AWS4-HMAC-SHA256 Credential=AKIDUP{mock}/");
                assert!(auth.starts_with(&scope), "{auth}");
                assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
                assert!(!auth.contains("bedrock-secret"), "the secret never travels");
                assert!(r.header("x-amz-date").is_some());
                assert_eq!(r.body["anthropic_version"], "bedrock-2023-05-31");
                assert!(r.body.get("model").is_none() && r.body.get("stream").is_none());
            }
            Kind::Anthropic => {
                assert_eq!(r.path, "/v1/messages");
                assert_eq!(r.header("x-api-key"), Some(self.key(mock).as_str()));
                assert!(r.header("anthropic-version").is_some());
                assert_eq!(r.body["model"], self.model());
                assert_eq!(r.body["stream"].as_bool().unwrap_or(false), stream);
            }
            Kind::Gemini => {
                let method = if stream {
                    "streamGenerateContent"
                } else {
                    "generateContent"
                };
                assert_eq!(r.path, format!("/v1beta/models/{}:{method}", self.model()));
                assert_eq!(r.header("x-goog-api-key"), Some(self.key(mock).as_str()));
                assert!(
                    r.query_param("key").is_none(),
                    "no key in the URL: {}",
                    r.query
                );
                if stream {
                    assert_eq!(r.query_param("alt"), Some("sse"));
                }
            }
            Kind::Azure => {
                assert_eq!(r.path, "/openai/deployments/my-deployment/chat/completions");
                assert_eq!(r.query_param("api-version"), Some("2024-10-21"));
                assert_eq!(r.header("api-key"), Some(self.key(mock).as_str()));
            }
        }
    }

    /// The provider's "bad request" error body (status 400).
    fn bad_request_body(self) -> &'static str {
        match self {
            Kind::Anthropic => {
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"},"request_id":"req_011x"}"#
            }
            Kind::Gemini => {
                r#"{"error":{"code":400,"message":"The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#
            }
            Kind::Azure => {
                r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
            }
            Kind::Bedrock => r#"{"message":"Input is too long for requested model."}"#,
        }
    }

    /// A part of the message in `bad_request_body`.
    fn bad_request_words(self) -> &'static str {
        match self {
            Kind::Anthropic => "prompt is too long",
            Kind::Gemini => "exceeds the maximum number of tokens",
            Kind::Azure => "maximum context length",
            Kind::Bedrock => "Input is too long",
        }
    }

    /// The provider's "overloaded, try later" answer.
    fn overloaded(self) -> Behavior {
        match self {
            Kind::Anthropic => Behavior::status(
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011y"}"#,
            ),
            Kind::Gemini => Behavior::status(
                503,
                r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
            ),
            Kind::Azure => Behavior::status(
                503,
                r#"{"error":{"code":"ServiceUnavailable","message":"The service is temporarily unable to process your request. Please try again later."}}"#,
            ),
            Kind::Bedrock => Behavior::status(
                503,
                r#"{"message":"Bedrock is unable to process your request."}"#,
            ),
        }
    }
}

/// Expected cost: ceil((uncached × input + cached × cached price + completion × output) / 1e6), multiplier 1.
fn expected_cost(kind: Kind, prompt: i128, cached: i128, completion: i128) -> i64 {
    let (input, cached_price, output) = kind.prices();
    let sum = (prompt - cached) * input + cached * cached_price + completion * output;
    i64::try_from((sum + 999_999) / 1_000_000).unwrap()
}

/// One channel of `kind` on a fresh mock; a Bedrock mock accepts the channel's key only, so every signature the
/// gateway sends is checked with its secret.
async fn start(kind: Kind) -> (Gw, MockUpstream) {
    let (gw, mock) = Gw::with_mock(&kind.toml()).await;
    if kind == Kind::Bedrock {
        mock.set_accepted_keys(Some(vec![kind.key(0)]));
    }
    (gw, mock)
}

fn user_says(kind: Kind, text: &str) -> Value {
    json!({"model": kind.model(), "messages": [{"role": "user", "content": text}]})
}

fn streaming(mut body: Value, include_usage: Option<bool>) -> Value {
    body["stream"] = json!(true);
    if let Some(u) = include_usage {
        body["stream_options"] = json!({"include_usage": u});
    }
    body
}

/// Sends a non-streamed request that must succeed: (request id, body).
async fn chat_ok(gw: &Gw, body: Value) -> (String, Value) {
    let resp = gw.chat(body).await;
    let id = request_id(&resp);
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    (id, serde_json::from_str(&text).unwrap())
}

/// Sends a streamed request that must succeed: (request id, chunks). Checks the OpenAI stream contract on the way:
/// every event is a `chat.completion.chunk` with one id, and `[DONE]` comes last.
async fn stream_ok(gw: &Gw, body: Value) -> (String, Vec<Value>) {
    let resp = gw.chat(body).await;
    let id = request_id(&resp);
    let status = resp.status();
    let ct = resp.headers().get("content-type").cloned();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(ct.unwrap(), "text/event-stream");
    let data = sse_data(&text);
    let (last, rest) = data.split_last().expect("some events");
    assert_eq!(last, "[DONE]", "stream must end with [DONE]: {data:#?}");
    let chunks: Vec<Value> = rest
        .iter()
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("chunk `{d}` is not JSON: {e}")))
        .collect();
    for c in &chunks {
        assert!(
            c.get("error").is_none(),
            "error event in a successful stream: {c}"
        );
        assert_eq!(c["object"], "chat.completion.chunk", "{c}");
        assert_eq!(c["id"], chunks[0]["id"], "one id for the whole stream: {c}");
        assert!(c["id"].as_str().is_some_and(|i| !i.is_empty()), "{c}");
        assert!(c["choices"].is_array(), "{c}");
    }
    (id, chunks)
}

fn joined_content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

fn usage_chunks(chunks: &[Value]) -> Vec<&Value> {
    chunks
        .iter()
        .filter(|c| c["choices"].as_array().is_some_and(Vec::is_empty) && c["usage"].is_object())
        .collect()
}

fn finish_reasons(chunks: &[Value]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect()
}

/// Streamed tool calls assembled by index: (id, name, arguments). Indexes must be dense from 0, and the first
/// fragment of each call must carry its id, type and name.
fn assembled_calls(chunks: &[Value]) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for c in chunks {
        for tc in c["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = usize::try_from(
                tc["index"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("tool call without index: {tc}")),
            )
            .unwrap();
            if i == calls.len() {
                let id = tc["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("first fragment without id: {tc}"));
                assert_eq!(tc["type"], "function", "{tc}");
                let name = tc["function"]["name"]
                    .as_str()
                    .unwrap_or_else(|| panic!("first fragment without name: {tc}"));
                calls.push((id.to_owned(), name.to_owned(), String::new()));
            }
            assert!(i < calls.len(), "tool call index {i} skips an index: {tc}");
            calls[i]
                .2
                .push_str(tc["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    calls
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("`{s}` is not JSON: {e}"))
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
            "parameters": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name", "examples": ["Paris"]},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
                },
                "required": ["city"], "additionalProperties": false}}},
        {"type": "function", "function": {"name": "get_time", "description": "Local time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}
    ])
}

const ARGS_WEATHER: &str = r#"{"city":"Paris","unit":"celsius"}"#;
const ARGS_TIME: &str = r#"{"tz":"Europe/Paris"}"#;

fn two_tool_calls() -> Reply {
    Reply::tool_call("get_weather", ARGS_WEATHER).and_tool_call("get_time", ARGS_TIME)
}

// === scenarios ===

async fn plain_answer(kind: Kind) {
    let (gw, mock) = start(kind).await;
    mock.push(Behavior::Reply(
        Reply::text("Bonjour, je suis le mock.").usage(21, 7),
    ));
    let (id, body) = chat_ok(&gw, user_says(kind, "Salut !")).await;
    assert_eq!(body["object"], "chat.completion", "{body}");
    assert!(body["id"].as_str().is_some_and(|i| !i.is_empty()), "{body}");
    assert!(
        body["created"].as_u64().is_some_and(|c| c > 1_700_000_000),
        "{body}"
    );
    assert!(body["model"].is_string(), "{body}");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Bonjour, je suis le mock.");
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(body["choices"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &body["usage"]["prompt_tokens"],
            &body["usage"]["completion_tokens"],
            &body["usage"]["total_tokens"]
        ),
        (&json!(21), &json!(7), &json!(28)),
        "{body}"
    );
    let calls = mock.chat_requests();
    assert_eq!(calls.len(), 1);
    kind.assert_upstream_call(&calls[0], false, 0);
    let row = gw.log_for(&id).await;
    assert_eq!(
        (row.status, row.prompt_tokens, row.completion_tokens),
        (200, 21, 7)
    );
    assert_eq!(row.model.as_deref(), Some(kind.model()));
    if kind == Kind::Azure {
        assert_eq!(row.upstream_model.as_deref(), Some("my-deployment"));
    }
    if kind == Kind::Bedrock {
        assert_eq!(row.upstream_model.as_deref(), Some(BEDROCK_MODEL));
    }
    gw.stop().await;
}

async fn stream_text(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let text = "one two three four five";
    mock.set_default(Behavior::Reply(Reply::text(text).pieces(5).usage(13, 5)));
    for ask in [None, Some(false), Some(true)] {
        let (id, chunks) = stream_ok(&gw, streaming(user_says(kind, "count"), ask)).await;
        assert_eq!(joined_content(&chunks), text, "{ask:?}: {chunks:#?}");
        assert_eq!(finish_reasons(&chunks), ["stop"], "{chunks:#?}");
        let first_delta = chunks
            .iter()
            .find(|c| !c["choices"].as_array().unwrap().is_empty())
            .unwrap();
        assert_eq!(
            first_delta["choices"][0]["delta"]["role"], "assistant",
            "{first_delta}"
        );
        let usage = usage_chunks(&chunks);
        if ask == Some(true) {
            assert_eq!(usage.len(), 1, "{chunks:#?}");
            assert_eq!(
                std::ptr::from_ref(usage[0]),
                std::ptr::from_ref(chunks.last().unwrap()),
                "the usage chunk comes right before [DONE]"
            );
            assert_eq!(
                (
                    &usage[0]["usage"]["prompt_tokens"],
                    &usage[0]["usage"]["completion_tokens"]
                ),
                (&json!(13), &json!(5))
            );
        } else {
            assert!(usage.is_empty(), "no usage chunk unless asked: {chunks:#?}");
        }
        let row = gw.log_for(&id).await;
        assert!(row.stream);
        assert_eq!(
            (row.status, row.prompt_tokens, row.completion_tokens),
            (200, 13, 5)
        );
    }
    for r in mock.chat_requests() {
        kind.assert_upstream_call(&r, true, 0);
    }
    gw.stop().await;
}

async fn tool_calls_plain(kind: Kind) {
    let (gw, mock) = start(kind).await;
    mock.push(Behavior::Reply(two_tool_calls()));
    let mut req = user_says(kind, "Weather and time in Paris?");
    req["tools"] = weather_tools();
    req["tool_choice"] = json!("auto");
    let (_, body) = chat_ok(&gw, req).await;
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{body}");
    assert!(choice["message"]["content"].is_null(), "{body}");
    let calls = choice["message"]["tool_calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(calls.len(), 2, "{body}");
    for (call, (name, args)) in calls
        .iter()
        .zip([("get_weather", ARGS_WEATHER), ("get_time", ARGS_TIME)])
    {
        assert!(call["id"].as_str().is_some_and(|i| !i.is_empty()), "{call}");
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], name);
        assert_eq!(
            parse(call["function"]["arguments"].as_str().unwrap()),
            parse(args)
        );
    }
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    let up = &mock.chat_requests()[0].body;
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            assert_eq!(up["tools"][0]["name"], "get_weather");
            assert_eq!(
                up["tools"][0]["input_schema"]["properties"]["city"]["type"],
                "string"
            );
            assert_eq!(up["tool_choice"], json!({"type": "auto"}));
        }
        Kind::Gemini => {
            let decl = &up["tools"][0]["functionDeclarations"][0];
            assert_eq!(decl["name"], "get_weather");
            assert_eq!(decl["parameters"]["required"], json!(["city"]));
        }
        Kind::Azure => assert_eq!(up["tools"], weather_tools()),
    }
    gw.stop().await;
}

async fn tool_calls_streamed(kind: Kind) {
    let (gw, mock) = start(kind).await;
    // Text before the calls: the calls' OpenAI indexes must still start at 0 (Anthropic counts the text block).
    mock.push(Behavior::Reply(Reply {
        text: Some("Let me check.".into()),
        ..two_tool_calls()
    }));
    let mut req = streaming(user_says(kind, "Weather and time in Paris?"), None);
    req["tools"] = weather_tools();
    let (_, chunks) = stream_ok(&gw, req).await;
    let calls = assembled_calls(&chunks);
    assert_eq!(calls.len(), 2, "{chunks:#?}");
    assert_eq!(calls[0].1, "get_weather");
    assert_eq!(calls[1].1, "get_time");
    assert_eq!(parse(&calls[0].2), parse(ARGS_WEATHER));
    assert_eq!(parse(&calls[1].2), parse(ARGS_TIME));
    if matches!(kind, Kind::Anthropic | Kind::Bedrock) {
        // input_json_delta fragments are relayed as they come: the text is the mock's, byte for byte.
        assert_eq!(calls[0].2, ARGS_WEATHER);
    }
    assert_ne!(calls[0].0, calls[1].0);
    if kind != Kind::Azure {
        assert_eq!(joined_content(&chunks), "Let me check.");
    }
    assert_eq!(finish_reasons(&chunks), ["tool_calls"], "{chunks:#?}");
    gw.stop().await;
}

async fn system_and_consecutive_users(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let messages = json!([
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi."},
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]},
        {"role": "assistant", "content": "4."},
        {"role": "system", "content": "Answer in French from now on."},
        {"role": "user", "content": "And 3+3?"},
        {"role": "user", "content": "Be quick."}
    ]);
    let req = json!({"model": kind.model(), "messages": messages.clone(), "temperature": 0.4});
    let (_, body) = chat_ok(&gw, req).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let up = &mock.chat_requests()[0].body;
    let all = up.to_string();
    for part in [
        "You are terse.",
        "Hi.",
        "What is 2+2?",
        "4.",
        "Answer in French from now on.",
        "And 3+3?",
        "Be quick.",
    ] {
        assert!(all.contains(part), "`{part}` lost in conversion: {up}");
    }
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            let system = up["system"].to_string();
            let (a, b) = (
                system.find("You are terse."),
                system.find("Answer in French"),
            );
            assert!(
                a.is_some() && b.is_some() && a < b,
                "both system prompts, in order: {system}"
            );
            let roles = strs(&up["messages"], "role");
            assert_eq!(roles, ["user", "assistant", "user"], "{up}");
            assert_eq!(up["temperature"], 0.4);
        }
        Kind::Gemini => {
            let system =
                up["systemInstruction"].to_string() + &up["system_instruction"].to_string();
            assert!(
                system.contains("You are terse.") && system.contains("Answer in French"),
                "{up}"
            );
            assert!(
                !up["contents"].to_string().contains("You are terse."),
                "system text left in contents: {up}"
            );
        }
        Kind::Azure => assert_eq!(
            up["messages"], messages,
            "Azure takes OpenAI messages as they are"
        ),
    }
    gw.stop().await;
}

async fn tool_history_round_trip(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let messages = json!([
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": ARGS_WEATHER}},
            {"id": "call_t1", "type": "function", "function": {"name": "get_time", "arguments": ARGS_TIME}}
        ]},
        {"role": "tool", "tool_call_id": "call_w1", "content": "18 degrees and sunny"},
        {"role": "tool", "tool_call_id": "call_t1", "content": "{\"time\":\"14:05\"}"},
        {"role": "user", "content": "Thanks! Should I take an umbrella?"}
    ]);
    let req =
        json!({"model": kind.model(), "messages": messages.clone(), "tools": weather_tools()});
    let (_, body) = chat_ok(&gw, req).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let up = &mock.chat_requests()[0].body;
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            let tool_use = &up["messages"][1]["content"];
            let ids: Vec<&str> = tool_use
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["id"].as_str())
                .collect();
            assert_eq!(ids, ["call_w1", "call_t1"], "{up}");
            assert_eq!(
                find(&up["messages"][1]["content"], "type", "tool_use")["input"],
                parse(ARGS_WEATHER)
            );
            assert_eq!(
                up["messages"].as_array().unwrap().len(),
                3,
                "results and the follow-up share one user turn: {up}"
            );
        }
        Kind::Gemini => {
            let contents = up["contents"].to_string();
            assert!(
                contents.contains("functionResponse") || contents.contains("function_response"),
                "{up}"
            );
            assert!(contents.contains("18 degrees and sunny"), "{up}");
        }
        Kind::Azure => assert_eq!(up["messages"], messages),
    }
    gw.stop().await;
}

async fn base64_image(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let content = json!([
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG_B64}"), "detail": "auto"}}
    ]);
    let req =
        json!({"model": kind.model(), "messages": [{"role": "user", "content": content.clone()}]});
    chat_ok(&gw, req).await;
    let up = &mock.chat_requests()[0].body;
    if kind == Kind::Azure {
        assert_eq!(up["messages"][0]["content"], content);
    } else if let Some(inline) = assert_png_inlined(kind, up) {
        assert_eq!(
            inline
                .get("mimeType")
                .or_else(|| inline.get("mime_type"))
                .unwrap(),
            "image/png"
        );
    }
    gw.stop().await;
}

/// Asserts the upstream body carries the 1×1 PNG inline, as the kind writes an image; returns Gemini's inline part.
fn assert_png_inlined(kind: Kind, up: &Value) -> Option<Value> {
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            let blocks = up["messages"][0]["content"].as_array().unwrap();
            let image = blocks
                .iter()
                .find(|b| b["type"] == "image")
                .unwrap_or_else(|| panic!("no image block: {up}"));
            assert_eq!(
                image["source"],
                json!({"type": "base64", "media_type": "image/png", "data": PNG_B64})
            );
            None
        }
        Kind::Gemini => {
            let parts = up["contents"][0]["parts"].as_array().unwrap();
            let inline = parts
                .iter()
                .find_map(|p| p.get("inlineData").or_else(|| p.get("inline_data")))
                .unwrap_or_else(|| panic!("{up}"));
            assert_eq!(inline["data"], PNG_B64);
            Some(inline.clone())
        }
        Kind::Azure => unreachable!("Azure takes images as they are"),
    }
}

async fn billing_with_cached_tokens(kind: Kind) {
    let (gw, mock) = start(kind).await;
    mock.set_default(Behavior::Reply(
        Reply::text("ok, noted").usage(1000, 100).cached(400),
    ));
    let expected = expected_cost(kind, 1000, 400, 100);
    // claude 600×3 + 400×0.3 + 100×15 = 3420; gemini 750 + 125 + 500 = 1375; gpt-4o 1500 + 500 + 1000 = 3000.
    assert_eq!(
        expected,
        match kind {
            Kind::Anthropic | Kind::Bedrock => 3420,
            Kind::Gemini => 1375,
            Kind::Azure => 3000,
        }
    );
    let (id, body) = chat_ok(&gw, user_says(kind, "remember this")).await;
    assert_eq!(body["usage"]["prompt_tokens"], 1000, "{body}");
    assert_eq!(
        body["usage"]["prompt_tokens_details"]["cached_tokens"], 400,
        "{body}"
    );
    let row = gw.log_for(&id).await;
    assert_eq!(tokens_and_cost(&row), (1000, 400, 100, expected));
    // Streamed, without the client asking for usage: still billed from the provider's numbers.
    let (id, _) = stream_ok(&gw, streaming(user_says(kind, "remember this"), None)).await;
    let row = gw.log_for(&id).await;
    assert_eq!(tokens_and_cost(&row), (1000, 400, 100, expected));
    let user = gw.user("alice").await;
    assert_eq!(
        (user.balance, user.spent),
        (10_000_000 - 2 * expected, 2 * expected)
    );
    assert_eq!(gw.key("alice", "alice-key").await.reserved, 0);
    gw.stop().await;
}

async fn bad_request_keeps_its_status(kind: Kind) {
    let mock = MockUpstream::start().await.unwrap();
    let spare = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&kind.two_channels_toml(), &[&mock, &spare], |_| {}).await;
    mock.push(Behavior::status(400, kind.bad_request_body()));
    let resp = gw.chat(user_says(kind, "a very long prompt")).await;
    let id = request_id(&resp);
    let body = expect_error(resp, 400, None).await;
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    let message = error_message(&body);
    assert!(message.contains(kind.bad_request_words()), "{body}");
    assert!(
        spare.chat_requests().is_empty(),
        "a client error is not retried elsewhere"
    );
    let row = gw.log_for(&id).await;
    assert_eq!((row.status, row.cost), (400, 0));
    gw.stop().await;
}

async fn overloaded_fails_over_then_502(kind: Kind) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&kind.two_channels_toml(), &[&a, &b], |_| {}).await;
    a.push(kind.overloaded());
    let (id, body) = chat_ok(&gw, user_says(kind, "hi")).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let row = gw.log_for(&id).await;
    assert_eq!((row.retries, row.status), (1, 200));
    assert_eq!((a.chat_requests().len(), b.chat_requests().len()), (1, 1));
    kind.assert_upstream_call(&b.chat_requests()[0], false, 1);
    // Streams fail over the same way before the first byte.
    a.push(kind.overloaded());
    let (_, chunks) = stream_ok(&gw, streaming(user_says(kind, "hi"), None)).await;
    assert_eq!(joined_content(&chunks), mock_upstream::DEFAULT_TEXT);
    gw.stop().await;

    // Only one channel: the client gets a 502 in the OpenAI shape, and pays nothing.
    let (gw, mock) = start(kind).await;
    mock.push(kind.overloaded());
    let resp = gw.chat(user_says(kind, "hi")).await;
    let id = request_id(&resp);
    let body = expect_error(resp, 502, None).await;
    assert_eq!(body["error"]["type"], "server_error", "{body}");
    assert_eq!(gw.log_for(&id).await.cost, 0);
    gw.stop().await;
}

/// Another chat through `gw` succeeds without reaching `disabled`, the upstream whose key was taken out of rotation.
async fn assert_disabled_key_unused(gw: &Gw, disabled: &MockUpstream, kind: Kind) {
    let before = disabled.chat_requests().len();
    chat_ok(gw, user_says(kind, "hi")).await;
    assert_eq!(
        disabled.chat_requests().len(),
        before,
        "the disabled key is not used again"
    );
}

async fn rejected_key_is_disabled(kind: Kind) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&kind.two_channels_toml(), &[&a, &b], |_| {}).await;
    a.set_accepted_keys(Some(vec!["some-other-key".into()]));
    let (_, body) = chat_ok(&gw, user_says(kind, "hi")).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let primary = gw.channel_out_of_rotation("primary").await;
    assert!(primary.keys[0].disabled_reason.is_some(), "{primary:?}");
    assert!(!format!("{primary:?}").contains("some-other-key"));
    assert_disabled_key_unused(&gw, &a, kind).await;
    gw.stop().await;
}

async fn stream_cut_is_an_error_not_a_stop(kind: Kind) {
    let (gw, mock) = start(kind).await;
    mock.set_default(Behavior::Reply(
        Reply::text("one two three four five six").pieces(6),
    ));
    // Enough events for some text to reach the client, never the provider's end of message.
    let events = match kind {
        Kind::Anthropic | Kind::Bedrock => 5,
        Kind::Gemini => 2,
        Kind::Azure => 4,
    };
    mock.push(Behavior::CutAfter { events });
    let resp = gw.chat(streaming(user_says(kind, "count"), None)).await;
    assert_eq!(resp.status(), 200);
    let id = request_id(&resp);
    let data = sse_data(&resp.text().await.unwrap());
    let last = data.last().unwrap();
    assert_ne!(
        last, "[DONE]",
        "a cut upstream must not look like a clean end: {data:#?}"
    );
    assert!(parse(last)["error"]["message"].is_string(), "{data:#?}");
    let chunks: Vec<Value> = data[..data.len() - 1].iter().map(|d| parse(d)).collect();
    assert!(!joined_content(&chunks).is_empty(), "{data:#?}");
    assert!(
        finish_reasons(&chunks).is_empty(),
        "no finish reason for a cut stream: {data:#?}"
    );
    assert_eq!(gw.log_for(&id).await.status, 502);
    gw.stop().await;
}

/// `tool_choice` and `parallel_tool_calls` mapped per provider; tools with empty or no parameters (which OpenAI
/// clients send for argument-less functions) accepted: Claude needs an object `input_schema`, Gemini refuses an
/// OBJECT schema without properties.
async fn tool_choice_and_parameterless_tools(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let mut tools = weather_tools();
    let extra = json!([
        {"type": "function", "function": {"name": "list_cities", "description": "All cities",
            "parameters": {"type": "object", "properties": {}}}},
        {"type": "function", "function": {"name": "ping"}}
    ]);
    tools
        .as_array_mut()
        .unwrap()
        .extend(extra.as_array().unwrap().iter().cloned());
    let choices = [
        json!("required"),
        json!({"type": "function", "function": {"name": "get_time"}}),
        json!("none"),
        json!("auto"),
    ];
    for choice in &choices {
        let mut req = user_says(kind, "Time in Paris?");
        req["tools"] = tools.clone();
        req["tool_choice"] = choice.clone();
        if choice == "auto" {
            req["parallel_tool_calls"] = json!(false);
        }
        chat_ok(&gw, req).await;
    }
    let sent: Vec<Value> = mock.chat_requests().into_iter().map(|r| r.body).collect();
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            assert_eq!(
                sent[0]["tool_choice"]["type"], "any",
                "required → any: {}",
                sent[0]
            );
            assert_eq!(sent[1]["tool_choice"]["type"], "tool", "{}", sent[1]);
            assert_eq!(sent[1]["tool_choice"]["name"], "get_time", "{}", sent[1]);
            let none_ok =
                sent[2]["tool_choice"]["type"] == "none" || sent[2].get("tools").is_none();
            assert!(none_ok, "none → type none or no tools: {}", sent[2]);
            assert_eq!(
                sent[3]["tool_choice"],
                json!({"type": "auto", "disable_parallel_tool_use": true}),
                "{}",
                sent[3]
            );
            let ping = find(&sent[0]["tools"], "name", "ping");
            assert_eq!(ping["input_schema"]["type"], "object", "{ping}");
        }
        Kind::Gemini => {
            let mode = |b: &Value| {
                let cfg = b
                    .get("toolConfig")
                    .or_else(|| b.get("tool_config"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let fc = cfg
                    .get("functionCallingConfig")
                    .or_else(|| cfg.get("function_calling_config"))
                    .cloned();
                fc.unwrap_or(Value::Null)
            };
            assert_eq!(mode(&sent[0])["mode"], "ANY", "required → ANY: {}", sent[0]);
            assert_eq!(mode(&sent[1])["mode"], "ANY", "{}", sent[1]);
            let allowed = mode(&sent[1]);
            let allowed = allowed
                .get("allowedFunctionNames")
                .or_else(|| allowed.get("allowed_function_names"));
            assert_eq!(allowed, Some(&json!(["get_time"])), "{}", sent[1]);
            let none_ok = mode(&sent[2])["mode"] == "NONE" || sent[2].get("tools").is_none();
            assert!(none_ok, "none → NONE or no tools: {}", sent[2]);
        }
        Kind::Azure => {
            for (body, choice) in sent.iter().zip(&choices) {
                assert_eq!(&body["tool_choice"], choice);
                assert_eq!(body["tools"], tools);
            }
            assert_eq!(sent[3]["parallel_tool_calls"], false);
        }
    }
    gw.stop().await;
}

/// The usual OpenAI sampling options: mapped where the provider has them, dropped where it has not (the strict
/// mocks refuse unknown fields).
async fn sampling_options_are_mapped(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let req = json!({"model": kind.model(), "messages": [{"role": "user", "content": "Write a haiku."}],
        "max_completion_tokens": 300, "stop": "END", "top_p": 0.9, "presence_penalty": 0.1,
        "frequency_penalty": 0.2, "seed": 7, "user": "u-42", "n": 1, "logit_bias": {"50256": -100},
        "response_format": {"type": "text"}});
    chat_ok(&gw, req.clone()).await;
    let up = &mock.chat_requests()[0].body;
    match kind {
        Kind::Anthropic | Kind::Bedrock => {
            assert_eq!(up["max_tokens"], 300, "{up}");
            assert_eq!(up["stop_sequences"], json!(["END"]), "{up}");
            assert_eq!(up["top_p"], 0.9, "{up}");
        }
        Kind::Gemini => {
            let cfg = up
                .get("generationConfig")
                .or_else(|| up.get("generation_config"))
                .unwrap_or_else(|| panic!("{up}"));
            let get = |camel: &str, snake: &str| cfg.get(camel).or_else(|| cfg.get(snake)).cloned();
            assert_eq!(
                get("maxOutputTokens", "max_output_tokens"),
                Some(json!(300)),
                "{up}"
            );
            assert_eq!(
                get("stopSequences", "stop_sequences"),
                Some(json!(["END"])),
                "{up}"
            );
            assert_eq!(get("topP", "top_p"), Some(json!(0.9)), "{up}");
        }
        Kind::Azure => {
            for field in [
                "max_completion_tokens",
                "stop",
                "top_p",
                "presence_penalty",
                "seed",
                "user",
                "logit_bias",
            ] {
                assert_eq!(up[field], req[field], "{field} passed through");
            }
        }
    }
    gw.stop().await;
}

/// Chat UIs often open with the assistant's greeting; Claude needs a user turn first.
async fn leading_assistant_turn(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let req = json!({"model": kind.model(), "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "assistant", "content": "Hello! How can I help you today?"},
        {"role": "user", "content": "Tell me a joke."}
    ]});
    let (_, body) = chat_ok(&gw, req).await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let up = mock.chat_requests()[0].body.to_string();
    assert!(
        up.contains("Hello! How can I help you today?") && up.contains("Tell me a joke."),
        "{up}"
    );
    gw.stop().await;
}

/// Claude has no `n`: more than one choice is refused up front (protocols.md C.6), never sent upstream.
async fn n_above_one_is_refused(kind: Kind) {
    let (gw, mock) = start(kind).await;
    let mut req = user_says(kind, "hi");
    req["n"] = json!(2);
    let body = expect_error(gw.chat(req).await, 400, None).await;
    let names_n = error_message(&body)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word == "n");
    assert!(names_n, "the message names the `n` parameter: {body}");
    assert!(mock.chat_requests().is_empty());
    gw.stop().await;
}

/// Serves `PNG_BYTES` at `/cat.png` on a loopback port; returns the URL and a hit counter.
async fn image_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/cat.png",
        axum::routing::get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                // A misleading header: the media type must come from the bytes.
                (
                    [("content-type", "application/octet-stream")],
                    PNG_BYTES.to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/cat.png"), hits)
}

fn image_request(kind: Kind, url: &str) -> Value {
    json!({"model": kind.model(), "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe it."},
        {"type": "image_url", "image_url": {"url": url}}
    ]}]})
}

async fn image_url_is_downloaded_and_inlined(kind: Kind) {
    let (url, hits) = image_server().await;
    let (gw, mock) = Gw::with_mock_and(&kind.toml(), |s| s.allow_private_image_urls = true).await;
    chat_ok(&gw, image_request(kind, &url)).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let up = &mock.chat_requests()[0].body;
    assert_png_inlined(kind, up);
    gw.stop().await;
}

async fn loopback_image_url_is_refused(kind: Kind) {
    let (url, hits) = image_server().await;
    let (gw, mock) = start(kind).await;
    let resp = gw.chat(image_request(kind, &url)).await;
    let body = expect_error(resp, 400, None).await;
    let message = error_message(&body);
    assert!(
        message.contains("loopback"),
        "the message must say why: {body}"
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was fetched"
    );
    assert!(
        mock.chat_requests().is_empty(),
        "nothing reached the upstream"
    );
    gw.stop().await;
}

macro_rules! for_kind {
    ($module:ident, $kind:expr, [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($kind).await
                }
            )*
        }
    };
}

/// `for_kind!` with the scenarios every kind runs, plus `extra` ones.
macro_rules! for_kind_with_common {
    ($module:ident, $kind:expr, [$($extra:ident),* $(,)?]) => {
        for_kind!(
            $module,
            $kind,
            [
                plain_answer,
                stream_text,
                tool_calls_plain,
                tool_calls_streamed,
                system_and_consecutive_users,
                tool_history_round_trip,
                base64_image,
                billing_with_cached_tokens,
                bad_request_keeps_its_status,
                overloaded_fails_over_then_502,
                rejected_key_is_disabled,
                stream_cut_is_an_error_not_a_stop,
                tool_choice_and_parameterless_tools,
                sampling_options_are_mapped,
                leading_assistant_turn,
                $($extra),*
            ]
        );
    };
}

for_kind_with_common!(
    anthropic,
    super::Kind::Anthropic,
    [
        image_url_is_downloaded_and_inlined,
        loopback_image_url_is_refused,
        n_above_one_is_refused,
    ]
);

for_kind_with_common!(
    gemini,
    super::Kind::Gemini,
    [
        image_url_is_downloaded_and_inlined,
        loopback_image_url_is_refused,
    ]
);

for_kind_with_common!(azure, super::Kind::Azure, []);

/// A Bedrock key whose secret the upstream does not accept (same access key id, other secret): the mock's
/// `InvalidSignatureException` takes it out of rotation like a 401, the request goes to the next channel, and the
/// secret is not in the reason recorded.
async fn wrong_secret_is_disabled(kind: Kind) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&kind.two_channels_toml(), &[&a, &b], |_| {}).await;
    a.set_accepted_keys(Some(vec!["AKIDUP0|the-real-secret|us-east-1".into()]));
    b.set_accepted_keys(Some(vec![kind.key(1)]));
    let (_, chunks) = stream_ok(&gw, streaming(user_says(kind, "hi"), None)).await;
    assert_eq!(joined_content(&chunks), mock_upstream::DEFAULT_TEXT);
    let primary = gw.channel_out_of_rotation("primary").await;
    let reason = primary.keys[0].disabled_reason.clone().unwrap_or_default();
    assert!(reason.contains("signature"), "{primary:?}");
    assert!(!reason.contains("bedrock-secret-0"), "{reason}");
    assert_disabled_key_unused(&gw, &a, kind).await;
    gw.stop().await;
}

/// Bedrock's throttling (429 `ThrottlingException`) moves on to the next channel.
async fn throttling_fails_over(kind: Kind) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&kind.two_channels_toml(), &[&a, &b], |_| {}).await;
    a.push(Behavior::status(
        429,
        r#"{"message":"Too many requests, please wait before trying again."}"#,
    ));
    let (id, _) = chat_ok(&gw, user_says(kind, "hi")).await;
    let row = gw.log_for(&id).await;
    assert_eq!((row.retries, row.status), (1, 200));
    let primary = gw.state.store.get_channel_by_name("primary").await.unwrap();
    assert!(
        primary.keys[0].healthy,
        "throttling leaves the key in rotation"
    );
    gw.stop().await;
}

for_kind_with_common!(
    bedrock,
    super::Kind::Bedrock,
    [
        image_url_is_downloaded_and_inlined,
        loopback_image_url_is_refused,
        n_above_one_is_refused,
        wrong_secret_is_disabled,
        throttling_fails_over,
    ]
);
