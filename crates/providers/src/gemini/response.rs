//! Gemini answers → OpenAI: the whole `GenerateContentResponse` → `chat.completion`, plus the pieces the stream
//! mapper shares (finish reasons, usage, ids) and Gemini error bodies → `UpstreamError`.

use super::wire::{Candidate, ErrorEnvelope, GenerateContentResponse, UsageMetadata};
use crate::error::{UpstreamError, UpstreamErrorKind};
use serde_json::{Value, json};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// What every chunk (or the one completion) of an answer shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub created: u64,
    pub model: String,
}

impl Identity {
    /// Gemini's `responseId` when it sent one (so logs on both sides match), else a random id.
    pub fn new(response_id: Option<&str>, model: &str) -> Self {
        let id = match response_id.filter(|r| !r.is_empty()) {
            Some(r) => format!("chatcmpl-{r}"),
            None => format!("chatcmpl-{}", random_token()),
        };
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            id,
            created,
            model: model.to_owned(),
        }
    }
}

/// 24 hex characters, unpredictable enough for ids (Gemini gives function calls none; OpenAI clients need one).
/// Built from std's randomly keyed hasher so the crate needs no RNG dependency.
pub fn random_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(32);
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(24);
    out
}

pub fn tool_call_id() -> String {
    format!("call_{}", random_token())
}

/// Gemini `finishReason` → OpenAI `finish_reason`. Gemini says `STOP` after function calls too.
pub fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => "content_filter",
        _ if has_tool_calls => "tool_calls",
        _ => "stop",
    }
}

/// `usageMetadata` → OpenAI `usage`; thinking tokens count as completion tokens, as OpenAI counts reasoning.
pub fn usage(meta: &UsageMetadata) -> Value {
    let thoughts = meta.thoughts_token_count.unwrap_or(0);
    let completion = meta.candidates_token_count + thoughts;
    let mut usage = json!({
        "prompt_tokens": meta.prompt_token_count,
        "completion_tokens": completion,
        "total_tokens": meta.prompt_token_count + completion,
        "prompt_tokens_details": { "cached_tokens": meta.cached_content_token_count },
    });
    if let (Some(t), Value::Object(obj)) = (meta.thoughts_token_count, &mut usage) {
        obj.insert(
            "completion_tokens_details".to_owned(),
            json!({ "reasoning_tokens": t }),
        );
    }
    usage
}

/// What one candidate says: its visible text, its thoughts (`thought` parts, sent when asked for) and its
/// function calls in OpenAI form with fresh ids.
pub struct CandidateOutput {
    pub text: String,
    pub reasoning: String,
    pub calls: Vec<Value>,
}

/// The [`CandidateOutput`] of one candidate.
pub fn candidate_output(candidate: &Candidate) -> CandidateOutput {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        match (&part.text, part.thought == Some(true)) {
            (Some(t), true) => reasoning.push_str(t),
            (Some(t), false) => text.push_str(t),
            (None, _) => {}
        }
        if let Some(call) = &part.function_call {
            calls.push(json!({
                "id": tool_call_id(),
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": Value::Object(call.args.clone()).to_string(),
                },
            }));
        }
    }
    CandidateOutput {
        text,
        reasoning,
        calls,
    }
}

/// A success body (a whole answer or one stream event) read as a Gemini response. An error object in it is that
/// error; anything else unreadable is a protocol error, `not_a_response`.
pub(crate) fn parse_response(
    body: &[u8],
    not_a_response: &'static str,
) -> Result<GenerateContentResponse, UpstreamError> {
    if let Some(err) = error_in_success(body) {
        return Err(err);
    }
    serde_json::from_slice(body)
        .map_err(|_| UpstreamError::new(UpstreamErrorKind::Protocol, not_a_response))
}

/// A non-streamed Gemini answer as an OpenAI `chat.completion`. `model` is used when Gemini names no version.
pub fn completion_from_body(body: &[u8], model: &str) -> Result<Value, UpstreamError> {
    let not_a_response = "upstream answered 200 with a body that is not a Gemini response";
    let resp = parse_response(body, not_a_response)?;
    let blocked = resp
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.as_deref());
    let mut choices = Vec::with_capacity(resp.candidates.len().max(1));
    for (i, candidate) in resp.candidates.iter().enumerate() {
        let CandidateOutput {
            text,
            reasoning,
            calls,
        } = candidate_output(candidate);
        let reason = finish_reason(candidate.finish_reason.as_deref(), !calls.is_empty());
        let mut message = json!({
            "role": "assistant",
            "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) },
        });
        if !reasoning.is_empty() {
            message["reasoning_content"] = Value::String(reasoning);
        }
        if !calls.is_empty()
            && let Value::Object(m) = &mut message
        {
            m.insert("tool_calls".to_owned(), Value::Array(calls));
        }
        choices.push(json!({
            "index": candidate.index.unwrap_or(u32::try_from(i).unwrap_or(u32::MAX)),
            "message": message,
            "logprobs": null,
            "finish_reason": reason,
        }));
    }
    if choices.is_empty() {
        if blocked.is_none() {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Protocol,
                "upstream answered 200 without candidates or a block reason",
            ));
        }
        choices.push(json!({
            "index": 0,
            "message": { "role": "assistant", "content": "" },
            "logprobs": null,
            "finish_reason": "content_filter",
        }));
    }
    let identity = Identity::new(
        resp.response_id.as_deref(),
        resp.model_version.as_deref().unwrap_or(model),
    );
    Ok(json!({
        "id": identity.id,
        "object": "chat.completion",
        "created": identity.created,
        "model": identity.model,
        "choices": choices,
        "usage": usage(&resp.usage_metadata.unwrap_or_default()),
    }))
}

/// A Gemini error object inside a success answer (or a stream event), if that is what `body` is.
pub fn error_in_success(body: &[u8]) -> Option<UpstreamError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let code = value.get("error")?.get("code").and_then(Value::as_u64);
    let status = code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(502);
    Some(error_from_body(status, body))
}

/// An error answer → `UpstreamError` with Gemini's message. Gemini reports a bad key as 400 `API_KEY_INVALID`;
/// that becomes a 401 so the gateway takes the key out of rotation instead of blaming the client.
pub fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
    // The error comes as an object, or (without `alt=sse`) as a one-element array. Matched on the JSON first
    // because serde would also read an array as a struct, field by position.
    let parsed = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items.into_iter().next(),
        Ok(other) => Some(other),
        Err(_) => None,
    };
    let Some(env) = parsed.and_then(|v| serde_json::from_value::<ErrorEnvelope>(v).ok()) else {
        return UpstreamError::from_status(status, None);
    };
    let mut err = UpstreamError::from_status(status, env.error.message.as_deref());
    err.error_type = env.error.status.clone();
    let bad_key = env.error.details.iter().any(|d| {
        matches!(
            d.reason.as_deref(),
            Some("API_KEY_INVALID" | "API_KEY_EXPIRED")
        )
    });
    if bad_key {
        err.kind = UpstreamErrorKind::Status(401);
        err.code = Some("invalid_api_key".to_owned());
    }
    err
}
