//! SSE decoding of a realistic OpenAI stream: 40 events (role, 36 content deltas, finish, usage, `[DONE]`), fed to
//! [`SseDecoder`] the way a socket hands them over: one event per read (a paced upstream), 1460-byte segments
//! (one TCP MSS) and one 16 KiB read (a burst).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use providers::sse::SseDecoder;
use std::hint::black_box;
use words::WORDS;

#[path = "common/words.rs"]
mod words;

/// The OpenAI stream as the upstream writes it, one `Vec` per event.
fn openai_events() -> Vec<Vec<u8>> {
    let head = r#""id":"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1""#;
    let mut events = vec![format!(
        r#"data: {{{head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":"","refusal":null}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
    )];
    for i in 0..36 {
        let word = WORDS[i % WORDS.len()];
        events.push(format!(
            r#"data: {{{head},"choices":[{{"index":0,"delta":{{"content":"{word}"}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
        ));
    }
    events.push(format!(
        r#"data: {{{head},"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],"usage":null}}"#
    ));
    events.push(format!(
        r#"data: {{{head},"choices":[],"usage":{{"prompt_tokens":812,"completion_tokens":36,"total_tokens":848,"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}}}"#
    ));
    events.push("data: [DONE]".to_owned());
    events
        .into_iter()
        .map(|e| format!("{e}\n\n").into_bytes())
        .collect()
}

/// Pushes every read into a decoder and drains the events after each; returns how many came out.
fn decode(reads: &[&[u8]]) -> usize {
    let mut dec = SseDecoder::default();
    let mut n = 0;
    for read in reads {
        dec.push(read);
        while let Ok(Some(ev)) = dec.next_event() {
            black_box(&ev);
            n += 1;
        }
    }
    n
}

fn bench_sse(c: &mut Criterion) {
    let events = openai_events();
    assert_eq!(events.len(), 40);
    let whole: Vec<u8> = events.concat();
    let per_event: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    let segments: Vec<&[u8]> = whole.chunks(1460).collect();
    let burst: Vec<&[u8]> = whole.chunks(16 * 1024).collect();
    for reads in [&per_event, &segments, &burst] {
        assert_eq!(decode(reads), 40);
    }

    let mut group = c.benchmark_group("sse_decode_openai_40_events");
    group.throughput(Throughput::Bytes(whole.len() as u64));
    for (name, reads) in [
        ("one_event_per_read", &per_event),
        ("1460_byte_reads", &segments),
        ("16k_reads", &burst),
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(name), reads, |b, reads| {
            b.iter(|| decode(black_box(reads)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sse);
criterion_main!(benches);
