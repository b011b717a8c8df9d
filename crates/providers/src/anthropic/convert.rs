//! OpenAI chat request → Anthropic Messages request: sampling parameters and limits here, the conversation in
//! `messages`, tools in `tools`. Async only because images may have to be downloaded; everything else is pure.
//! Fields Anthropic has no use for (penalties, seed, logprobs, `response_format`, `stream_options`…) are dropped.

use super::messages::{convert_messages, fetch_images};
use super::tools::add_tools;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::media::MediaCache;
use serde_json::{Map, Value, json};

pub use super::messages::LEADING_USER_TEXT;

pub(super) fn invalid(message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::InvalidInput, message)
}

/// The Anthropic body for an OpenAI chat request. http(s) images are downloaded and inlined through `media` unless
/// `forward_urls`, in which case they go as `url` sources; `data:` images are always inlined.
pub async fn to_anthropic(
    req: &Map<String, Value>,
    media: &MediaCache,
    forward_urls: bool,
) -> Result<Value, UpstreamError> {
    if req.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(invalid("n>1 is not supported by this provider"));
    }
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`messages` must be an array"))?;
    let images = fetch_images(messages, media, forward_urls).await?;
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    let (model, thinking) = crate::reasoning::plan(req, model);
    let thinking = thinking.filter(|_| thinking_can_continue(messages));
    let conversation = convert_messages(messages, &images, forward_urls, thinking.is_some())?;

    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    let limit = max_tokens(req, model)?;
    match thinking {
        // Extended thinking: `max_tokens` covers thinking and the answer's limit; Anthropic refuses temperature,
        // top_k and most top_p values while thinking, so the sampling fields are left out.
        Some(budget) => {
            out.insert("max_tokens".into(), json!(budget.saturating_add(limit)));
            out.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget}),
            );
        }
        None => {
            out.insert("max_tokens".into(), json!(limit));
            add_sampling(req, &mut out);
        }
    }
    if let Some(system) = conversation.system {
        out.insert("system".into(), system);
    }
    out.insert("messages".into(), Value::Array(conversation.messages));
    if let Some(stop) = stop_sequences(present(req, "stop")) {
        out.insert("stop_sequences".into(), stop);
    }
    if let Some(user) = present(req, "user")
        .or_else(|| present(req, "safety_identifier"))
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        out.insert("metadata".into(), json!({ "user_id": user }));
    }
    add_tools(req, &mut out)?;
    if req.get("stream") == Some(&Value::Bool(true)) {
        out.insert("stream".into(), Value::Bool(true));
    }
    Ok(Value::Object(out))
}

/// Whether thinking can be on for this conversation: Anthropic requires the last assistant turn of a tool-use loop
/// to open with the thinking block it was answered with. A client that dropped `thinking_blocks` (most OpenAI
/// clients drop fields they do not know) gets this turn without thinking rather than Anthropic's 400, as LiteLLM
/// does.
fn thinking_can_continue(messages: &[Value]) -> bool {
    let last_assistant = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("assistant"));
    last_assistant.is_none_or(|m| {
        let calls = m
            .get("tool_calls")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty());
        let blocks = m
            .get("thinking_blocks")
            .and_then(Value::as_array)
            .is_some_and(|b| !b.is_empty());
        !calls || blocks
    })
}

/// A field the client set to something other than `null`.
pub(super) fn present<'a>(req: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    req.get(key).filter(|v| !v.is_null())
}

/// `max_completion_tokens`, else `max_tokens`, else the model's default (Anthropic requires one).
fn max_tokens(req: &Map<String, Value>, model: &str) -> Result<u64, UpstreamError> {
    match present(req, "max_completion_tokens").or_else(|| present(req, "max_tokens")) {
        None => Ok(default_max_tokens(model)),
        Some(v) => v
            .as_u64()
            .filter(|&n| n > 0)
            .ok_or_else(|| invalid("max_tokens must be a positive integer")),
    }
}

/// Output limit used when the client gives none: 8192 where every model of the family allows it, else 4096.
pub fn default_max_tokens(model: &str) -> u64 {
    const LARGE: [&str; 5] = [
        "claude-3-5-",
        "claude-3-7-",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-haiku-4",
    ];
    // The June 2024 Claude 3.5 Sonnet allows 8192 output tokens only behind a beta header; 4096 is its limit.
    if model.contains("claude-3-5-sonnet-20240620") {
        4096
    } else if LARGE.iter().any(|family| model.contains(family)) {
        8192
    } else {
        4096
    }
}

/// `temperature` clamped to Anthropic's 0..=1. Recent Claude models reject `temperature` together with `top_p`,
/// so `top_p` is sent only when `temperature` is not.
fn add_sampling(req: &Map<String, Value>, out: &mut Map<String, Value>) {
    let temperature = present(req, "temperature").and_then(|t| t.as_f64().map(|f| (t, f)));
    match temperature {
        Some((t, f)) if (0.0..=1.0).contains(&f) => {
            out.insert("temperature".into(), t.clone());
        }
        Some((_, f)) => {
            out.insert("temperature".into(), json!(clamp_temperature(f)));
        }
        None => {
            if let Some(p) = present(req, "top_p").filter(|p| p.is_number()) {
                out.insert("top_p".into(), p.clone());
            }
        }
    }
    if let Some(k) = present(req, "top_k").filter(|k| k.is_u64()) {
        out.insert("top_k".into(), k.clone());
    }
}

/// OpenAI allows 0..=2; Anthropic 0..=1.
pub fn clamp_temperature(t: f64) -> f64 {
    if t.is_nan() { 1.0 } else { t.clamp(0.0, 1.0) }
}

/// `stop` (string or array) → `stop_sequences`; empty strings are dropped, nothing left → no field.
pub fn stop_sequences(stop: Option<&Value>) -> Option<Value> {
    let list: Vec<&str> = match stop? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let list: Vec<&str> = list.into_iter().filter(|s| !s.is_empty()).collect();
    (!list.is_empty()).then(|| json!(list))
}
