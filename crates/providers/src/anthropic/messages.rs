//! OpenAI `messages` → Anthropic `system` + alternating `messages`. System and developer messages move to the top
//! level; tool results become `tool_result` blocks in a user turn; same-role neighbours merge; blank text is
//! dropped (Anthropic rejects it). Images must already be fetched (see [`fetch_images`]) so this part stays pure.

use super::convert::invalid;
use crate::error::UpstreamError;
use crate::media::{InlineImage, MediaCache};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};

/// Inline images by the URL the client sent (data: or http(s)).
pub(super) type Images = HashMap<String, InlineImage>;

/// Text of the user turn put first when the conversation does not start with one: Anthropic requires it, and a
/// lone "." steers the model less than any wording would.
pub const LEADING_USER_TEXT: &str = ".";

/// The converted conversation.
pub(super) struct Conversation {
    /// `system` value: one string, or text blocks when there are several (keeps the boundaries).
    pub system: Option<Value>,
    pub messages: Vec<Value>,
}

struct Turn {
    role: &'static str,
    content: Vec<Value>,
}

/// Downloads or decodes, once per distinct URL and within the request's limits (see [`MediaCache`]), every image
/// that must be sent inline.
pub(super) async fn fetch_images(
    messages: &[Value],
    media: &MediaCache,
    forward_urls: bool,
) -> Result<Images, UpstreamError> {
    let urls: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter_map(image_url)
        .filter(|url| !forwarded(url, forward_urls))
        .collect();
    media.inline_all(urls).await
}

/// The URL of an `image_url` part (`{"image_url":{"url"}}`, or the bare string some clients send).
fn image_url(part: &Value) -> Option<&str> {
    if part.get("type").and_then(Value::as_str) != Some("image_url") {
        return None;
    }
    let field = part.get("image_url")?;
    field
        .get("url")
        .and_then(Value::as_str)
        .or_else(|| field.as_str())
}

/// Whether this URL is passed to Anthropic as a `url` source rather than inlined.
fn forwarded(url: &str, forward_urls: bool) -> bool {
    forward_urls && (url.starts_with("https://") || url.starts_with("http://"))
}

/// The conversation in Anthropic's shape. With `thinking`, an assistant message's `thinking_blocks` (as Tollgate
/// and LiteLLM hand them out) open its turn again, as Anthropic requires in a tool-use loop; without, they are
/// dropped.
/// An assistant message's `thinking_blocks`: `{type: "thinking", thinking, signature}` or
/// `{type: "redacted_thinking", data}`, anything else a 400 naming it.
fn thinking_blocks(msg: &Value, i: usize) -> Result<Vec<Value>, UpstreamError> {
    let Some(blocks) = msg.get("thinking_blocks").filter(|b| !b.is_null()) else {
        return Ok(Vec::new());
    };
    let bad = |j: usize| {
        invalid(format!(
            "messages[{i}].thinking_blocks[{j}] must be a thinking block (`type`, `thinking`, `signature`) or a \
             redacted one (`type`, `data`)"
        ))
    };
    let Some(blocks) = blocks.as_array() else {
        return Err(bad(0));
    };
    blocks
        .iter()
        .enumerate()
        .map(|(j, b)| {
            let text = |k: &str| b.get(k).and_then(Value::as_str);
            match (
                text("type"),
                text("thinking"),
                text("signature"),
                text("data"),
            ) {
                (Some("thinking"), Some(t), Some(s), _) => {
                    Ok(json!({"type": "thinking", "thinking": t, "signature": s}))
                }
                (Some("redacted_thinking"), _, _, Some(d)) => {
                    Ok(json!({"type": "redacted_thinking", "data": d}))
                }
                _ => Err(bad(j)),
            }
        })
        .collect()
}

