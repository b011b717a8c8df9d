//! Exact token counts with tiktoken, used only when an upstream reports no usage: `o200k_base` for the gpt-4o
//! family and newer, `cl100k_base` otherwise. The vocabularies are loaded once, on first use.

use serde_json::{Map, Value};
use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn bpe_for(model: &str) -> Option<&'static CoreBPE> {
    let modern = [
        "gpt-4o",
        "chatgpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "o1",
        "o3",
        "o4",
    ]
    .iter()
    .any(|p| model.starts_with(p));
    if modern {
        O200K
            .get_or_init(|| tiktoken_rs::o200k_base().ok())
            .as_ref()
    } else {
        CL100K
            .get_or_init(|| tiktoken_rs::cl100k_base().ok())
            .as_ref()
    }
}

pub fn count_text(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    match bpe_for(model) {
        Some(bpe) => bpe.encode_with_special_tokens(text).len() as u64,
        None => (text.len() as u64).div_ceil(4), // vocabulary failed to load: a plain estimate beats charging 0
    }
}

/// Prompt tokens the way OpenAI counts chat input: 3 per message plus its text, 3 to prime the reply, 85 per image.
pub fn count_prompt(model: &str, body: &Map<String, Value>) -> u64 {
    let mut total = 3;
    let mut text = String::new();
    if let Some(Value::Array(messages)) = body.get("messages") {
        for m in messages {
            total += 3;
            let Some(m) = m.as_object() else { continue };
            for field in ["role", "name"] {
                if let Some(Value::String(s)) = m.get(field) {
                    text.push_str(s);
                    text.push('\n');
                }
            }
            match m.get("content") {
                Some(Value::String(s)) => text.push_str(s),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        if let Some(t) = p.get("text").and_then(Value::as_str) {
                            text.push_str(t);
                        } else if p.get("type").and_then(Value::as_str) == Some("image_url") {
                            total += 85;
                        }
                    }
                }
                _ => {}
            }
            if let Some(calls) = m.get("tool_calls") {
                text.push_str(&calls.to_string());
            }
            text.push('\n');
        }
    }
    for field in ["tools", "functions"] {
        if let Some(v) = body.get(field) {
            text.push_str(&v.to_string());
        }
    }
    total + count_text(model, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(count_text("gpt-4o", "hello world"), 2);
        assert_eq!(count_text("gpt-3.5-turbo", "hello world"), 2);
        assert_eq!(count_text("gpt-4o", ""), 0);
    }
}
