//! The token counting fallback, used at settlement only when an upstream reports no usage
//! (`billing::tokenizer`: tiktoken `o200k_base` for gpt-4o and newer, `cl100k_base` otherwise), next to the cheap
//! byte-based estimate that every request pays for its reservation (`billing::estimate`). Also the one-time load
//! of each vocabulary, which the first request that needs it pays.

#![expect(
    clippy::expect_used,
    reason = "benchmark set-up: a failure there is a broken benchmark"
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gateway::billing::{estimate, tokenizer};
use serde_json::{Map, Value, json};
use std::hint::black_box;

const ENGLISH: &str = "Both options fit your budget. I would recommend the first one: TP 443 leaves Lyon at 10:05 \
and lands in Lisbon at 11:20 local time, and Casa Alfama is a ten-minute walk from the castle, in the middle of the \
old town, with air conditioning in every room. Together the flights and five nights come to 1,192 euros for two. \
A guided day trip to Sintra with hotel pick-up costs about 75 euros per person, including the Pena Palace ticket, \
which brings the total to 1,342 euros and leaves some room for dinners. The second option is slightly cheaper on the \
flight but the hotel is in Baixa, which is livelier and noisier at night. Shall I hold the first option for you? \
The price is guaranteed for 24 hours once reserved, and you can cancel free of charge until then.";

const CHINESE: &str = "两个方案都在您的预算之内。我推荐第一个方案：TP 443 航班上午十点零五分从里昂起飞，当地时间十一点二十分抵达\
里斯本；Casa Alfama 酒店位于老城中心，步行十分钟即可到达城堡，每个房间都有空调。机票加五晚住宿两人共计一千一百九十二欧元。\
辛特拉一日游含酒店接送，每人约七十五欧元，包括佩纳宫门票，总价为一千三百四十二欧元。第二个方案机票稍便宜，但酒店位于下城，\
晚上比较热闹。需要我为您保留第一个方案吗？预订后价格保证二十四小时有效，在此之前可以免费取消。";

fn chat_body() -> Map<String, Value> {
    json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant for a travel agency. Answer briefly and \
              politely, in the customer's language."},
            {"role": "user", "content": "Hello! I would like to travel from Lyon to Lisbon in the second week of \
              May with my partner. We prefer direct flights and a hotel close to the old town."},
            {"role": "assistant", "content": ENGLISH},
            {"role": "user", "content": "Which of the two options would you recommend, and what would the Sintra \
              day trip add to the total?"}
        ],
        "tools": [{"type": "function", "function": {"name": "search_trips",
            "description": "Search flights and hotels for a trip",
            "parameters": {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                "depart": {"type": "string", "format": "date"}}, "required": ["from", "to", "depart"]}}}]
    })
    .as_object()
    .cloned()
    .expect("an object")
}

fn bench_count(c: &mut Criterion) {
    // Load both vocabularies before measuring.
    assert!(tokenizer::count_text("gpt-4o", "warm up") > 0);
    assert!(tokenizer::count_text("gpt-3.5-turbo", "warm up") > 0);

    let mut group = c.benchmark_group("tokenizer_count_text");
    for (lang, text) in [("english", ENGLISH), ("chinese", CHINESE)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        for model in ["gpt-4o", "gpt-3.5-turbo"] {
            group.bench_with_input(
                BenchmarkId::new(model, format!("{lang}_{}b", text.len())),
                text,
                |b, text| b.iter(|| tokenizer::count_text(model, black_box(text))),
            );
        }
    }
    group.finish();

    let body = chat_body();
    let size = serde_json::to_vec(&body).expect("encodes").len();
    let mut group = c.benchmark_group("prompt_tokens");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("tiktoken_count_prompt_gpt-4o", |b| {
        b.iter(|| tokenizer::count_prompt("gpt-4o", black_box(&body)));
    });
    group.bench_function("reservation_estimate", |b| {
        b.iter(|| estimate::prompt_tokens(black_box(&body)));
    });
    group.finish();
}

fn bench_vocab_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("tokenizer_vocab_load");
    group.sample_size(10);
    group.bench_function("o200k_base", |b| {
        b.iter(|| tiktoken_rs::o200k_base().expect("loads"));
    });
    group.bench_function("cl100k_base", |b| {
        b.iter(|| tiktoken_rs::cl100k_base().expect("loads"));
    });
    group.finish();
}

criterion_group!(benches, bench_count, bench_vocab_load);
criterion_main!(benches);
