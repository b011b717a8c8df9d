//! `GeminiEncoder`: OpenAI chat chunks in, Gemini `alt=sse` events out (`data:` lines only, each a whole
//! `GenerateContentResponse`). Text and thoughts go out as they arrive. A function call is one whole part in
//! Gemini, while OpenAI streams its arguments in fragments, so calls are collected and sent on the closing event,
//! which also carries the `finishReason` and, once the usage chunk has come, the `usageMetadata`.

use super::answer::{finish_reason, function_call_part, text_parts, usage_metadata};
use crate::error::{ApiError, ErrorShape};
use crate::relay::chat_parts::choices;
use crate::streaming::encode::ChunkEvents;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A function call being streamed: its id, name and the argument fragments so far.
#[derive(Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
}

pub struct GeminiEncoder {
    model: String,
    response_id: String,
    /// The finish reason of each choice that has one, by choice index.
    finished: BTreeMap<u64, String>,
    /// Function calls by (choice index, call index).
    calls: BTreeMap<(u64, u64), Call>,
    /// The closing event was sent.
    closed: bool,
}

impl GeminiEncoder {
    pub fn new(model: String, response_id: String) -> Self {
        Self {
            model,
            response_id,
            finished: BTreeMap::new(),
            calls: BTreeMap::new(),
            closed: false,
        }
    }

    fn event(&self, candidates: Vec<Value>, usage: Option<&Value>) -> Bytes {
        let mut chunk = json!({
            "candidates": candidates,
            "modelVersion": self.model,
            "responseId": self.response_id,
        });
        if let Some(u) = usage {
            chunk["usageMetadata"] = usage_metadata(u);
        }
        crate::streaming::sse::frame(None, chunk.to_string().as_bytes())
    }

    /// The parts one choice's delta carries now; function-call fragments are collected instead.
    fn delta_parts(&mut self, index: u64, delta: &Value) -> Vec<Value> {
        let parts = text_parts(delta);
        let fragments = delta.get("tool_calls").and_then(Value::as_array);
        for fragment in fragments.into_iter().flatten() {
            let at = fragment.get("index").and_then(Value::as_u64).unwrap_or(0);
            let call = self.calls.entry((index, at)).or_default();
            let s = |p: &str| fragment.pointer(p).and_then(Value::as_str);
            if let Some(id) = s("/id") {
                call.id = id.to_owned();
            }
            if let Some(name) = s("/function/name") {
                call.name.push_str(name);
            }
            if let Some(args) = s("/function/arguments") {
                call.arguments.push_str(args);
            }
        }
        parts
    }

    /// The closing event: each finished choice with its function calls and finish reason, and the usage.
    fn close(&mut self, usage: Option<&Value>) -> Bytes {
        self.closed = true;
        let finished = std::mem::take(&mut self.finished);
        let calls = std::mem::take(&mut self.calls);
        let mut candidates = Vec::new();
        for (index, reason) in finished {
            let parts: Vec<Value> = calls
                .range((index, 0)..=(index, u64::MAX))
                .map(|(_, c)| function_call_part(&c.id, &c.name, &c.arguments))
                .collect();
            candidates.push(json!({"content": {"role": "model", "parts": parts},
                "finishReason": finish_reason(&reason), "index": index}));
        }
        self.event(candidates, usage)
    }
}

impl ChunkEvents for GeminiEncoder {
    fn on_chunk(&mut self, chunk: &[u8]) -> Bytes {
        let Ok(v) = serde_json::from_slice::<Value>(chunk) else {
            return Bytes::new();
        };
        let mut candidates = Vec::new();
        for choice in choices(&v) {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let parts = choice
                .get("delta")
                .map(|d| self.delta_parts(index, d))
                .unwrap_or_default();
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finished.insert(index, reason.to_owned());
            }
            if !parts.is_empty() {
                candidates
                    .push(json!({"content": {"role": "model", "parts": parts}, "index": index}));
            }
        }
        let usage = v.get("usage").filter(|u| u.is_object());
        let mut out = if candidates.is_empty() {
            Bytes::new()
        } else {
            self.event(candidates, None)
        };
        if let Some(u) = usage.filter(|_| !self.closed) {
            out = [out, self.close(Some(u))].concat().into();
        }
        out
    }

    fn upstream_error(&mut self, message: &str) -> Bytes {
        let body = json!({"error": {"code": 502, "message": message, "status": "UNAVAILABLE"}});
        crate::streaming::sse::frame(None, body.to_string().as_bytes())
    }

    fn error(&mut self, err: &ApiError) -> Bytes {
        crate::streaming::sse::frame(None, &err.body_in(ErrorShape::Google))
    }

    fn finish(&mut self) -> Bytes {
        if self.closed {
            return Bytes::new();
        }
        self.close(None)
    }
}
