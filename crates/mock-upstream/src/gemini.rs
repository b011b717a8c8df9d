//! Gemini `generateContent` / `streamGenerateContent`: request checks (in `validate`), responses, SSE (or
//! JSON-array) streams and the Google error envelope.

mod schema;
pub(crate) mod validate;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::check::parse_args;
use crate::openai::{random_id, split_pieces};
use crate::script::Reply;

/// What an answer needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The model named in the URL.
    pub model: String,
    pub response_id: String,
    /// `:streamGenerateContent` was called.
    pub stream: bool,
    /// With `alt=sse`: SSE `data:` events; without: one streamed JSON array.
    pub sse: bool,
    /// `generationConfig.thinkingConfig.includeThoughts`: the reply's reasoning comes as `thought` parts.
    pub thoughts: bool,
}

impl Ctx {
    pub fn new(model: &str, stream: bool, sse: bool) -> Ctx {
        Ctx {
            model: model.to_owned(),
            response_id: random_id("", 22),
            stream,
            sse,
            thoughts: false,
        }
    }

    /// The reply's reasoning as a `thought` part, when the request asked for thoughts.
    fn thought(&self, reply: &Reply) -> Option<Value> {
        let reasoning = reply.reasoning.as_deref().filter(|_| self.thoughts)?;
        Some(json!({"text": reasoning, "thought": true}))
    }
}

/// `{"error":{"code","message","status"}}`, plus a `google.rpc.ErrorInfo` detail when there is a `reason`.
pub(crate) fn error(code: u16, status: &str, message: &str, reason: Option<&str>) -> Value {
    let mut out = json!({"error": {"code": code, "message": message, "status": status}});
    if let (Some(reason), Some(err)) = (reason, out["error"].as_object_mut()) {
        let info = json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
            "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}});
        err.insert("details".into(), json!([info]));
    }
    out
}

fn usage_json((prompt, completion, cached): (u64, u64, u64)) -> Value {
    let mut u = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion,
    });
    if let (true, Some(obj)) = (cached > 0, u.as_object_mut()) {
        obj.insert("cachedContentTokenCount".into(), json!(cached));
    }
    u
}

fn call_part(name: &str, args: &str) -> Value {
    json!({"functionCall": {"name": name, "args": parse_args(args)}})
}

/// One `GenerateContentResponse`; `finish` also adds the finish reason and the full usage, otherwise only the
/// prompt count is reported (as the real API does in the middle of a stream).
fn response(ctx: &Ctx, reply: &Reply, parts: Vec<Value>, finish: bool) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut out =
        json!({"candidates": [], "modelVersion": ctx.model, "responseId": ctx.response_id});
    if let Some(c) = candidate.as_object_mut()
        && finish
    {
        c.insert("finishReason".into(), json!("STOP"));
    }
    if let Some(obj) = out.as_object_mut() {
        obj.insert("candidates".into(), json!([candidate]));
        match (reply.usage, finish) {
            (Some(u), true) => {
                obj.insert("usageMetadata".into(), usage_json(u));
            }
            (Some((prompt, _, _)), false) => {
                let partial = json!({"promptTokenCount": prompt, "totalTokenCount": prompt});
                obj.insert("usageMetadata".into(), partial);
            }
            (None, _) => {}
        }
    }
    out
}

/// The whole answer: a text part (unless only tool calls were scripted), then one `functionCall` per tool call.
pub(crate) fn generate(ctx: &Ctx, reply: &Reply) -> Value {
    let mut parts: Vec<Value> = ctx.thought(reply).into_iter().collect();
    match reply.text.as_deref() {
        Some(t) if !t.is_empty() || reply.tool_calls.is_empty() => parts.push(json!({"text": t})),
        _ => {}
    }
    for (name, args) in &reply.tool_calls {
        parts.push(call_part(name, args));
    }
    response(ctx, reply, parts, true)
}

/// Every streamed response: text pieces, then function calls (each whole), the last one carrying the finish
/// reason and usage. No `[DONE]`. Without `alt=sse`, the pieces of one JSON array.
pub(crate) fn stream_events(ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
    let mut parts: Vec<Value> = ctx.thought(reply).into_iter().collect();
    if let Some(text) = reply.text.as_deref() {
        parts.extend(
            split_pieces(text, reply.pieces)
                .into_iter()
                .map(|p| json!({"text": p})),
        );
    }
    parts.extend(reply.tool_calls.iter().map(|(n, a)| call_part(n, a)));
    if parts.is_empty() {
        parts.push(json!({"text": ""}));
    }
    let last = parts.len() - 1;
    let bodies = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| response(ctx, reply, vec![p], i == last));
    if ctx.sse {
        return bodies
            .map(|b| Bytes::from(format!("data: {b}\r\n\r\n")))
            .collect();
    }
    let mut out: Vec<Bytes> = bodies
        .enumerate()
        .map(|(i, b)| Bytes::from(format!("{}{b}", if i == 0 { "[" } else { ",\r\n" })))
        .collect();
    out.push(Bytes::from_static(b"]"));
    out
}

/// A stream whose first event is not JSON.
pub(crate) fn garbage() -> Bytes {
    Bytes::from_static(b"data: {not json\r\n\r\n")
}

/// (model, stream) from a `…/v1beta/models/{model}:generateContent` or `:streamGenerateContent` path.
pub(crate) fn parse_path(path: &str) -> Option<(String, bool)> {
    let (head, method) = path.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    let (prefix, model) = head.rsplit_once("/models/")?;
    let versioned = prefix.ends_with("/v1beta") || prefix.ends_with("/v1");
    (versioned && !model.is_empty() && !model.contains('/')).then(|| (model.to_owned(), stream))
}
