//! Streams: a key holder reads what the upstream streams and leaves (or the upstream resets) before the usage
//! arrives, hoping to pay for one token; an upstream that ignores the output limit streams past what was held; a
//! usage object riding on a chunk with `choices` (LiteLLM) leaks to a client that did not ask for it.

use crate::harness::*;
use futures::{Stream, StreamExt};
use gateway::billing::tokenizer;
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};
use std::time::Duration;

const CLAUDE: &str = "claude-3-5-sonnet-20240620";

/// The usual deployment plus an Anthropic channel (relayed natively on `/v1/messages`) on mock 1.
fn toml() -> String {
    const CLAUDE_CHANNEL: &str = concat!(
        channel_toml!(
            "claude",
            "anthropic",
            1,
            "anthropic-upstream-key",
            ["claude-3-5-sonnet-20240620"]
        ),
        price_toml!("claude-3-5-sonnet-20240620", 3000000, 15000000),
    );
    format!("{BASE_TOML}{CLAUDE_CHANNEL}")
}

/// A gateway in front of an OpenAI mock (0) and an Anthropic mock (1). The idle timeout is long, so a stalled
/// upstream ends only when the client leaves.
async fn start() -> (Gw, MockUpstream, MockUpstream) {
    let openai = MockUpstream::start().await.unwrap();
    let anthropic = MockUpstream::start().await.unwrap();
    let gw = Gw::start(&toml(), &[&openai, &anthropic], |s| {
        s.upstream_idle_timeout = Duration::from_secs(60);
    })
    .await;
    (gw, openai, anthropic)
}

async fn post(gw: &Gw, path: &str, body: &Value) -> reqwest::Response {
    gw.http
        .post(gw.url(path))
        .bearer_auth(KEY)
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn claude_request(max_tokens: u64) -> Value {
    json!({"model": CLAUDE, "max_tokens": max_tokens, "stream": true,
        "messages": [{"role": "user", "content": "tell me a long story"}]})
}

fn chat_request(extra: Value) -> Value {
    let mut r = json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "tell me a long story"}]});
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(extra.clone());
    }
    r
}

/// The text an event delivers: Anthropic text, tool input and thinking; chat content and reasoning.
fn delivered_text(data: &Value) -> Option<String> {
    [
        "/delta/text",
        "/delta/partial_json",
        "/delta/thinking",
        "/choices/0/delta/content",
        "/choices/0/delta/reasoning_content",
    ]
    .iter()
    .filter_map(|p| data.pointer(p).and_then(Value::as_str))
    .find(|t| !t.is_empty())
    .map(str::to_owned)
}

/// Reads SSE `data:` payloads until `pieces` of delivered text have arrived; returns that text.
async fn read_pieces(
    body: &mut (impl Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    pieces: usize,
) -> String {
    let (mut buf, mut text, mut seen) = (String::new(), String::new(), 0);
    while seen < pieces {
        let chunk = body.next().await.unwrap().unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let data = event.lines().find_map(|l| l.strip_prefix("data: "));
            let parsed = data.and_then(|d| serde_json::from_str::<Value>(d).ok());
            if let Some(t) = parsed.as_ref().and_then(delivered_text) {
                text.push_str(&t);
                seen += 1;
            }
        }
    }
    text
}

/// Every `data:` payload of a whole SSE body.
async fn all_data(resp: reqwest::Response) -> Vec<String> {
    sse_data(&resp.text().await.unwrap())
}

/// Waits until the gateway dropped the upstream stream, at most `secs` (it notices a client that left within a
/// few seconds; a cut at the hold drops it at once).
async fn wait_upstream_closed(mock: &MockUpstream, secs: u64) {
    let closed = || async { (mock.open_streams() == 0).then_some(()) };
    eventually_some(
        Duration::from_secs(secs),
        "the upstream stream dropped",
        closed,
    )
    .await;
}

/// ceil(prompt × 2.5 + completion × 10): gpt-4o at the harness's prices.
fn gpt4o_cost(prompt: i64, completion: i64) -> i64 {
    (prompt * 2_500_000 + completion * 10_000_000 + 999_999) / 1_000_000
}

fn prompt_tokens(model: &str, body: &Value) -> i64 {
    tokenizer::count_prompt(model, body.as_object().unwrap()) as i64
}

const STORY: &str = "Once upon a time a fox found a well. The water was deep and cold, and the moon lay in it \
                     like a coin. The fox leaned over, and leaned further, and wondered how to reach it.";

