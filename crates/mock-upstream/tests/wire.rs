//! Wire-format tests: a plain HTTP client checks the OpenAI JSON and SSE shapes,
//! auth, routing and the request journal.
#![cfg(test)]

mod common;

use common::{chat, events, mock};
use mock_upstream::{Behavior, DEFAULT_TEXT, MockUpstream, Reply};
use serde_json::{Value, json};

async fn stream_events(m: &MockUpstream, body: Value) -> Vec<String> {
    let resp = chat(m, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    events(&resp.text().await.expect("stream body"))
}

/// `GET path` on the mock, without credentials.
async fn get(m: &MockUpstream, path: &str) -> reqwest::Response {
    reqwest::get(format!("{}{path}", m.base_url()))
        .await
        .expect("sent")
}

fn parsed(events: &[String]) -> Vec<Value> {
    let (done, chunks) = events.split_last().expect("some events");
    assert_eq!(done, "[DONE]");
    chunks
        .iter()
        .map(|e| serde_json::from_str(e).expect("chunk is JSON"))
        .collect()
}

#[tokio::test]
async fn plain_json_has_openai_shape() {
    let m = mock().await;
    let resp = chat(&m, json!({"model": "gpt-4o-mini", "messages": [], "n": 2})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.expect("json");
    assert!(v["id"].as_str().expect("id").starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().expect("created") > 1_700_000_000);
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["system_fingerprint"], "fp_mock");
    let message = json!({"role": "assistant", "content": DEFAULT_TEXT, "refusal": null});
    for i in 0..2 {
        let choice =
            json!({"index": i, "message": message, "logprobs": null, "finish_reason": "stop"});
        assert_eq!(v["choices"][i], choice);
    }
    assert_eq!(v["choices"].as_array().expect("choices").len(), 2);
    let usage = json!({"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}});
    assert_eq!(v["usage"], usage);

    m.push(Behavior::Reply(Reply::text("x").usage(5, 7).cached(3)));
    let v: Value = chat(&m, json!({"model": "m"}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(v["usage"]["total_tokens"], 12);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    m.push(Behavior::Reply(Reply::text("x").no_usage()));
    let v: Value = chat(&m, json!({"model": "m"}))
        .await
        .json()
        .await
        .expect("json");
    assert!(v.get("usage").is_none());
}

#[tokio::test]
async fn stream_events_in_order_then_done() {
    let m = mock().await;
    m.push(Behavior::Reply(Reply::text("héllo wörld!").pieces(4)));
    let chunks = parsed(&stream_events(&m, json!({"model": "gpt-4o", "stream": true})).await);
    assert_eq!(chunks.len(), 6, "role + 4 pieces + finish");
    for c in &chunks {
        assert_eq!(c["id"], chunks[0]["id"]);
        assert_eq!(c["created"], chunks[0]["created"]);
        assert_eq!(c["model"], "gpt-4o");
        assert_eq!(c["object"], "chat.completion.chunk");
        assert!(c.get("usage").is_none(), "no usage without include_usage");
    }
    let role = json!([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
        "logprobs": null, "finish_reason": null}]);
    assert_eq!(chunks[0]["choices"], role);
    let text: String = chunks[1..5]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().expect("piece"))
        .collect();
    assert_eq!(text, "héllo wörld!");
    assert_eq!(chunks[5]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], "stop");
}

/// The finish reason of a stream's last chunk.
fn last_finish_reason(chunks: &[Value]) -> &Value {
    &chunks.last().expect("finish")["choices"][0]["finish_reason"]
}

/// Every tool-call delta of a stream, in order, with its call's index.
fn tool_call_deltas(chunks: &[Value]) -> Vec<(usize, &Value)> {
    chunks
        .iter()
        .flat_map(|c| {
            c["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .map(|tc| {
            let i = usize::try_from(tc["index"].as_u64().expect("index")).expect("small");
            (i, tc)
        })
        .collect()
}

#[tokio::test]
async fn usage_chunk_only_when_asked_and_known() {
    let m = mock().await;
    let asked = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}});
    let chunks = parsed(&stream_events(&m, asked.clone()).await);
    let (last, rest) = chunks.split_last().expect("chunks");
    assert!(
        rest.iter()
            .all(|c| c["usage"].is_null() && c.get("usage").is_some())
    );
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["total_tokens"], 21);
    assert_eq!(last["id"], rest[0]["id"]);

    m.push(Behavior::Reply(Reply::text("hi").no_usage()));
    let chunks = parsed(&stream_events(&m, asked).await);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(last_finish_reason(&chunks), "stop");
}

