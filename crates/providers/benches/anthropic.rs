//! Anthropic conversion, the pure parts an `anthropic` channel adds to every request: an OpenAI chat request
//! (about 2 KB: system prompt, a few turns, one tool) to a Messages request, a `message` answer back to a
//! `chat.completion`, and a 42-event Messages stream (36 text deltas) to OpenAI chunks, with and without the SSE
//! framing.

#![expect(
    clippy::expect_used,
    reason = "benchmark set-up: a failure there is a broken benchmark"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use providers::anthropic::convert::to_anthropic;
use providers::anthropic::response::completion_from_message;
use providers::anthropic::stream::StreamState;
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use providers::sse::SseDecoder;
use serde_json::{Map, Value, json};
use std::hint::black_box;
use words::WORDS;

#[path = "common/travel.rs"]
mod travel;
#[path = "common/words.rs"]
mod words;

fn chat_request() -> Map<String, Value> {
    let request = json!({
        "model": "claude-3-5-haiku-latest",
        "messages": travel::messages(""),
        "tools": travel::tools(),
        "tool_choice": "auto",
        "max_tokens": 512,
        "temperature": 0.7,
        "top_p": 0.95,
        "stop": ["\n\nCustomer:"],
        "user": "customer-4711",
        "stream": true,
        "stream_options": {"include_usage": true}
    });
    request
        .as_object()
        .cloned()
        .expect("the request literal is an object")
}

fn message_body() -> Vec<u8> {
    let text: String = (0..36).map(|i| WORDS[i % WORDS.len()]).collect();
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 812, "output_tokens": 36, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0}
    })
    .to_string()
    .into_bytes()
}

/// A Messages stream as Anthropic writes it: (event name, data).
fn stream_events() -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("message_start", json!({"type": "message_start", "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "content": [],
            "model": "claude-3-5-haiku-20241022", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 812, "output_tokens": 1, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0}}}).to_string()),
        ("ping", json!({"type": "ping"}).to_string()),
        ("content_block_start", json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}).to_string()),
    ];
    for i in 0..36 {
        out.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": WORDS[i % WORDS.len()]}})
            .to_string(),
        ));
    }
    out.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}).to_string(),
    ));
    out.push(("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 36}}).to_string()));
    out.push(("message_stop", json!({"type": "message_stop"}).to_string()));
    out
}

fn convert_stream(events: &[(&str, String)]) -> usize {
    let mut state = StreamState::new(1_732_000_000);
    let mut chunks = 0;
    for (name, data) in events {
        chunks += state
            .on_event(name, data.as_bytes())
            .map(|c| black_box(c).len())
            .unwrap_or(0);
    }
    chunks
}

fn decode_and_convert(reads: &[&[u8]]) -> usize {
    let mut dec = SseDecoder::default();
    let mut state = StreamState::new(1_732_000_000);
    let mut chunks = 0;
    for read in reads {
        dec.push(read);
        while let Ok(Some(ev)) = dec.next_event() {
            let name = ev.event.as_deref().unwrap_or_default();
            chunks += state
                .on_event(name, &ev.data)
                .map(|c| black_box(c).len())
                .unwrap_or(0);
        }
    }
    chunks
}

fn bench_request(c: &mut Criterion) {
    let media = MediaCache::new(MediaFetcher::new(MediaPolicy::default()).expect("media client"));
    let request = chat_request();
    let size = serde_json::to_vec(&request).expect("encode").len();
    let convert = |req: &Map<String, Value>| {
        futures::executor::block_on(to_anthropic(req, &media, false)).expect("converts")
    };
    assert!(convert(&request)["messages"].is_array());
    let mut group = c.benchmark_group("anthropic_request");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("chat_to_messages", |b| {
        b.iter(|| convert(black_box(&request)));
    });
    group.bench_function("chat_to_messages_encoded", |b| {
        b.iter(|| serde_json::to_vec(&convert(black_box(&request))).expect("encode"));
    });
    group.finish();
}

fn bench_response(c: &mut Criterion) {
    let body = message_body();
    let mut group = c.benchmark_group("anthropic_response");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("message_to_completion", |b| {
        b.iter(|| completion_from_message(black_box(&body), 1_732_000_000).expect("converts"));
    });
    group.finish();
}

fn bench_stream(c: &mut Criterion) {
    let events = stream_events();
    assert_eq!(events.len(), 42);
    // role chunk + 36 content chunks + finish chunk + usage chunk
    assert_eq!(convert_stream(&events), 39);
    let framed: Vec<Vec<u8>> = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n").into_bytes())
        .collect();
    let reads: Vec<&[u8]> = framed.iter().map(Vec::as_slice).collect();
    assert_eq!(decode_and_convert(&reads), 39);
    let bytes: usize = framed.iter().map(Vec::len).sum();

    let mut group = c.benchmark_group("anthropic_stream_42_events");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("events_to_openai_chunks", |b| {
        b.iter(|| convert_stream(black_box(&events)));
    });
    group.bench_function("sse_decode_and_convert", |b| {
        b.iter(|| decode_and_convert(black_box(&reads)));
    });
    group.finish();
}

criterion_group!(benches, bench_request, bench_response, bench_stream);
criterion_main!(benches);
