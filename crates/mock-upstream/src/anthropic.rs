//! Anthropic Messages API: request checks (in `validate`), `message` objects, the named SSE event sequence and
//! error envelopes.

mod blocks;
pub(crate) mod validate;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::check::parse_args;
use crate::openai::{random_id, split_pieces, tool_calls_with_ids};
use crate::script::Reply;

/// What an answer needs to know about the request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub id: String,
    pub model: String,
    pub stream: bool,
}

impl Ctx {
    pub fn from_request(body: &Value) -> Ctx {
        Ctx {
            id: random_id("msg_01", 22),
            model: body["model"].as_str().unwrap_or_default().to_owned(),
            stream: body["stream"].as_bool() == Some(true),
        }
    }
}

/// `{"type":"error","error":{"type","message"},"request_id"}`.
pub(crate) fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message},
        "request_id": random_id("req_011", 21)})
}

/// Usage as Anthropic reports it: `input_tokens` are the prompt tokens neither read from nor written to the cache;
/// `output` is what has been produced so far (1 in `message_start`).
fn usage_json(reply: &Reply, (prompt, _, cached): (u64, u64, u64), output: u64) -> Value {
    let (five_minutes, one_hour) = reply.cache_write;
    let written = five_minutes + one_hour;
    json!({
        "input_tokens": prompt.saturating_sub(cached + written),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "cache_creation": {"ephemeral_5m_input_tokens": five_minutes, "ephemeral_1h_input_tokens": one_hour},
        "output_tokens": output,
    })
}

fn stop_reason(reply: &Reply) -> &'static str {
    if reply.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

/// The text of the reply's text block, if it has one (an empty text gives no block).
fn text_of(reply: &Reply) -> Option<&str> {
    reply.text.as_deref().filter(|t| !t.is_empty())
}

/// Tool-use blocks with fresh `toolu_` ids, as (id, name, args text).
fn tools(reply: &Reply) -> Vec<(String, &str, &str)> {
    tool_calls_with_ids(reply, "toolu_01", 22)
}

/// A non-streaming `message` object: a text block (if any text), then one `tool_use` per tool call.
pub(crate) fn message(ctx: &Ctx, reply: &Reply) -> Value {
    let mut content: Vec<Value> = Vec::new();
    if let Some(thinking) = &reply.reasoning {
        content.push(json!({"type": "thinking", "thinking": thinking, "signature": SIGNATURE}));
    }
    if let Some(text) = text_of(reply) {
        content.push(json!({"type": "text", "text": text}));
    }
    for (id, name, args) in tools(reply) {
        content
            .push(json!({"type": "tool_use", "id": id, "name": name, "input": parse_args(args)}));
    }
    let mut out = json!({
        "id": ctx.id,
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": stop_reason(reply),
        "stop_sequence": null,
    });
    if let (Some(usage), Some(obj)) = (reply.usage, out.as_object_mut()) {
        obj.insert("usage".into(), usage_json(reply, usage, usage.1));
    }
    out
}

fn event(data: &Value) -> Bytes {
    let name = data["type"].as_str().unwrap_or_default();
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The signature the mock puts on its thinking blocks.
const SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";

/// One content block as stream events: its start (with `block` as it opens), a delta for each of `deltas`, its stop.
fn block_events(index: usize, block: Value, deltas: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let start = json!({"type": "content_block_start", "index": index, "content_block": block});
    let mut out = vec![start];
    for delta in deltas {
        out.push(json!({"type": "content_block_delta", "index": index, "delta": delta}));
    }
    out.push(json!({"type": "content_block_stop", "index": index}));
    out
}

/// A streamed thinking block: start, `thinking_delta` pieces, the `signature_delta`, stop.
fn thinking_events(index: usize, thinking: &str, pieces: usize) -> Vec<Value> {
    let deltas = split_pieces(thinking, pieces)
        .into_iter()
        .map(|piece| json!({"type": "thinking_delta", "thinking": piece}))
        .chain([json!({"type": "signature_delta", "signature": SIGNATURE})]);
    block_events(index, json!({"type": "thinking", "thinking": ""}), deltas)
}

/// Every SSE event of a streamed reply, `message_stop` included, one `Bytes` per event.
pub(crate) fn stream_events(ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
    stream_values(ctx, reply).iter().map(event).collect()
}

/// Every event of a streamed reply as its JSON data (its `type` is the SSE event name), `message_stop` included.
pub(crate) fn stream_values(ctx: &Ctx, reply: &Reply) -> Vec<Value> {
    let mut start = json!({
        "id": ctx.id, "type": "message", "role": "assistant", "content": [], "model": ctx.model,
        "stop_reason": null, "stop_sequence": null,
    });
    if let (Some(usage), Some(obj)) = (reply.usage, start.as_object_mut()) {
        obj.insert("usage".into(), usage_json(reply, usage, 1));
    }
    let mut out = vec![
        json!({"type": "message_start", "message": start}),
        json!({"type": "ping"}),
    ];
    let mut index = 0_usize;
    if let Some(thinking) = &reply.reasoning {
        out.extend(thinking_events(index, thinking, reply.pieces));
        index += 1;
    }
    if let Some(text) = text_of(reply) {
        let deltas = split_pieces(text, reply.pieces)
            .into_iter()
            .map(|piece| json!({"type": "text_delta", "text": piece}));
        out.extend(block_events(
            index,
            json!({"type": "text", "text": ""}),
            deltas,
        ));
        index += 1;
    }
    for (id, name, args) in tools(reply) {
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        // Like the real API: an empty fragment first, then the JSON text in pieces.
        let frags = if args.chars().count() >= 6 { 3 } else { 2 };
        let deltas = std::iter::once(String::new())
            .chain(split_pieces(args, frags))
            .map(|frag| json!({"type": "input_json_delta", "partial_json": frag}));
        out.extend(block_events(index, block, deltas));
        index += 1;
    }
    let mut delta = json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null}});
    if let (Some((_, completion, _)), Some(obj)) = (reply.usage, delta.as_object_mut()) {
        obj.insert("usage".into(), json!({"output_tokens": completion}));
    }
    out.push(delta);
    out.push(json!({"type": "message_stop"}));
    out
}

/// A stream whose first event is not JSON.
pub(crate) fn garbage() -> Bytes {
    Bytes::from_static(b"event: message_start\ndata: {not json\n\n")
}