pub(super) fn convert_messages(
    messages: &[Value],
    images: &Images,
    forward_urls: bool,
    thinking: bool,
) -> Result<Conversation, UpstreamError> {
    let mut system = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    // Legacy `function_call`s carry no id: each one gets a made-up id that the next `function` message answers.
    let mut open_function_call: Option<String> = None;
    let mut made_up_ids = 0usize;
    let mut make_id = || {
        made_up_ids += 1;
        format!("call_function_{made_up_ids}")
    };
    for (i, msg) in messages.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = msg.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(text_blocks(content, i)?),
            "user" => push(
                &mut turns,
                "user",
                user_blocks(content, images, forward_urls, i)?,
            ),
            "assistant" => {
                let mut blocks = if thinking {
                    thinking_blocks(msg, i)?
                } else {
                    Vec::new()
                };
                blocks.extend(text_blocks(content, i)?);
                if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
                    for (j, call) in calls.iter().enumerate() {
                        blocks.push(tool_use(call, i, j)?);
                    }
                }
                if let Some(call) = msg.get("function_call").filter(|c| c.is_object()) {
                    let id = make_id();
                    open_function_call = Some(id.clone());
                    let call = json!({ "id": id, "function": call });
                    blocks.push(tool_use(&call, i, 0)?);
                }
                push(&mut turns, "assistant", blocks);
            }
            "tool" => {
                let id = msg
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!(
                            "messages[{i}]: a tool message needs `tool_call_id`"
                        ))
                    })?;
                push(&mut turns, "user", vec![tool_result(id, content, i)?]);
            }
            "function" => {
                let id = open_function_call.take().unwrap_or_else(&mut make_id);
                push(&mut turns, "user", vec![tool_result(&id, content, i)?]);
            }
            other => {
                return Err(invalid(format!(
                    "messages[{i}]: role `{other}` is not supported by this provider"
                )));
            }
        }
    }
    finish_turns(&mut turns);
    Ok(Conversation {
        system: system_value(system),
        messages: turns
            .into_iter()
            .map(|t| json!({ "role": t.role, "content": t.content }))
            .collect(),
    })
}

/// Appends to the last turn when the role repeats, so roles alternate; an empty turn is skipped.
fn push(turns: &mut Vec<Turn>, role: &'static str, content: Vec<Value>) {
    if content.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.content.extend(content),
        _ => turns.push(Turn { role, content }),
    }
}

/// Post-pass: tool results first in each user turn (Anthropic wants them right after the `tool_use`), a user turn
/// first, and no trailing whitespace in a final assistant prefill (Anthropic rejects it).
fn finish_turns(turns: &mut Vec<Turn>) {
    for turn in turns.iter_mut().filter(|t| t.role == "user") {
        turn.content
            .sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
    }
    if turns.first().is_none_or(|t| t.role != "user") {
        let text = json!({ "type": "text", "text": LEADING_USER_TEXT });
        turns.insert(
            0,
            Turn {
                role: "user",
                content: vec![text],
            },
        );
    }
    if let Some(last) = turns.last_mut().filter(|t| t.role == "assistant")
        && let Some(block) = last.content.last_mut()
        && let Some(text) = block.get("text").and_then(Value::as_str)
    {
        let trimmed = text.trim_end().to_owned();
        if trimmed.is_empty() {
            last.content.pop();
        } else {
            block["text"] = Value::String(trimmed);
        }
        if last.content.is_empty() {
            turns.pop();
        }
    }
}

fn system_value(blocks: Vec<Value>) -> Option<Value> {
    match blocks.as_slice() {
        [] => None,
        [one] if one.get("cache_control").is_none() => one.get("text").cloned(),
        _ => Some(Value::Array(blocks)),
    }
}

/// Non-blank text of a string or text/refusal parts, as Anthropic text blocks (`cache_control` kept).
fn text_blocks(content: &Value, i: usize) -> Result<Vec<Value>, UpstreamError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(text_block(s, None).into_iter().collect()),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for part in parts {
                let text = part
                    .get("text")
                    .or_else(|| part.get("refusal"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!(
                            "messages[{i}]: only text content is supported in this message"
                        ))
                    })?;
                out.extend(text_block(text, part.get("cache_control")));
            }
            Ok(out)
        }
        _ => Err(invalid(format!(
            "messages[{i}]: `content` must be a string or an array of parts"
        ))),
    }
}

