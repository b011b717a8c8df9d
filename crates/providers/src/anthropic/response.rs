//! Anthropic answers to OpenAI shapes: the non-streamed `message` to a `chat.completion`, plus the small mappings the
//! stream shares (finish reason, usage, ids) and error bodies to `UpstreamError`. Pure functions, no I/O.

use super::wire::{ContentBlock, ErrorEnvelope, Message, Usage};
use crate::error::{UpstreamError, UpstreamErrorKind};
use serde_json::{Value, json};

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
pub fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn, and anything newer
        _ => "stop",
    }
}

/// OpenAI `usage`. Anthropic's `input_tokens` counts only uncached input, so the prompt is the sum of all three.
pub fn usage_json(u: &Usage) -> Value {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_creation_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens.unwrap_or(0) + read + write;
    let completion = u.output_tokens.unwrap_or(0);
    let write_1h = u
        .cache_creation
        .and_then(|c| c.ephemeral_1h_input_tokens)
        .unwrap_or(0);
    let mut details = json!({ "cached_tokens": read });
    if write > 0 {
        details["cache_write_tokens"] = json!(write);
    }
    if write_1h > 0 {
        details["cache_write_1h_tokens"] = json!(write_1h);
    }
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    })
}

/// `chatcmpl-…` from Anthropic's `msg_…` id.
pub fn completion_id(msg_id: &str) -> String {
    format!("chatcmpl-{}", msg_id.strip_prefix("msg_").unwrap_or(msg_id))
}

/// OpenAI-ish `code` for an Anthropic error `type`; the type itself when nothing closer exists.
pub fn error_code(error_type: &str) -> &str {
    match error_type {
        "authentication_error" => "invalid_api_key",
        "permission_error" => "permission_denied",
        "billing_error" => "insufficient_quota",
        "rate_limit_error" => "rate_limit_exceeded",
        "overloaded_error" => "overloaded",
        "not_found_error" => "not_found",
        "api_error" => "server_error",
        other => other,
    }
}

/// HTTP status Anthropic uses for an error `type`; used for `error` events, which arrive inside a 200 stream.
pub fn error_status(error_type: &str) -> u16 {
    match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 502,
    }
}

/// An error answer (any status) as an `UpstreamError` carrying Anthropic's message and type.
pub fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
    let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) else {
        return UpstreamError::from_status(status, None);
    };
    let mut err = UpstreamError::from_status(status, env.error.message.as_deref());
    err.code = env.error.kind.as_deref().map(|t| error_code(t).to_owned());
    err.error_type = env.error.kind;
    err
}

/// Gives an error already built from an Anthropic body (e.g. by the OpenAI-shaped parser) its OpenAI-ish code.
pub(crate) fn with_anthropic_code(mut err: UpstreamError) -> UpstreamError {
    if err.code.is_none()
        && let Some(t) = err.error_type.as_deref()
    {
        err.code = Some(error_code(t).to_owned());
    }
    err
}

/// A 200 `message` body → OpenAI `chat.completion`. `created` is passed in so the mapping stays pure.
pub fn completion_from_message(body: &[u8], created: u64) -> Result<Value, UpstreamError> {
    let msg: Message = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(_) if serde_json::from_slice::<ErrorEnvelope>(body).is_ok() => {
            return Err(error_from_body(502, body));
        }
        Err(e) => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Protocol,
                format!("upstream answered 200 with a body that is not a message: {e}"),
            ));
        }
    };
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &msg.content {
        match block {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                reasoning.push_str(thinking);
                thinking_blocks.push(thinking_block(thinking, signature.as_deref()));
            }
            ContentBlock::RedactedThinking { data } => {
                thinking_blocks.push(json!({"type": "redacted_thinking", "data": data}));
            }
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(json!({
                "id": id,
                "type": "function",
                "function": { "name": name, "arguments": tool_arguments(input) },
            })),
            ContentBlock::Other => {}
        }
    }
    let mut message = json!({ "role": "assistant" });
    message["content"] = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    if !reasoning.is_empty() {
        message["reasoning_content"] = Value::String(reasoning);
    }
    if !thinking_blocks.is_empty() {
        message["thinking_blocks"] = Value::Array(thinking_blocks);
    }
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    Ok(json!({
        "id": completion_id(&msg.id),
        "object": "chat.completion",
        "created": created,
        "model": msg.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(msg.stop_reason.as_deref()),
        }],
        "usage": usage_json(&msg.usage),
    }))
}

/// A thinking block as an OpenAI-format message carries it back (`thinking_blocks`, LiteLLM's field), so the client
/// can send it again with the tool results.
pub fn thinking_block(thinking: &str, signature: Option<&str>) -> Value {
    json!({"type": "thinking", "thinking": thinking, "signature": signature.unwrap_or_default()})
}

/// A tool's `input` as the JSON text OpenAI puts in `arguments` (`{}` when Anthropic sent nothing).
fn tool_arguments(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        v => v.to_string(),
    }
}