/// Reads `pieces` text deltas of a native Anthropic stream, leaves (or has the upstream reset), and checks the
/// bill is the input of `message_start` plus the tokenizer's count of exactly what was delivered.
async fn claude_stream_ended_after(reply: Reply, head_events: usize, pieces: usize, reset: bool) {
    let (gw, _, anthropic) = start().await;
    anthropic.set_default(Behavior::Reply(reply));
    let events = head_events + pieces;
    anthropic.push(if reset {
        Behavior::CutAfter { events }
    } else {
        Behavior::StallAfter { events }
    });
    let resp = post(&gw, "/v1/messages", &claude_request(4000)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let mut body = resp.bytes_stream();
    let delivered = read_pieces(&mut body, pieces).await;
    if reset {
        while body.next().await.is_some() {}
    }
    drop(body);
    wait_upstream_closed(&anthropic, 15).await;
    let row = gw.log_for(&rid).await;
    let counted = tokenizer::count_text(CLAUDE, &delivered) as i64;
    assert!(counted > 1, "{delivered:?}");
    assert_eq!(row.status, if reset { 502 } else { 499 }, "{row:?}");
    assert_eq!((row.prompt_tokens, row.completion_tokens), (900, counted));
    assert_eq!(row.cost, 900 * 3 + counted * 15);
    let key = gw.key("alice", "alice-key").await;
    assert_eq!((key.spent, key.reserved), (row.cost, 0));
    gw.stop().await;
}

#[tokio::test]
async fn messages_stream_left_before_message_delta_pays_for_every_delivered_delta() {
    // message_start, ping, content_block_start, then 6 of the 12 text deltas.
    let reply = Reply::text(STORY).usage(900, 4000).pieces(12);
    claude_stream_ended_after(reply, 3, 6, false).await;
}

#[tokio::test]
async fn messages_stream_reset_by_the_upstream_pays_for_every_delivered_delta() {
    let reply = Reply::text(STORY).usage(900, 4000).pieces(12);
    claude_stream_ended_after(reply, 3, 6, true).await;
}

#[tokio::test]
async fn messages_stream_left_during_thinking_pays_for_the_thinking() {
    // message_start, ping, the thinking block's start, then 5 of its 10 thinking deltas.
    let reply = Reply::text("The fox never got the moon.")
        .reasoning(STORY)
        .usage(900, 4000)
        .pieces(10);
    claude_stream_ended_after(reply, 3, 5, false).await;
}

#[tokio::test]
async fn chat_stream_left_during_reasoning_pays_for_the_reasoning() {
    let (gw, openai, _) = start().await;
    let reply = Reply::text("The fox never got the moon.")
        .reasoning(STORY)
        .usage(9, 4000)
        .pieces(10);
    openai.set_default(Behavior::Reply(reply));
    // The role chunk, then 4 of the 10 reasoning_content deltas; the usage would come at the end.
    openai.push(Behavior::StallAfter { events: 5 });
    let request = chat_request(json!({}));
    let resp = post(&gw, "/v1/chat/completions", &request).await;
    let rid = request_id(&resp);
    let mut body = resp.bytes_stream();
    let delivered = read_pieces(&mut body, 4).await;
    drop(body);
    wait_upstream_closed(&openai, 15).await;
    let row = gw.log_for(&rid).await;
    let counted = tokenizer::count_text("gpt-4o", &delivered) as i64;
    let prompt = prompt_tokens("gpt-4o", &request);
    assert!(counted > 1, "{delivered:?}");
    assert_eq!(row.status, 499);
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens),
        (prompt, counted)
    );
    assert_eq!(row.cost, gpt4o_cost(prompt, counted));
    assert_eq!(gw.key("alice", "alice-key").await.spent, row.cost);
    gw.stop().await;
}

/// 5,000 tokens (" fox" is one token), in 1,000 deltas of 5, 5 ms apart: 5 s of output unless the gateway drops
/// the upstream.
fn endless() -> Reply {
    Reply::text(&" fox".repeat(5000))
        .usage(9, 5000)
        .pieces(1000)
        .delay_ms(5)
}

