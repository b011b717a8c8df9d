//! Any client-supplied `data:` URL: decoding and media-type sniffing must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = providers::media::decode_data_url(s);
        let _ = providers::media::sniff(data);
    }
});
