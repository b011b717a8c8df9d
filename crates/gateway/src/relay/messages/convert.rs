//! Pure conversions between the Anthropic Messages API (what `/v1/messages` clients send and expect) and the OpenAI
//! chat objects the pipeline relays.

use crate::error::ApiError;
use crate::relay::chat_parts::{text_part, tool_calls};
use serde_json::{Map, Value, json};

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message, Some(param))
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_part(block: &Value) -> Result<Value, ApiError> {
    let source = block
        .get("source")
        .ok_or_else(|| bad("messages", "image block without `source`"))?;
    let field = |name: &str| source.get(name).and_then(Value::as_str);
    let url = match field("type") {
        Some("base64") => {
            let media = field("media_type").unwrap_or("image/png");
            let data =
                field("data").ok_or_else(|| bad("messages", "image source without `data`"))?;
            format!("data:{media};base64,{data}")
        }
        Some("url") => field("url")
            .ok_or_else(|| bad("messages", "image source without `url`"))?
            .to_owned(),
        other => {
            return Err(bad(
                "messages",
                format!("image source type {other:?} is not supported; use base64 or url"),
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// One Anthropic user turn → OpenAI messages: tool results first (they answer the previous assistant turn), then
/// the rest of the turn as a user message.
fn user_turn(content: &Value, out: &mut Vec<Value>) -> Result<(), ApiError> {
    let blocks = match content {
        Value::String(s) => {
            out.push(json!({"role": "user", "content": s}));
            return Ok(());
        }
        Value::Array(blocks) => blocks,
        _ => {
            return Err(bad(
                "messages",
                "`content` must be a string or an array of content blocks",
            ));
        }
    };
    let mut parts = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => parts.push(text_part(block, "text")),
            Some("image") => parts.push(image_part(block)?),
            Some("tool_result") => {
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("messages", "tool_result without `tool_use_id`"))?;
                let mut text = block.get("content").map(text_of).unwrap_or_default();
                if block.get("is_error").and_then(Value::as_bool) == Some(true)
                    && !text.starts_with("Error")
                {
                    text = format!("Error: {text}");
                }
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            Some(other) => {
                return Err(bad(
                    "messages",
                    format!("content block type `{other}` is not supported in user turns"),
                ));
            }
            None => return Err(bad("messages", "content block without `type`")),
        }
    }
    if !parts.is_empty() {
        let all_text = parts.iter().all(|p| p["type"] == "text");
        let content = if all_text {
            Value::String(
                parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        } else {
            Value::Array(parts)
        };
        out.push(json!({"role": "user", "content": content}));
    }
    Ok(())
}

fn assistant_turn(content: &Value, out: &mut Vec<Value>) -> Result<(), ApiError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    match content {
        Value::String(s) => text.push_str(s),
        Value::Array(blocks) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => text.push_str(
                        block
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    ),
                    Some("tool_use") => {
                        let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                        let name = block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                        calls.push(json!({"id": id, "type": "function",
                            "function": {"name": name, "arguments": input.to_string()}}));
                    }
                    // Reasoning blocks are the model's own; other providers cannot take them back.
                    Some("thinking" | "redacted_thinking") => {}
                    Some(other) => {
                        return Err(bad(
                            "messages",
                            format!(
                                "content block type `{other}` is not supported in assistant turns"
                            ),
                        ));
                    }
                    None => return Err(bad("messages", "content block without `type`")),
                }
            }
        }
        _ => {
            return Err(bad(
                "messages",
                "`content` must be a string or an array of content blocks",
            ));
        }
    }
    let mut msg = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) }});
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    out.push(msg);
    Ok(())
}

/// An Anthropic Messages request → an OpenAI chat object.
/// `thinking: {"type": "enabled", "budget_tokens"}` checked as Anthropic does (at least 1,024, below
/// `max_tokens`); `None` when thinking is not asked for.
fn thinking_budget(req: &Map<String, Value>, max_tokens: u64) -> Result<Option<u64>, ApiError> {
    let Some(thinking) = req.get("thinking").filter(|t| !t.is_null()) else {
        return Ok(None);
    };
    match thinking.get("type").and_then(Value::as_str) {
        Some("disabled") => return Ok(None),
        Some("enabled") => {}
        _ => {
            return Err(bad(
                "thinking.type",
                "thinking.type must be `enabled` or `disabled`",
            ));
        }
    }
    match thinking.get("budget_tokens").and_then(Value::as_u64) {
        Some(b) if (1024..max_tokens).contains(&b) => Ok(Some(b)),
        _ => Err(bad(
            "thinking.budget_tokens",
            "thinking.budget_tokens must be an integer of at least 1024 and less than max_tokens",
        )),
    }
}