#[tokio::test]
async fn chat_stream_past_max_tokens_is_cut_at_the_hold() {
    let (gw, openai, _) = start().await;
    assert_eq!(tokenizer::count_text("gpt-4o", &" fox".repeat(5000)), 5000);
    for include_usage in [false, true] {
        openai.push(Behavior::Reply(endless()));
        let request = chat_request(json!({"max_tokens": 50,
            "stream_options": {"include_usage": include_usage}}));
        let resp = post(&gw, "/v1/chat/completions", &request).await;
        let rid = request_id(&resp);
        let data = all_data(resp).await;
        wait_upstream_closed(&openai, 2).await;
        let chunks: Vec<Value> = data
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        let text: String = chunks.iter().filter_map(delivered_text).collect();
        assert_eq!(
            text,
            " fox".repeat(50),
            "the client gets what was held, no more"
        );
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        let finishes: Vec<&Value> = chunks
            .iter()
            .map(|c| &c["choices"][0]["finish_reason"])
            .filter(|f| !f.is_null())
            .collect();
        assert_eq!(finishes, [&json!("length")]);
        let prompt = prompt_tokens("gpt-4o", &request);
        let usage: Vec<&Value> = chunks.iter().filter(|c| c["usage"].is_object()).collect();
        if include_usage {
            assert_eq!(usage.len(), 1, "{data:?}");
            assert_eq!(usage[0]["usage"]["completion_tokens"], 50);
            assert_eq!(usage[0]["usage"]["prompt_tokens"], prompt);
        } else {
            assert!(usage.is_empty(), "{data:?}");
        }
        let row = gw.log_for(&rid).await;
        assert_eq!((row.status, row.completion_tokens), (200, 50), "{row:?}");
        assert_eq!(row.cost, gpt4o_cost(prompt, 50));
        assert!(row.error.unwrap().contains("output limit"));
    }
    gw.stop().await;
}

#[tokio::test]
async fn messages_stream_past_max_tokens_is_cut_at_the_hold() {
    let (gw, _, anthropic) = start().await;
    anthropic.push(Behavior::Reply(endless().usage(900, 5000)));
    let resp = post(&gw, "/v1/messages", &claude_request(50)).await;
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    wait_upstream_closed(&anthropic, 2).await;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let events: Vec<Value> = sse_data(&text)
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    // Cut at the hold: the 50 tokens paid for are delivered, nothing more; the bill stops at the limit.
    let delivered: String = events.iter().filter_map(delivered_text).collect();
    assert_eq!(delivered, " fox".repeat(50));
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"]["output_tokens"], 50);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.completion_tokens), (900, 50));
    assert_eq!(row.cost, 900 * 3 + 50 * 15);
    assert_eq!(gw.key("alice", "alice-key").await.spent, row.cost);
    gw.stop().await;
}

#[tokio::test]
async fn plain_answer_past_max_tokens_is_charged_up_to_the_hold() {
    let (gw, openai, _) = start().await;
    openai.push(Behavior::Reply(
        Reply::text(&" fox".repeat(5000)).usage(9, 5000),
    ));
    let resp = gw
        .chat(json!({"model": "gpt-4o", "max_tokens": 50,
            "messages": [{"role": "user", "content": "tell me a long story"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.completion_tokens), (9, 50));
    assert_eq!(row.cost, gpt4o_cost(9, 50));
    assert_eq!(
        row.error.as_deref(),
        Some("upstream ignored the output limit (5000 > 50)")
    );
    gw.stop().await;
}

#[tokio::test]
async fn litellm_usage_on_a_choices_chunk_stays_hidden_from_a_client_that_did_not_ask() {
    let (gw, openai, _) = start().await;
    for ask in [None, Some(false), Some(true)] {
        openai.push(Behavior::Reply(
            Reply::text("Hello there").usage_on_last_choice(),
        ));
        let extra = match ask {
            Some(u) => json!({"stream_options": {"include_usage": u}}),
            None => json!({}),
        };
        let resp = post(&gw, "/v1/chat/completions", &chat_request(extra)).await;
        let rid = request_id(&resp);
        let data = all_data(resp).await;
        let chunks: Vec<Value> = data
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        assert!(chunks.len() >= 3, "{data:?}");
        let upstream = openai.chat_requests().last().unwrap().body.clone();
        assert_eq!(upstream["stream_options"]["include_usage"], true);
        let with_usage: Vec<&Value> = chunks.iter().filter(|c| c.get("usage").is_some()).collect();
        if ask == Some(true) {
            let last = chunks.last().unwrap();
            assert_eq!(last["usage"]["completion_tokens"], 12, "{data:?}");
            assert_eq!(last["choices"][0]["finish_reason"], "stop");
        } else {
            assert!(with_usage.is_empty(), "usage leaked: {data:?}");
        }
        let row = gw.log_for(&rid).await;
        assert_eq!((row.prompt_tokens, row.completion_tokens), (9, 12));
        assert_eq!(row.cost, DEFAULT_COST);
    }
    gw.stop().await;
}
