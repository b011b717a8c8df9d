//! Reading an answer's usage (the bill) and what the tokenizer counts when there is none.

use api_types::Usage;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The input texts as one user message: the shape the settlement's tokenizer fallback counts.
pub(super) fn prompt_as_messages(texts: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "messages".to_owned(),
        serde_json::json!([{"role": "user", "content": texts.join("\n")}]),
    );
    m
}

/// The elements of the array `v[key]` (none when it is missing or not an array).
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The text of a legacy completion's choices (to count when the upstream reports no usage).
pub(super) fn completion_text(answer: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(answer) else {
        return String::new();
    };
    let mut text = String::new();
    for c in items(&v, "choices") {
        text.push_str(c.get("text").and_then(Value::as_str).unwrap_or(""));
    }
    // A Responses answer: output message text, refusals, function-call arguments, reasoning summaries.
    for item in items(&v, "output") {
        text.push_str(item.get("arguments").and_then(Value::as_str).unwrap_or(""));
        let parts = ["content", "summary"]
            .into_iter()
            .filter_map(|k| item.get(k).and_then(Value::as_array))
            .flatten();
        for part in parts {
            for k in ["text", "refusal"] {
                text.push_str(part.get(k).and_then(Value::as_str).unwrap_or(""));
            }
        }
    }
    text
}

#[derive(Deserialize)]
struct Reported {
    usage: Option<ReportedUsage>,
}

#[derive(Deserialize)]
struct ReportedUsage {
    #[serde(default, alias = "input_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(default, alias = "output_tokens")]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// The usage the upstream reports: input tokens (`prompt_tokens` or `input_tokens`, else `total_tokens` —
/// embeddings, Jina-style rerank) and output tokens (completions; `output_tokens` of token-priced image models).
pub(super) fn reported_usage(answer: &[u8]) -> Option<Usage> {
    let usage = serde_json::from_slice::<Reported>(answer).ok()?.usage?;
    let completion = usage.completion_tokens.unwrap_or(0);
    let prompt = usage
        .prompt_tokens
        .or_else(|| usage.total_tokens.map(|t| t.saturating_sub(completion)))
        .unwrap_or(0);
    (prompt + completion > 0).then(|| Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reported_usage() {
        let tokens = |b: &[u8]| reported_usage(b).map(|u| (u.prompt_tokens, u.completion_tokens));
        assert_eq!(
            tokens(br#"{"usage":{"prompt_tokens":7,"total_tokens":7}}"#),
            Some((7, 0))
        );
        assert_eq!(tokens(br#"{"usage":{"total_tokens":5}}"#), Some((5, 0)));
        assert_eq!(
            tokens(br#"{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#),
            Some((3, 4))
        );
        assert_eq!(tokens(br#"{"data":[]}"#), None);
    }
}