/// The largest effort whose budget (`providers::reasoning`'s table) fits in `budget` (at least 1,024), and that
/// budget: the upstream then thinks no more than the client allowed.
fn effort_within(budget: u64) -> (&'static str, u64) {
    [("high", 4096), ("medium", 2048)]
        .into_iter()
        .find(|(_, b)| *b <= budget)
        .unwrap_or(("low", 1024))
}

pub fn to_openai(req: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let model = match req.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(bad("model", "model: Field required (a string)")),
    };
    let max_tokens = req
        .get("max_tokens")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            bad(
                "max_tokens",
                "max_tokens: Field required (a positive integer)",
            )
        })?;
    let Some(Value::Array(turns)) = req.get("messages") else {
        return Err(bad("messages", "messages: Field required (an array)"));
    };
    let mut messages = Vec::new();
    if let Some(system) = req.get("system") {
        let text = text_of(system);
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for turn in turns {
        let content = turn.get("content").unwrap_or(&Value::Null);
        match turn.get("role").and_then(Value::as_str) {
            Some("user") => user_turn(content, &mut messages)?,
            Some("assistant") => assistant_turn(content, &mut messages)?,
            other => {
                return Err(bad(
                    "messages",
                    format!("messages: role {other:?} is not `user` or `assistant`"),
                ));
            }
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(model));
    out.insert("messages".into(), Value::Array(messages));
    let max_tokens = match thinking_budget(req, max_tokens)? {
        // Anthropic's `max_tokens` covers thinking; chat's is the answer's, with the effort's budget on top: the
        // answer gets what the effort's budget leaves, so the hold (answer + budget) is the client's `max_tokens`.
        Some(budget) => {
            let (effort, table_budget) = effort_within(budget);
            out.insert("reasoning_effort".into(), json!(effort));
            max_tokens - table_budget
        }
        None => max_tokens,
    };
    out.insert("max_tokens".into(), json!(max_tokens));
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("stream", "stream"),
    ] {
        if let Some(v) = req.get(from) {
            out.insert(to.into(), v.clone());
        }
    }
    if let Some(stop) = req.get("stop_sequences") {
        out.insert("stop".into(), stop.clone());
    }
    if let Some(user) = req.get("metadata").and_then(|m| m.get("user_id")) {
        out.insert("user".into(), user.clone());
    }
    if let Some(Value::Array(tools)) = req.get("tools") {
        let converted: Vec<Value> = tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.get("name").cloned().unwrap_or(Value::Null),
                    "description": t.get("description").cloned().unwrap_or(Value::Null),
                    "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
                }})
            })
            .collect();
        out.insert("tools".into(), Value::Array(converted));
    }
    if let Some(choice) = req.get("tool_choice") {
        let mapped = match choice.get("type").and_then(Value::as_str) {
            Some("auto") => json!("auto"),
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => {
                json!({"type": "function", "function": {"name": choice.get("name").cloned().unwrap_or(Value::Null)}})
            }
            _ => {
                return Err(bad(
                    "tool_choice",
                    "tool_choice.type must be auto, any, tool or none",
                ));
            }
        };
        out.insert("tool_choice".into(), mapped);
        if choice
            .get("disable_parallel_tool_use")
            .and_then(Value::as_bool)
            == Some(true)
        {
            out.insert("parallel_tool_calls".into(), Value::Bool(false));
        }
    }
    Ok(out)
}

pub fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic `usage` from OpenAI usage: `input_tokens` excludes cache reads, as Anthropic counts them.
pub fn usage(openai: Option<&Value>) -> Value {
    let get = |p: &str| {
        openai
            .and_then(|u| u.pointer(p))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let cached = get("/prompt_tokens_details/cached_tokens");
    json!({
        "input_tokens": get("/prompt_tokens").saturating_sub(cached),
        "output_tokens": get("/completion_tokens"),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    })
}

/// An OpenAI `chat.completion` body → an Anthropic `message`.
pub fn to_anthropic_message(body: &[u8], id: &str, model: &str) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::Internal("the upstream answer could not be read back".to_owned()))?;
    let choice = v.pointer("/choices/0");
    let message = choice.and_then(|c| c.get("message"));
    let mut content = Vec::new();
    if let Some(text) = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        && !text.is_empty()
    {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in tool_calls(message) {
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").cloned().unwrap_or(Value::Null),
            "name": call.pointer("/function/name").cloned().unwrap_or(Value::Null),
            "input": input,
        }));
    }
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str);
    Ok(json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(finish),
        "stop_sequence": null,
        "usage": usage(v.get("usage")),
    }))
}

#[cfg(test)]
mod tests;
