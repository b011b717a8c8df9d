//! Any request body: parsing and validating the chat fields Tollgate reads must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = api_types::chat::ChatRequestHead::from_object(&obj);
    }
});
