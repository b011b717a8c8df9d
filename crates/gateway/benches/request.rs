//! What the relay does to a typical 2 KB chat body before it goes upstream, step by step as in
//! `relay::pipeline::run`, `relay::attempt::call` and the OpenAI adapter: parse the bytes into a JSON object
//! (`http::body::parse_object`), validate the fields Tollgate reads (`ChatRequestHead::from_object`), estimate the
//! prompt for the reservation (`billing::estimate::prompt_tokens`), force `stream_options.include_usage` on a stream,
//! set the upstream model, and encode the object again for the upstream.

#![expect(
    clippy::expect_used,
    reason = "benchmark set-up: a failure there is a broken benchmark"
)]

use api_types::chat::ChatRequestHead;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gateway::billing::estimate;
use gateway::http::body::parse_object;
use serde_json::{Map, Value, json};
use std::hint::black_box;

/// Shared with the `providers` benchmarks, which send the same conversation to an Anthropic channel.
#[path = "../../providers/benches/common/travel.rs"]
mod travel;

/// A chat body as an SDK sends it: system prompt, a few turns with one tool round trip, a tool definition.
fn body(stream: bool) -> Vec<u8> {
    let mut body = json!({
        "model": "gpt-4o-mini",
        "messages": travel::messages(" Please also tell me whether the hotels have air conditioning."),
        "tools": travel::tools(),
        "tool_choice": "auto",
        "max_tokens": 512,
        "temperature": 0.7,
        "user": "customer-4711"
    });
    if stream && let Some(obj) = body.as_object_mut() {
        obj.insert("stream".to_owned(), Value::Bool(true));
    }
    serde_json::to_vec(&body).expect("encodes")
}

/// The whole rewrite: bytes in, upstream bytes out.
fn relay_rewrite(bytes: &[u8], upstream_model: &str) -> Vec<u8> {
    let mut request = parse_object(bytes).expect("a JSON object");
    let head = ChatRequestHead::from_object(&request).expect("a valid request");
    black_box(estimate::prompt_tokens(&request));
    if head.stream {
        let opts = request
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(o) = opts {
            o.insert("include_usage".to_owned(), Value::Bool(true));
        }
    }
    request.insert("model".to_owned(), Value::String(upstream_model.to_owned()));
    serde_json::to_vec(&request).expect("encodes")
}

fn bench_request(c: &mut Criterion) {
    for stream in [false, true] {
        let bytes = body(stream);
        assert!((1500..3000).contains(&bytes.len()), "{} bytes", bytes.len());
        let out = relay_rewrite(&bytes, "gpt-4o-mini-2024-07-18");
        let needle = b"\"include_usage\":true";
        assert_eq!(out.windows(needle.len()).any(|w| w == needle), stream);
        let request = parse_object(&bytes).expect("a JSON object");
        let kind = if stream { "stream" } else { "plain" };

        let mut group = c.benchmark_group("chat_body_2kb");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("parse_object", kind),
            &bytes,
            |b, bytes| {
                b.iter(|| parse_object(black_box(bytes)).expect("a JSON object"));
            },
        );
        group.bench_with_input(BenchmarkId::new("head", kind), &request, |b, request| {
            b.iter(|| ChatRequestHead::from_object(black_box(request)).expect("valid"));
        });
        group.bench_with_input(
            BenchmarkId::new("estimate_prompt", kind),
            &request,
            |b, request| {
                b.iter(|| estimate::prompt_tokens(black_box(request)));
            },
        );
        group.bench_with_input(BenchmarkId::new("encode", kind), &request, |b, request| {
            b.iter(|| serde_json::to_vec(black_box(request)).expect("encodes"));
        });
        group.bench_with_input(
            BenchmarkId::new("parse_rewrite_encode", kind),
            &bytes,
            |b, bytes| {
                b.iter(|| relay_rewrite(black_box(bytes), "gpt-4o-mini-2024-07-18"));
            },
        );
        group.finish();
    }
}

criterion_group!(benches, bench_request);
criterion_main!(benches);
