//! Anthropic stream events → OpenAI `chat.completion.chunk` payloads, as a state machine fed one event at a time.
//! OpenAI numbers tool calls 0,1,2… among tool calls only, while Anthropic's `index` counts every content block
//! (text and thinking too), so the state keeps its own map from block index to tool-call index.

use super::response::{
    completion_id, error_status, finish_reason, usage_json, with_anthropic_code,
};
use super::wire::{
    BlockDelta, BlockStart, ContentBlock, Delta, ErrorEnvelope, MessageDelta, MessageStart, Usage,
};
use crate::ChunkStream;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::SseEvent;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};

/// Conversion state for one stream.
#[derive(Debug)]
pub struct StreamState {
    id: String,
    created: u64,
    model: String,
    usage: Usage,
    stop_reason: Option<String>,
    /// Anthropic block index → OpenAI tool-call index.
    tool_index: HashMap<u64, u64>,
    next_tool: u64,
    /// The text of the thinking block being streamed, sent whole with its signature as a `thinking_blocks` delta.
    thinking: String,
    finished: bool,
}

impl StreamState {
    /// `created` is passed in so the mapping stays pure (the adapter uses the current time).
    pub fn new(created: u64) -> Self {
        Self {
            id: completion_id(""),
            created,
            model: String::new(),
            usage: Usage::default(),
            stop_reason: None,
            tool_index: HashMap::new(),
            next_tool: 0,
            thinking: String::new(),
            finished: false,
        }
    }

    /// True once `message_stop` (or an `error` event) has been seen: nothing more will be produced.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One SSE event (`event:` name and `data`) → zero or more chunk payloads. An empty `name` falls back to the
    /// `type` inside the data. Unknown events are ignored, as Anthropic's versioning policy asks.
    pub fn on_event(&mut self, name: &str, data: &[u8]) -> Result<Vec<Bytes>, UpstreamError> {
        if self.finished {
            return Ok(Vec::new());
        }
        let name = if name.is_empty() {
            event_type(data)
        } else {
            name.to_owned()
        };
        match name.as_str() {
            "message_start" => {
                let start: MessageStart = parse(&name, data)?;
                self.id = completion_id(&start.message.id);
                self.model = start.message.model;
                self.usage.update(start.message.usage);
                Ok(vec![self.chunk(
                    json!({ "role": "assistant", "content": "" }),
                    None,
                )])
            }
            "content_block_start" => {
                let start: BlockStart = parse(&name, data)?;
                Ok(self.on_block_start(start))
            }
            "content_block_delta" => {
                let delta: BlockDelta = parse(&name, data)?;
                Ok(self.on_block_delta(delta))
            }
            "message_delta" => {
                let delta: MessageDelta = parse(&name, data)?;
                if delta.delta.stop_reason.is_some() {
                    self.stop_reason = delta.delta.stop_reason;
                }
                self.usage.update(delta.usage);
                Ok(Vec::new())
            }
            "message_stop" => {
                self.finished = true;
                let finish = finish_reason(self.stop_reason.as_deref());
                let usage = self.envelope(json!([]), Some(usage_json(&self.usage)));
                Ok(vec![self.chunk(json!({}), Some(finish)), usage])
            }
            "error" => {
                self.finished = true;
                Err(stream_error(data))
            }
            // content_block_stop, ping, and event types newer than this code
            _ => Ok(Vec::new()),
        }
    }

    fn on_block_start(&mut self, start: BlockStart) -> Vec<Bytes> {
        match start.content_block {
            ContentBlock::Text { text } if !text.is_empty() => {
                vec![self.chunk(json!({ "content": text }), None)]
            }
            ContentBlock::ToolUse { id, name, input } => {
                let index = self.next_tool;
                self.next_tool += 1;
                self.tool_index.insert(start.index, index);
                let call = json!({
                    "index": index,
                    "id": id,
                    "type": "function",
                    "function": { "name": name, "arguments": "" },
                });
                let mut out = vec![self.chunk(json!({ "tool_calls": [call] }), None)];
                // Anthropic starts tool blocks with `input: {}` and streams the JSON; should a block ever arrive
                // whole, its input goes out as the first arguments fragment.
                if input.as_object().is_some_and(|o| !o.is_empty()) {
                    let args =
                        json!({ "index": index, "function": { "arguments": input.to_string() } });
                    out.push(self.chunk(json!({ "tool_calls": [args] }), None));
                }
                out
            }
            ContentBlock::Thinking { thinking, .. } => {
                self.thinking.clone_from(&thinking);
                if thinking.is_empty() {
                    return Vec::new();
                }
                vec![self.chunk(json!({ "reasoning_content": thinking }), None)]
            }
            ContentBlock::RedactedThinking { data } => {
                let block = json!({"type": "redacted_thinking", "data": data});
                vec![self.chunk(json!({ "thinking_blocks": [block] }), None)]
            }
            _ => Vec::new(),
        }
    }