fn text_block(text: &str, cache_control: Option<&Value>) -> Option<Value> {
    if text.trim().is_empty() {
        return None;
    }
    let mut block = json!({ "type": "text", "text": text });
    if let Some(cc) = cache_control {
        block["cache_control"] = cc.clone();
    }
    Some(block)
}

fn user_blocks(
    content: &Value,
    images: &Images,
    forward_urls: bool,
    i: usize,
) -> Result<Vec<Value>, UpstreamError> {
    let Value::Array(parts) = content else {
        return text_blocks(content, i);
    };
    let mut out = Vec::new();
    for part in parts {
        let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
        let mut block = match kind {
            "text" => {
                let text = part
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("messages[{i}]: text part without `text`")))?;
                match text_block(text, part.get("cache_control")) {
                    Some(b) => b,
                    None => continue,
                }
            }
            "image_url" => {
                let url = image_url(part).ok_or_else(|| {
                    invalid(format!("messages[{i}]: image_url part without a `url`"))
                })?;
                image_block(url, images, forward_urls)?
            }
            "file" => document_block(part, i)?,
            "input_audio" => {
                return Err(invalid(format!(
                    "messages[{i}]: audio input is not supported by this provider"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "messages[{i}]: content part type `{other}` is not supported by this provider"
                )));
            }
        };
        if kind != "text"
            && let Some(cc) = part.get("cache_control")
        {
            block["cache_control"] = cc.clone();
        }
        out.push(block);
    }
    Ok(out)
}

fn image_block(url: &str, images: &Images, forward_urls: bool) -> Result<Value, UpstreamError> {
    if let Some(img) = images.get(url) {
        return Ok(json!({
            "type": "image",
            "source": { "type": "base64", "media_type": img.media_type, "data": img.base64 },
        }));
    }
    if forwarded(url, forward_urls) {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    }
    Err(invalid("an image could not be prepared for this provider"))
}

/// A `file` part carrying a base64 PDF → `document` block; uploaded file ids cannot be resolved here.
fn document_block(part: &Value, i: usize) -> Result<Value, UpstreamError> {
    let data = part
        .get("file")
        .and_then(|f| f.get("file_data"))
        .and_then(Value::as_str)
        .and_then(|d| d.strip_prefix("data:application/pdf;base64,"))
        .ok_or_else(|| {
            invalid(format!(
                "messages[{i}]: only inline PDF files (`file_data` as a data:application/pdf;base64 URL) are supported by this provider"
            ))
        })?;
    Ok(json!({
        "type": "document",
        "source": { "type": "base64", "media_type": "application/pdf", "data": data },
    }))
}

/// An OpenAI tool call → `tool_use`. Arguments must be a JSON object: guessing `{}` would run the tool wrongly.
fn tool_use(call: &Value, i: usize, j: usize) -> Result<Value, UpstreamError> {
    let function = call.get("function").unwrap_or(&Value::Null);
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() || id.is_empty() {
        return Err(invalid(format!(
            "messages[{i}].tool_calls[{j}] needs an `id` and a function `name`"
        )));
    }
    let input = match function.get("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(other) => other.clone(),
    };
    if !input.is_object() {
        return Err(invalid(format!(
            "messages[{i}]: the arguments of tool call `{name}` ({id}) are not a JSON object"
        )));
    }
    Ok(json!({ "type": "tool_use", "id": id, "name": name, "input": input }))
}

fn tool_result(id: &str, content: &Value, i: usize) -> Result<Value, UpstreamError> {
    let text = match content {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => {
            return Err(invalid(format!(
                "messages[{i}]: `content` must be a string or an array of parts"
            )));
        }
    };
    Ok(json!({ "type": "tool_result", "tool_use_id": id, "content": text }))
}
