//! OpenAI wire format: completion objects, SSE chunk sequences, model list and errors.

use bytes::Bytes;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::script::Reply;

mod audio;
mod endpoints;
mod images;
mod responses;

pub(crate) use audio::{speech, transcription};
pub(crate) use endpoints::{embeddings, image_generations, legacy_completion, moderations, rerank};
pub(crate) use images::image_upload;
pub(crate) use responses::{responses, responses_events};

/// Model echoed back when the request names none.
const FALLBACK_MODEL: &str = "gpt-4o";

/// What a response needs to know about the request it answers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub n: usize,
    pub stream: bool,
    pub include_usage: bool,
}

impl Ctx {
    /// Reads model, `n`, `stream` and `stream_options.include_usage` from a request body.
    pub fn from_request(body: &Value) -> Ctx {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let n = body["n"].as_u64().unwrap_or(1).clamp(1, 128);
        Ctx {
            id: random_id("chatcmpl-", 29),
            created,
            model: body["model"].as_str().unwrap_or(FALLBACK_MODEL).to_owned(),
            n: usize::try_from(n).unwrap_or(1),
            stream: body["stream"].as_bool() == Some(true),
            include_usage: body["stream_options"]["include_usage"].as_bool() == Some(true),
        }
    }
}

/// `prefix` followed by `len` random alphanumeric characters.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

/// The string field `name` of a request body, or `Err(missing)` (the upstream's 400 message) without one.
pub(crate) fn required_str<'a>(
    body: &'a Value,
    name: &str,
    missing: &str,
) -> Result<&'a str, String> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| missing.to_owned())
}

/// [`required_str`] that refuses an empty string too.
pub(crate) fn required_text<'a>(
    body: &'a Value,
    name: &str,
    missing: &str,
) -> Result<&'a str, String> {
    match required_str(body, name, missing)? {
        "" => Err(missing.to_owned()),
        text => Ok(text),
    }
}

/// Splits `s` into at most `n` non-empty parts on char boundaries (none if `s` is empty).
pub(crate) fn split_pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let n = n.clamp(1, chars.len());
    let per = chars.len().div_ceil(n);
    chars.chunks(per).map(|c| c.iter().collect()).collect()
}

/// The full usage object, as OpenAI sends it.
pub(crate) fn usage_json((prompt, completion, cached): (u64, u64, u64)) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// The reply's tool calls as (id, name, args text), each with a fresh id: `prefix` and `len` random characters.
pub(crate) fn tool_calls_with_ids<'a>(
    reply: &'a Reply,
    prefix: &str,
    len: usize,
) -> Vec<(String, &'a str, &'a str)> {
    reply
        .tool_calls
        .iter()
        .map(|(name, args)| (random_id(prefix, len), name.as_str(), args.as_str()))
        .collect()
}

fn finish_reason(reply: &Reply) -> &'static str {
    if reply.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// A non-streaming `chat.completion` object.
pub(crate) fn completion(ctx: &Ctx, reply: &Reply) -> Value {
    let mut message = if reply.tool_calls.is_empty() {
        json!({"role": "assistant", "content": reply.text, "refusal": null})
    } else {
        let calls: Vec<Value> = tool_calls_with_ids(reply, "call_", 24)
            .into_iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
            })
            .collect();
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    };
    if let (Some(r), Some(obj)) = (&reply.reasoning, message.as_object_mut()) {
        obj.insert("reasoning_content".to_owned(), json!(r));
    }
    let choices: Vec<Value> = (0..ctx.n)
        .map(|i| {
            json!({
                "index": i,
                "message": message.clone(),
                "logprobs": null,
                "finish_reason": finish_reason(reply)
            })
        })
        .collect();
    let mut out = json!({
        "id": ctx.id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "system_fingerprint": "fp_mock",
        "choices": choices,
    });
    if let (Some(usage), Some(obj)) = (reply.usage, out.as_object_mut()) {
        obj.insert("usage".to_owned(), usage_json(usage));
    }
    out
}

