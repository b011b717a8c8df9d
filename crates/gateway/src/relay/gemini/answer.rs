//! OpenAI chat answers → Gemini: a `chat.completion` → a `GenerateContentResponse`, and the pieces the stream
//! encoder shares (finish reasons, usage, function calls as parts).

use crate::error::ApiError;
use crate::relay::chat_parts::{choices, tool_call_fields, tool_calls};
use serde_json::{Map, Value, json};

/// OpenAI `finish_reason` → Gemini `finishReason` (Gemini says `STOP` after function calls too).
pub fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP",
    }
}

/// OpenAI `usage` → `usageMetadata`: reasoning tokens are Gemini's thoughts, the rest of the output its
/// candidates.
pub fn usage_metadata(usage: &Value) -> Value {
    let n = |p: &str| usage.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (prompt, completion) = (n("/prompt_tokens"), n("/completion_tokens"));
    let thoughts = n("/completion_tokens_details/reasoning_tokens").min(completion);
    let mut meta = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion - thoughts,
        "totalTokenCount": prompt + completion,
    });
    for (name, count) in [
        ("thoughtsTokenCount", thoughts),
        (
            "cachedContentTokenCount",
            n("/prompt_tokens_details/cached_tokens"),
        ),
    ] {
        if count > 0 {
            meta[name] = Value::from(count);
        }
    }
    meta
}

/// An OpenAI tool call (`{id, function: {name, arguments}}`) → a `functionCall` part. Arguments that are not a
/// JSON object (a model's broken output) are kept as `{"arguments": "<text>"}` rather than lost.
pub fn function_call_part(id: &str, name: &str, arguments: &str) -> Value {
    let args = match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) => Value::Object(o),
        _ if arguments.trim().is_empty() => json!({}),
        _ => json!({"arguments": arguments}),
    };
    json!({"functionCall": {"id": id, "name": name, "args": args}})
}

/// A `chat.completion` body → a `GenerateContentResponse` naming `model` (the client's) and `response_id`.
pub fn to_gemini(body: &[u8], model: &str, response_id: &str) -> Result<Value, ApiError> {
    let completion: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::Internal("the chat answer is not JSON".to_owned()))?;
    let candidates: Vec<Value> = choices(&completion).map(candidate).collect();
    let mut out = json!({
        "candidates": candidates,
        "modelVersion": model,
        "responseId": response_id,
    });
    if let Some(usage) = completion.get("usage").filter(|u| u.is_object()) {
        out["usageMetadata"] = usage_metadata(usage);
    }
    Ok(out)
}

/// A chat message's (or a stream delta's) text as Gemini parts: its reasoning as a thought, then its content; an
/// empty text makes no part.
pub fn text_parts(message: &Value) -> Vec<Value> {
    let text = |f: &str| {
        message
            .get(f)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let thought = text("reasoning_content").map(|t| json!({"text": t, "thought": true}));
    let content = text("content").map(|t| json!({"text": t}));
    thought.into_iter().chain(content).collect()
}

fn candidate(choice: &Value) -> Value {
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut parts = text_parts(&message);
    for call in tool_calls(Some(&message)) {
        let (id, name, arguments) = tool_call_fields(call);
        parts.push(function_call_part(id, name, arguments));
    }
    let mut c = Map::new();
    c.insert(
        "content".to_owned(),
        json!({"role": "model", "parts": parts}),
    );
    let reason = choice.get("finish_reason").and_then(Value::as_str);
    c.insert(
        "finishReason".to_owned(),
        Value::from(finish_reason(reason.unwrap_or("stop"))),
    );
    c.insert(
        "index".to_owned(),
        choice.get("index").cloned().unwrap_or(Value::from(0)),
    );
    Value::Object(c)
}
