//! Any sequence of Anthropic stream events: converting them to OpenAI chunks must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use providers::anthropic::stream::StreamState;

const NAMES: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

fuzz_target!(|data: &[u8]| {
    let mut state = StreamState::new(0);
    for chunk in data.split(|b| *b == 0xff) {
        let Some((first, rest)) = chunk.split_first() else { continue };
        let name = NAMES[usize::from(*first) % NAMES.len()];
        let _ = state.on_event(name, rest);
    }
});