/// The deltas of one choice, in order, each with its finish reason.
fn deltas(reply: &Reply) -> Vec<(Value, Option<&'static str>)> {
    let role = json!({"role": "assistant", "content": "", "refusal": null});
    let mut out = vec![(role, None)];
    for piece in split_pieces(reply.reasoning.as_deref().unwrap_or(""), reply.pieces) {
        out.push((json!({"reasoning_content": piece}), None));
    }
    if reply.tool_calls.is_empty() {
        let text = reply.text.as_deref().unwrap_or("");
        for piece in split_pieces(text, reply.pieces) {
            out.push((json!({"content": piece}), None));
        }
    } else {
        let head = |i: usize, id: &str, name: &str| {
            let head = json!({"index": i, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}});
            (json!({"tool_calls": [head]}), None)
        };
        let part = |i: usize, frag: &str| {
            let part = json!({"index": i, "function": {"arguments": frag}});
            (json!({"tool_calls": [part]}), None)
        };
        let calls = tool_calls_with_ids(reply, "call_", 24);
        let frags: Vec<Vec<String>> = calls
            .iter()
            .map(|(_, _, args)| split_pieces(args, if args.chars().count() >= 6 { 3 } else { 2 }))
            .collect();
        if reply.interleave_tool_args {
            for (i, (id, name, _)) in calls.iter().enumerate() {
                out.push(head(i, id, name));
            }
            let rounds = frags.iter().map(Vec::len).max().unwrap_or(0);
            for round in 0..rounds {
                for (i, call_frags) in frags.iter().enumerate() {
                    if let Some(frag) = call_frags.get(round) {
                        out.push(part(i, frag));
                    }
                }
            }
        } else {
            for (i, ((id, name, _), call_frags)) in calls.iter().zip(&frags).enumerate() {
                out.push(head(i, id, name));
                for frag in call_frags {
                    out.push(part(i, frag));
                }
            }
        }
    }
    out.push((json!({}), Some(finish_reason(reply))));
    out
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// Every SSE event of a streamed reply, `[DONE]` included, one `Bytes` per event.
pub(crate) fn stream_events(ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
    let with_usage = ctx.include_usage && reply.usage.is_some();
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": ctx.id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "system_fingerprint": "fp_mock",
            "choices": choices,
        });
        if let (true, Some(obj)) = (with_usage, c.as_object_mut()) {
            obj.insert("usage".to_owned(), usage.unwrap_or(Value::Null));
        }
        sse(&c)
    };
    let mut events = Vec::new();
    let usage = reply.usage.map(usage_json);
    for (delta, finish) in deltas(reply) {
        for index in 0..ctx.n {
            let choice = json!({"index": index, "delta": delta.clone(),
                "logprobs": null, "finish_reason": finish});
            let last = finish.is_some() && index + 1 == ctx.n;
            let rides = (last && reply.usage_on_last_choice).then(|| usage.clone());
            events.push(chunk(json!([choice]), rides.flatten()));
        }
    }
    if let (true, false, Some(usage)) = (with_usage, reply.usage_on_last_choice, usage) {
        events.push(chunk(json!([]), Some(usage)));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

/// `GET /v1/models`.
pub(crate) fn models() -> Value {
    let data: Vec<Value> = [
        ("gpt-4o", 1_715_367_049_u64),
        ("gpt-4o-mini", 1_721_172_741),
        ("gpt-4.1", 1_744_316_542),
        ("o3-mini", 1_737_146_383),
        ("text-embedding-3-small", 1_705_948_997),
    ]
    .into_iter()
    .map(|(id, created)| json!({"id": id, "object": "model", "created": created, "owned_by": "system"}))
    .collect();
    json!({"object": "list", "data": data})
}

/// An OpenAI error envelope.
pub(crate) fn error(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// Masks a key the way OpenAI does in its 401 message: `sk-ab***yz`.
pub(crate) fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        return "***".to_owned();
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}***{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_char_boundaries() {
        assert_eq!(split_pieces("héllo wörld", 3), vec!["héll", "o wö", "rld"]);
        assert_eq!(split_pieces("ab", 5), vec!["a", "b"]);
        assert!(split_pieces("", 3).is_empty());
    }

    #[test]
    fn masks_keys() {
        assert_eq!(mask_key("sk-abcdefxyz"), "sk-ab***yz");
        assert_eq!(mask_key("short"), "***");
    }
}