    fn on_block_delta(&mut self, delta: BlockDelta) -> Vec<Bytes> {
        match delta.delta {
            Delta::Text { text } if !text.is_empty() => {
                vec![self.chunk(json!({ "content": text }), None)]
            }
            Delta::InputJson { partial_json } if !partial_json.is_empty() => {
                let Some(&index) = self.tool_index.get(&delta.index) else {
                    return Vec::new(); // arguments for a block that never started as a tool call
                };
                let call = json!({ "index": index, "function": { "arguments": partial_json } });
                vec![self.chunk(json!({ "tool_calls": [call] }), None)]
            }
            Delta::Thinking { thinking } if !thinking.is_empty() => {
                self.thinking.push_str(&thinking);
                vec![self.chunk(json!({ "reasoning_content": thinking }), None)]
            }
            // The block's signature closes it: the whole block goes out once, for the client to send back.
            Delta::Signature { signature } => {
                let block = super::response::thinking_block(&self.thinking, Some(&signature));
                vec![self.chunk(json!({ "thinking_blocks": [block] }), None)]
            }
            _ => Vec::new(),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let choice =
            json!({ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish });
        self.envelope(json!([choice]), None)
    }

    fn envelope(&self, choices: Value, usage: Option<Value>) -> Bytes {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if let Some(u) = usage {
            chunk["usage"] = u;
        }
        Bytes::from(chunk.to_string())
    }
}

fn event_type(data: &[u8]) -> String {
    serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

fn parse<T: DeserializeOwned>(name: &str, data: &[u8]) -> Result<T, UpstreamError> {
    serde_json::from_slice(data).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("upstream sent a malformed `{name}` event: {e}"),
        )
    })
}

/// An `error` event: the status Anthropic would have used for that error type, so `overloaded_error` is a 529.
fn stream_error(data: &[u8]) -> UpstreamError {
    let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(data) else {
        return UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "upstream sent an unreadable error event mid-stream",
        );
    };
    let kind = env.error.kind.unwrap_or_else(|| "api_error".to_owned());
    let message = env.error.message.unwrap_or_else(|| kind.clone());
    let mut err = UpstreamError::new(
        UpstreamErrorKind::Status(error_status(&kind)),
        format!("upstream failed mid-stream: {message}"),
    );
    err.error_type = Some(kind);
    with_anthropic_code(err)
}

/// Upstream SSE events → OpenAI chunk payloads; ends after `message_stop`, fails on an `error` event or if the
/// upstream closes before `message_stop` (a cut stream must not look like a clean finish).
pub fn openai_chunks(
    events: BoxStream<'static, Result<SseEvent, UpstreamError>>,
    created: u64,
) -> ChunkStream {
    let state = (
        events,
        StreamState::new(created),
        VecDeque::<Bytes>::new(),
        false,
    );
    futures::stream::unfold(
        state,
        |(mut events, mut conv, mut ready, failed)| async move {
            loop {
                if let Some(chunk) = ready.pop_front() {
                    return Some((Ok(chunk), (events, conv, ready, failed)));
                }
                if failed || conv.is_finished() {
                    return None;
                }
                let result = match events.next().await {
                    Some(Ok(ev)) => {
                        conv.on_event(ev.event.as_deref().unwrap_or_default(), &ev.data)
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream closed the stream before message_stop",
                    )),
                };
                match result {
                    Ok(chunks) => ready.extend(chunks),
                    Err(e) => return Some((Err(e), (events, conv, ready, true))),
                }
            }
        },
    )
    .boxed()
}
