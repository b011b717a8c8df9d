//! Gemini's `alt=sse` stream, as read by [`NativeTap`](super::native::NativeTap) for a gemini channel serving a
//! Gemini route natively: every event is a whole `GenerateContentResponse` chunk, relayed untouched and without an
//! `event:` name. Its `usageMetadata` is cumulative, so the last one seen is the bill; the text, thoughts and
//! function calls are kept for a stream that ends early. There is no end event: the stream ends normally when the
//! upstream closes it after a chunk with a `finishReason`. A stream cut at the hold ends with a chunk finishing
//! `MAX_TOKENS`, as Gemini ends one at its output limit.

use super::native::EventProtocol;
use crate::billing::pricing::TokenCounts;
use crate::billing::settle::Delivered;
use crate::error::{ApiError, ErrorShape};
use api_types::Usage;
use serde_json::{Value, json};

#[derive(Default)]
pub struct GeminiEvents {
    usage: Option<Usage>,
    /// A candidate said why it finished.
    finished: bool,
    /// What the upstream calls the answer, repeated on a cut's closing chunk.
    model_version: Option<String>,
    response_id: Option<String>,
}

/// The kind [`GeminiEvents::inspect`] gives an error object.
const ERROR: &str = "error";

impl EventProtocol for GeminiEvents {
    fn inspect(&mut self, data: &[u8], delivered: &mut Delivered) -> Option<String> {
        let v: Value = serde_json::from_slice(data).ok()?;
        if v.get("error").is_some() {
            return Some(ERROR.to_owned());
        }
        if let Some(u) = providers::gemini::native::usage(&v) {
            self.usage = Some(u);
        }
        for (field, slot) in [
            ("modelVersion", &mut self.model_version),
            ("responseId", &mut self.response_id),
        ] {
            if let Some(s) = v.get(field).and_then(Value::as_str) {
                *slot = Some(s.to_owned());
            }
        }
        let candidates = v.get("candidates").and_then(Value::as_array);
        for candidate in candidates.into_iter().flatten() {
            self.finished |= candidate.get("finishReason").is_some();
            let parts = candidate
                .pointer("/content/parts")
                .and_then(Value::as_array);
            for part in parts.into_iter().flatten() {
                if let Some(t) = part.get("text").and_then(Value::as_str) {
                    delivered.completion_text.push_str(t);
                }
                if let Some(call) = part.get("functionCall") {
                    delivered.tool_calls += 1;
                    if let Some(args) = call.get("args") {
                        delivered.completion_text.push_str(&args.to_string());
                    }
                }
            }
        }
        Some("chunk".to_owned())
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn is_end(&self, _: &str) -> bool {
        false
    }

    fn is_error(&self, kind: &str) -> bool {
        kind == ERROR
    }

    fn error_event(&self, err: &ApiError) -> (&'static str, String) {
        let body = err.body_in(ErrorShape::Google);
        (ERROR, String::from_utf8_lossy(&body).into_owned())
    }

    fn cut_short(&self) -> &'static str {
        "upstream closed the stream before a finishReason"
    }

    fn cut_events(&mut self, billed: TokenCounts) -> Vec<(&'static str, String)> {
        let chunk = json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]},
                "finishReason": "MAX_TOKENS", "index": 0}],
            "usageMetadata": {"promptTokenCount": billed.prompt,
                "candidatesTokenCount": billed.completion,
                "totalTokenCount": billed.prompt + billed.completion},
            "modelVersion": self.model_version,
            "responseId": self.response_id,
        });
        vec![("chunk", chunk.to_string())]
    }

    fn named(&self) -> bool {
        false
    }

    fn ended_by_close(&self) -> bool {
        self.finished
    }
}
