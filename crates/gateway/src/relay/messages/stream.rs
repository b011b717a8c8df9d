//! `AnthropicEncoder`: OpenAI chat chunks in, Anthropic Messages stream events out (`message_start`,
//! `content_block_start/delta/stop` for text and tool use, `message_delta` with the stop reason and usage,
//! `message_stop`). A small state machine: which block is open, and the index of the next one.
//!
//! OpenAI may interleave the argument fragments of several tool calls; Anthropic blocks cannot interleave. The
//! first tool call is streamed live; fragments of any other call are buffered, and each buffered call is sent as
//! one whole block at the end.

use super::convert;
use crate::streaming::chunk::Ending;
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, PartialEq, Eq)]
enum Open {
    None,
    Text,
    /// A tool-use block, with the OpenAI tool-call index it came from.
    Tool(u64),
}

/// A tool call held back until the end of the stream.
#[derive(Default)]
struct PendingTool {
    id: String,
    name: String,
    arguments: String,
}

pub struct AnthropicEncoder {
    id: String,
    model: String,
    started: bool,
    open: Open,
    next_block: u64,
    ending: Ending,
    /// OpenAI index of the tool call streamed live, once there is one.
    live_tool: Option<u64>,
    pending: BTreeMap<u64, PendingTool>,
}

fn event(out: &mut BytesMut, name: &str, data: &Value) {
    crate::streaming::sse::write(out, Some(name), data.to_string().as_bytes());
}

fn delta_event(out: &mut BytesMut, index: u64, delta: Value) {
    event(
        out,
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
    );
}

impl AnthropicEncoder {
    pub fn new(id: String, model: String) -> Self {
        Self {
            id,
            model,
            started: false,
            open: Open::None,
            next_block: 0,
            ending: Ending::default(),
            live_tool: None,
            pending: BTreeMap::new(),
        }
    }

    fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.open != Open::None {
            let index = self.next_block - 1;
            event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
            self.open = Open::None;
        }
    }

    fn open_block(&mut self, out: &mut BytesMut, kind: Open, block: Value) -> u64 {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = kind;
        let start = json!({"type": "content_block_start", "index": index, "content_block": block});
        event(out, "content_block_start", &start);
        index
    }

    pub fn on_chunk(&mut self, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        let Ok(chunk) = serde_json::from_slice::<Value>(payload) else {
            return out.freeze();
        };
        self.start(&mut out);
        let choice = self.ending.read(&chunk);
        if let Some(text) = choice.text {
            let index = if self.open == Open::Text {
                self.next_block - 1
            } else {
                self.open_block(&mut out, Open::Text, json!({"type": "text", "text": ""}))
            };
            delta_event(&mut out, index, json!({"type": "text_delta", "text": text}));
        }
        for call in choice.calls {
            self.on_tool_fragment(&mut out, call);
        }
        out.freeze()
    }

    fn on_tool_fragment(&mut self, out: &mut BytesMut, call: &Value) {
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let id = call.get("id").and_then(Value::as_str);
        let name = call.pointer("/function/name").and_then(Value::as_str);
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let live_open = self.live_tool == Some(index) && self.open == Open::Tool(index);
        if !live_open {
            if self.live_tool.is_none() && self.pending.is_empty() {
                // The first tool call: stream it live.
                self.live_tool = Some(index);
                let block = json!({"type": "tool_use", "id": id.unwrap_or_default(),
                    "name": name.unwrap_or_default(), "input": {}});
                self.open_block(out, Open::Tool(index), block);
            } else {
                let pending = self.pending.entry(index).or_default();
                if let Some(id) = id {
                    pending.id = id.to_owned();
                }
                if let Some(name) = name {
                    pending.name.push_str(name);
                }
                pending.arguments.push_str(args);
                return;
            }
        }
        if !args.is_empty() {
            let block = self.next_block - 1;
            delta_event(
                out,
                block,
                json!({"type": "input_json_delta", "partial_json": args}),
            );
        }
    }

    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        self.start(&mut out);
        self.close(&mut out);
        for (index, tool) in std::mem::take(&mut self.pending) {
            let block = json!({"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}});
            let block_index = self.open_block(&mut out, Open::Tool(index), block);
            if !tool.arguments.is_empty() {
                let delta = json!({"type": "input_json_delta", "partial_json": tool.arguments});
                delta_event(&mut out, block_index, delta);
            }
            self.close(&mut out);
        }
        let usage = convert::usage(self.ending.usage.as_ref());
        let stop_reason = convert::stop_reason(self.ending.finish.as_deref());
        event(
            &mut out,
            "message_delta",
            &json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": usage}),
        );
        event(&mut out, "message_stop", &json!({"type": "message_stop"}));
        out.freeze()
    }

    pub fn error(&mut self, kind: &str, message: &str) -> Bytes {
        let mut out = BytesMut::new();
        event(
            &mut out,
            "error",
            &json!({"type": "error", "error": {"type": kind, "message": message}}),
        );
        out.freeze()
    }
}

impl crate::streaming::encode::ChunkEvents for AnthropicEncoder {
    fn on_chunk(&mut self, chunk: &[u8]) -> Bytes {
        AnthropicEncoder::on_chunk(self, chunk)
    }

    fn upstream_error(&mut self, message: &str) -> Bytes {
        AnthropicEncoder::error(self, "api_error", message)
    }

    fn error(&mut self, err: &crate::error::ApiError) -> Bytes {
        AnthropicEncoder::error(self, err.anthropic_type(), &err.to_string())
    }

    fn finish(&mut self) -> Bytes {
        AnthropicEncoder::finish(self)
    }
}
