//! The reservation estimate. Deliberately cheap (no tokenizer on the request path): text bytes / 3 bounds the token
//! count of English and CJK text from above, an image counts as a high-detail 1024² tile set. The settlement is
//! exact; the estimate only has to be a sensible upper bound.

use serde_json::{Map, Value};

const IMAGE_TOKENS: u64 = 1105;
const PER_MESSAGE_TOKENS: u64 = 4;

pub fn prompt_tokens(body: &Map<String, Value>) -> u64 {
    let mut bytes = 0u64;
    let mut extra = 3u64;
    if let Some(Value::Array(messages)) = body.get("messages") {
        for m in messages {
            extra += PER_MESSAGE_TOKENS;
            let Some(m) = m.as_object() else { continue };
            match m.get("content") {
                Some(Value::String(s)) => bytes += s.len() as u64,
                Some(Value::Array(parts)) => {
                    for p in parts {
                        match p.get("type").and_then(Value::as_str) {
                            Some("image_url" | "input_image") => extra += IMAGE_TOKENS,
                            _ => {
                                bytes += p
                                    .get("text")
                                    .and_then(Value::as_str)
                                    .map_or(0, |t| t.len() as u64)
                            }
                        }
                    }
                }
                _ => {}
            }
            if let Some(calls) = m.get("tool_calls") {
                bytes += json_len(calls);
            }
        }
    }
    for field in ["tools", "functions"] {
        if let Some(v) = body.get(field) {
            bytes += json_len(v);
        }
    }
    bytes.div_ceil(3) + extra
}

fn json_len(v: &Value) -> u64 {
    serde_json::to_vec(v).map_or(0, |b| b.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_do_not_count_their_base64() {
        let big = "A".repeat(300_000);
        let body = json!({"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},
            {"type":"image_url","image_url":{"url":format!("data:image/png;base64,{big}")}}]}]});
        let n = prompt_tokens(body.as_object().unwrap());
        assert!(n < 2000, "{n}");
        assert!(n > IMAGE_TOKENS);
    }

    #[test]
    fn text_bounds_tokens_from_above() {
        let body =
            json!({"messages":[{"role":"user","content":"Hello there, how are you today?"}]});
        assert!(prompt_tokens(body.as_object().unwrap()) >= 10);
    }
}
