//! Any upstream byte stream, split at any point: the SSE decoder must never panic, and splitting must not change
//! the events it yields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use providers::sse::SseDecoder;

fn decode(parts: &[&[u8]]) -> Vec<(Option<String>, Vec<u8>)> {
    let mut d = SseDecoder::default();
    let mut out = Vec::new();
    for p in parts {
        d.push(p);
        while let Ok(Some(ev)) = d.next_event() {
            out.push((ev.event, ev.data.to_vec()));
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let split = usize::from(data[0]) % data.len();
    let body = &data[1..];
    let split = split.min(body.len());
    let whole = decode(&[body]);
    let halves = decode(&[&body[..split], &body[split..]]);
    assert_eq!(whole, halves);
});