#[tokio::test]
async fn tool_calls_plain_and_streamed_by_index() {
    let m = mock().await;
    let reply = Reply::tool_call("get_weather", r#"{"city":"Paris"}"#).and_tool_call("now", "{}");
    m.push(Behavior::Reply(reply.clone()));
    let v: Value = chat(&m, json!({"model": "m"}))
        .await
        .json()
        .await
        .expect("json");
    let msg = &v["choices"][0]["message"];
    assert!(msg["content"].is_null());
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert!(
        msg["tool_calls"][0]["id"]
            .as_str()
            .expect("id")
            .starts_with("call_")
    );
    assert_eq!(msg["tool_calls"][0]["type"], "function");
    assert_eq!(
        msg["tool_calls"][1]["function"],
        json!({"name": "now", "arguments": "{}"})
    );

    m.push(Behavior::Reply(reply));
    let chunks = parsed(&stream_events(&m, json!({"model": "m", "stream": true})).await);
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for (i, tc) in tool_call_deltas(&chunks) {
        if let Some(id) = tc["id"].as_str() {
            assert_eq!(i, calls.len(), "header opens each call in order");
            let name = tc["function"]["name"].as_str().expect("name").to_owned();
            calls.push((id.to_owned(), name, String::new()));
        } else {
            calls[i].2 += tc["function"]["arguments"].as_str().expect("fragment");
        }
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].1.as_str(), calls[0].2.as_str()),
        ("get_weather", r#"{"city":"Paris"}"#)
    );
    assert_eq!((calls[1].1.as_str(), calls[1].2.as_str()), ("now", "{}"));
    assert_eq!(last_finish_reason(&chunks), "tool_calls");
}

#[tokio::test]
async fn interleaved_tool_args_open_every_call_then_alternate_fragments() {
    let m = mock().await;
    let reply = Reply::tool_call("get_weather", r#"{"city":"Paris"}"#)
        .and_tool_call("get_weather", r#"{"city":"Tokyo"}"#)
        .interleave_tool_args();
    m.push(Behavior::Reply(reply));
    let chunks = parsed(&stream_events(&m, json!({"model": "m", "stream": true})).await);
    // (index, is the opening delta) of every tool-call delta, in order.
    let mut order = Vec::new();
    let mut args = [String::new(), String::new()];
    for (i, tc) in tool_call_deltas(&chunks) {
        order.push((i, tc["id"].is_string()));
        args[i] += tc["function"]["arguments"].as_str().expect("arguments");
    }
    assert_eq!(
        order,
        [
            (0, true),
            (1, true),
            (0, false),
            (1, false),
            (0, false),
            (1, false),
            (0, false),
            (1, false)
        ]
    );
    assert_eq!(args, [r#"{"city":"Paris"}"#, r#"{"city":"Tokyo"}"#]);
}

#[tokio::test]
async fn queued_behaviour_answers_once() {
    let m = mock().await;
    let body = r#"{"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    m.push(Behavior::status(429, body));
    let resp = chat(&m, json!({"model": "m"})).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.text().await.expect("body"), body);
    assert_eq!(chat(&m, json!({"model": "m"})).await.status(), 200);
    m.set_default(Behavior::status(503, "{}"));
    assert_eq!(chat(&m, json!({"model": "m"})).await.status(), 503);
}

#[tokio::test]
async fn accepted_keys_gate_every_route() {
    let m = mock().await;
    m.set_accepted_keys(Some(vec!["sk-good".into()]));
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", m.base_url());
    let resp = client
        .post(&url)
        .bearer_auth("sk-abcdefghxyz")
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.expect("json");
    let message = "Incorrect API key provided: sk-ab***yz. You can find your API key at https://platform.openai.com/account/api-keys.";
    let expected = json!({"error": {"message": message, "type": "invalid_request_error",
        "param": null, "code": "invalid_api_key"}});
    assert_eq!(v, expected);
    assert_eq!(get(&m, "/v1/models").await.status(), 401);
    let resp = client
        .post(&url)
        .bearer_auth("sk-good")
        .json(&json!({"model": "m"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    assert_eq!(m.requests().len(), 3, "rejected requests are recorded too");
}

#[tokio::test]
async fn requests_are_recorded_and_routed_by_suffix() {
    let m = mock().await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!(
            "{}/openai/deployments/x/chat/completions",
            m.base_url()
        ))
        .header("X-Trace", "abc")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let models: Value = get(&m, "/v1/models").await.json().await.expect("json");
    assert_eq!(models["object"], "list");
    assert_eq!(
        models["data"][0],
        json!({"id": "gpt-4o", "object": "model", "created": 1_715_367_049, "owned_by": "system"})
    );
    assert_eq!(get(&m, "/v1/nothing").await.status(), 404);

    let all = m.requests();
    assert_eq!(
        all.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        [
            "/openai/deployments/x/chat/completions",
            "/v1/models",
            "/v1/nothing"
        ]
    );
    let chats = m.chat_requests();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].method, "POST");
    assert_eq!(chats[0].header("x-trace"), Some("abc"));
    assert_eq!(chats[0].header("CONTENT-TYPE"), Some("application/json"));
    assert_eq!(chats[0].body["messages"][0]["content"], "hi");
    assert_eq!(
        serde_json::from_slice::<Value>(&chats[0].raw_body).expect("json"),
        chats[0].body
    );
}
