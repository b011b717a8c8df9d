//! Pieces of OpenAI chat messages read and written by the routes that convert between chat and another API
//! (Anthropic Messages, Responses, Gemini): an answer's choices, a message's tool calls and their fields, and text
//! parts.

use serde_json::{Value, json};

/// The choices of a chat completion or of one stream chunk (none when it has none).
pub fn choices(answer: &Value) -> impl Iterator<Item = &Value> {
    answer
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The tool calls of a chat message (none without a message, or when it has none).
pub fn tool_calls(message: Option<&Value>) -> impl Iterator<Item = &Value> {
    message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A chat message's tool call as (id, function name, arguments), each empty when absent.
pub fn tool_call_fields(call: &Value) -> (&str, &str, &str) {
    let s = |p: &str| call.pointer(p).and_then(Value::as_str).unwrap_or_default();
    (s("/id"), s("/function/name"), s("/function/arguments"))
}

/// A chat text part holding `block`'s text `field` (empty when it has none).
pub fn text_part(block: &Value, field: &str) -> Value {
    let text = block.get(field).and_then(Value::as_str).unwrap_or_default();
    json!({"type": "text", "text": text})
}
