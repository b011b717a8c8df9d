//! OpenAI chat answers → Gemini: a `chat.completion` → a `GenerateContentResponse`, and the pieces the stream
//! encoder shares (finish reasons, usage, function calls as parts).

use crate::error::ApiError;
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
    let choices = completion.get("choices").and_then(Value::as_array);
    let candidates: Vec<Value> = choices.into_iter().flatten().map(candidate).collect();
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

fn candidate(choice: &Value) -> Value {
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let text = |f: &str| {
        message
            .get(f)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let mut parts = Vec::new();
    if let Some(thought) = text("reasoning_content") {
        parts.push(json!({"text": thought, "thought": true}));
    }
    if let Some(content) = text("content") {
        parts.push(json!({"text": content}));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let s = |p: &str| call.pointer(p).and_then(Value::as_str).unwrap_or_default();
        parts.push(function_call_part(
            s("/id"),
            s("/function/name"),
            s("/function/arguments"),
        ));
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
