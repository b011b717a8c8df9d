//! `AnthropicEvents`: OpenAI chat chunks in, Anthropic Messages stream events out (`message_start`,
//! `content_block_start/delta/stop` for text and tool use, `message_delta` with the stop reason and usage,
//! `message_stop`). A small state machine: which block is open, and the index of the next one.

use super::convert;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};

#[derive(Debug, PartialEq, Eq)]
enum Open {
    None,
    Text,
    /// A tool-use block, with the OpenAI tool-call index it came from.
    Tool(u64),
}

pub struct AnthropicEvents {
    id: String,
    model: String,
    started: bool,
    open: Open,
    next_block: u64,
    finish: Option<String>,
    usage: Option<Value>,
}

fn event(out: &mut BytesMut, name: &str, data: &Value) {
    out.put_slice(b"event: ");
    out.put_slice(name.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(data.to_string().as_bytes());
    out.put_slice(b"\n\n");
}

impl AnthropicEvents {
    pub fn new(id: String, model: String) -> Self {
        Self {
            id,
            model,
            started: false,
            open: Open::None,
            next_block: 0,
            finish: None,
            usage: None,
        }
    }

    fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
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
        event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    pub fn on_chunk(&mut self, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        let Ok(chunk) = serde_json::from_slice::<Value>(payload) else {
            return out.freeze();
        };
        self.start(&mut out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return out.freeze();
        };
        let delta = choice.get("delta");
        if let Some(text) = delta.and_then(|d| d.get("content")).and_then(Value::as_str)
            && !text.is_empty()
        {
            let index = if self.open == Open::Text {
                self.next_block - 1
            } else {
                self.open_block(&mut out, Open::Text, json!({"type": "text", "text": ""}))
            };
            event(
                &mut out,
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": text}}),
            );
        }
        for call in delta
            .and_then(|d| d.get("tool_calls"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let call_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let index = match (&self.open, call.get("id").and_then(Value::as_str)) {
                (Open::Tool(i), None) if *i == call_index => self.next_block - 1,
                (_, id) => {
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    self.open_block(
                        &mut out,
                        Open::Tool(call_index),
                        json!({"type": "tool_use",
                        "id": id.unwrap_or_default(), "name": name, "input": {}}),
                    )
                }
            };
            if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str)
                && !args.is_empty()
            {
                event(
                    &mut out,
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": args}}),
                );
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_owned());
        }
        out.freeze()
    }

    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        self.start(&mut out);
        self.close(&mut out);
        let usage = convert::usage(self.usage.as_ref());
        event(
            &mut out,
            "message_delta",
            &json!({"type": "message_delta",
            "delta": {"stop_reason": convert::stop_reason(self.finish.as_deref()), "stop_sequence": null},
            "usage": usage}),
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
