//! Streams: relayed chunk by chunk, usage asked for and stripped, errors after the first byte, client disconnects.

use crate::harness::*;
use crate::support::replying;
use futures::StreamExt;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn stream_req(include_usage: Option<bool>) -> Value {
    let mut r = json!({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]});
    if let Some(u) = include_usage {
        r["stream_options"] = json!({"include_usage": u});
    }
    r
}

#[tokio::test]
async fn chunks_arrive_as_they_are_produced() {
    let (gw, _mock) = replying(Reply::text("one two three four").pieces(4).delay_ms(250)).await;
    let started = Instant::now();
    let resp = gw.chat(stream_req(None)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert!(resp.headers().contains_key("x-request-id"));
    let mut body = resp.bytes_stream();
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        arrivals.push(started.elapsed());
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let total = started.elapsed();
    assert!(total >= Duration::from_millis(1000), "{total:?}");
    // The first content must reach the client long before the stream ends: nothing is buffered whole.
    assert!(
        arrivals[0] + Duration::from_millis(600) < total,
        "{arrivals:?} / {total:?}"
    );
    let data = sse_data(&text);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let joined = streamed_content(&data[..data.len() - 1]);
    assert_eq!(joined, "one two three four");
    gw.stop().await;
}

#[tokio::test]
async fn usage_chunk_is_requested_and_stripped_unless_asked() {
    let (gw, mock) = Gw::default().await;
    for ask in [None, Some(false), Some(true)] {
        let resp = gw.chat(stream_req(ask)).await;
        let rid = request_id(&resp);
        let data = sse_data(&resp.text().await.unwrap());
        let usage_chunks: Vec<Value> = data
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter(|c| {
                c["choices"].as_array().is_some_and(Vec::is_empty) && c["usage"].is_object()
            })
            .collect();
        if ask == Some(true) {
            assert_eq!(usage_chunks.len(), 1, "{data:?}");
            assert_eq!(usage_chunks[0]["usage"]["completion_tokens"], 12);
        } else {
            assert!(usage_chunks.is_empty(), "{data:?}");
        }
        let up = mock.chat_requests().last().unwrap().body.clone();
        assert_eq!(
            up["stream_options"]["include_usage"], true,
            "gateway always asks upstream"
        );
        let row = gw.log_for(&rid).await;
        assert_eq!(
            (row.prompt_tokens, row.completion_tokens, row.cost),
            (9, 12, DEFAULT_COST)
        );
        assert!(row.stream);
        assert_eq!(row.status, 200);
    }
    gw.stop().await;
}

#[tokio::test]
async fn streamed_tool_calls_keep_their_indexes() {
    let (gw, _mock) =
        replying(Reply::tool_call("a", r#"{"x":1}"#).and_tool_call("b", r#"{"y":2}"#)).await;
    let data = sse_data(&gw.chat(stream_req(None)).await.text().await.unwrap());
    let mut args = [String::new(), String::new()];
    for d in &data[..data.len() - 1] {
        let c: Value = serde_json::from_str(d).unwrap();
        for call in c["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = call["index"].as_u64().unwrap() as usize;
            args[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(args, [r#"{"x":1}"#.to_owned(), r#"{"y":2}"#.to_owned()]);
    gw.stop().await;
}

#[tokio::test]
async fn failure_after_first_byte_ends_with_an_error_event_and_no_retry() {
    let first = MockUpstream::start().await.unwrap();
    let second = MockUpstream::start().await.unwrap();
    let toml = format!(
        "{BASE_TOML}\n[[channels]]\nname = \"backup\"\nkind = \"openai\"\nbase_url = \"{{MOCK1}}\"\nkeys = [\"b\"]\nmodels = [\"gpt-4o\"]\npriority = -1\n"
    );
    let gw = Gw::start(&toml, &[&first, &second], |_| {}).await;
    first.push(Behavior::CutAfter { events: 3 });
    let resp = gw.chat(stream_req(None)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let data = sse_data(&resp.text().await.unwrap());
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{data:?}");
    assert_ne!(data.last().unwrap(), "[DONE]");
    assert!(
        second.chat_requests().is_empty(),
        "no retry once bytes reached the client"
    );
    let row = gw.log_for(&rid).await;
    assert_eq!(row.status, 502);
    assert!(
        row.completion_tokens > 0,
        "what was delivered is billed: {row:?}"
    );
    assert!(row.cost > 0 && row.cost < DEFAULT_COST, "{row:?}");
    assert_eq!(gw.key("alice", "alice-key").await.reserved, 0);
    gw.stop().await;
}

#[tokio::test]
async fn idle_upstream_stream_is_cut_by_the_idle_timeout() {
    let (gw, mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.upstream_idle_timeout = Duration::from_secs(1)
    })
    .await;
    mock.push(Behavior::StallAfter { events: 2 });
    let started = Instant::now();
    let resp = gw.chat(stream_req(None)).await;
    let data = sse_data(&resp.text().await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(4));
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_timeout", "{data:?}");
    gw.stop().await;
}

#[tokio::test]
async fn client_disconnect_cancels_upstream_and_bills_what_was_delivered() {
    let (gw, mock) = replying(Reply::text("a b c d e f g h i j").pieces(10).delay_ms(200)).await;
    let resp = gw.chat(stream_req(None)).await;
    let rid = request_id(&resp);
    let mut body = resp.bytes_stream();
    let mut got = String::new();
    while !got.contains("\"b") {
        got.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    assert_eq!(mock.open_streams(), 1);
    drop(body);
    let cancelled = || async { (mock.open_streams() == 0).then_some(()) };
    eventually_some(
        Duration::from_secs(3),
        "the upstream request cancelled",
        cancelled,
    )
    .await;
    let row = gw.log_for(&rid).await;
    assert_eq!(row.status, 499);
    assert!(
        row.completion_tokens >= 1 && row.completion_tokens < 12,
        "{row:?}"
    );
    assert!(row.cost > 0, "{row:?}");
    let key = gw.key("alice", "alice-key").await;
    assert_eq!(key.reserved, 0);
    assert_eq!(key.spent, row.cost);
    gw.stop().await;
}

#[tokio::test]
async fn usage_chunk_is_synthesised_when_the_upstream_sends_none() {
    let (gw, _mock) = replying(Reply::text("Hello world, this is a test.").no_usage()).await;
    let resp = gw.chat(stream_req(Some(true))).await;
    let rid = request_id(&resp);
    let data = sse_data(&resp.text().await.unwrap());
    assert_eq!(data.last().unwrap(), "[DONE]");
    let usage: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["object"], "chat.completion.chunk");
    assert!(usage["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(usage["usage"]["completion_tokens"], 8);
    let row = gw.log_for(&rid).await;
    assert_eq!(row.completion_tokens, 8);
    assert_eq!(
        row.prompt_tokens,
        usage["usage"]["prompt_tokens"].as_i64().unwrap()
    );
    gw.stop().await;
}
