//! The OpenAI Responses API's typed stream events, as read by [`NativeTap`](super::native::NativeTap): the events
//! go to the client untouched; the bill comes from the `usage` of the closing `response.completed` (or
//! `response.incomplete` / `response.failed`); the streamed text, function-call arguments and reasoning are kept
//! for a stream that ends early. A stream cut at the hold ends with `response.incomplete`
//! (`max_output_tokens`), built from the response the upstream announced and the items it finished.

use super::native::EventProtocol;
use crate::billing::paid_tools::{self, ToolApi};
use crate::billing::pricing::TokenCounts;
use crate::billing::settle::Delivered;
use crate::error::ApiError;
use api_types::Usage;
use api_types::usage::PromptTokensDetails;
use serde_json::Value;

#[derive(Default)]
pub struct ResponsesEvents {
    usage: Option<Usage>,
    /// The response as last announced (`response.created` / `response.in_progress`), for a cut's closing event.
    response: Option<Value>,
    /// Output items the upstream finished (`response.output_item.done`).
    output: Vec<Value>,
    /// The sequence number after the last one seen.
    next_sequence: u64,
}

/// Delta events whose `delta` is text the client receives.
const TEXT_DELTAS: [&str; 5] = [
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "response.refusal.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
];

const END_EVENTS: [&str; 3] = [
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// OpenAI-style usage from a Responses `usage` object.
pub fn usage_of(usage: &Value) -> Option<Usage> {
    let n = |p: &str| usage.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/input_tokens"), n("/output_tokens"));
    (input + output > 0).then(|| Usage {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: input + output,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: n("/input_tokens_details/cached_tokens"),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: None,
    })
}

impl EventProtocol for ResponsesEvents {
    fn inspect(&mut self, data: &[u8], delivered: &mut Delivered) -> Option<String> {
        let v: Value = serde_json::from_slice(data).ok()?;
        let kind = v.get("type").and_then(Value::as_str)?.to_owned();
        if let Some(n) = v.get("sequence_number").and_then(Value::as_u64) {
            self.next_sequence = self.next_sequence.max(n.saturating_add(1));
        }
        match kind.as_str() {
            k if TEXT_DELTAS.contains(&k) => {
                if let Some(d) = v.get("delta").and_then(Value::as_str) {
                    delivered.completion_text.push_str(d);
                }
            }
            "response.created" | "response.in_progress" => {
                self.response = v.get("response").cloned();
            }
            "response.output_item.done" => {
                if let Some(item) = v.get("item") {
                    // A finished built-in tool call (web search…) is due even if the stream ends early.
                    let one = serde_json::json!({"output": [item]});
                    for (name, n) in paid_tools::reported_calls(ToolApi::Responses, &one) {
                        paid_tools::add_calls(&mut delivered.builtin_calls, &name, n);
                    }
                    self.output.push(item.clone());
                }
            }
            "response.output_item.added"
                if v.pointer("/item/type").and_then(Value::as_str) == Some("function_call") =>
            {
                delivered.tool_calls += 1;
            }
            k if END_EVENTS.contains(&k) => {
                paid_tools::at_least(
                    &mut delivered.builtin_calls,
                    paid_tools::reported_calls(ToolApi::Responses, &v),
                );
                if let Some(u) = v.pointer("/response/usage").and_then(usage_of) {
                    self.usage = Some(u);
                }
                if k == "response.failed" {
                    delivered.status = 502;
                    delivered.error = Some(
                        v.pointer("/response/error/message")
                            .and_then(Value::as_str)
                            .unwrap_or("upstream reported the response as failed")
                            .to_owned(),
                    );
                }
            }
            _ => {}
        }
        Some(kind)
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn is_end(&self, kind: &str) -> bool {
        END_EVENTS.contains(&kind)
    }

    fn error_event(&self, err: &ApiError) -> (&'static str, String) {
        let body = err.body();
        let body = serde_json::json!({
            "type": "error",
            "code": body.error.code,
            "message": body.error.message,
            "param": body.error.param,
            "sequence_number": 0,
        });
        ("error", body.to_string())
    }

    fn cut_short(&self) -> &'static str {
        "upstream closed the stream before response.completed"
    }

    fn cut_events(&mut self, billed: TokenCounts) -> Vec<(&'static str, String)> {
        let mut response = self
            .response
            .take()
            .unwrap_or_else(|| serde_json::json!({}));
        response["status"] = "incomplete".into();
        response["incomplete_details"] = serde_json::json!({"reason": "max_output_tokens"});
        response["output"] = Value::Array(std::mem::take(&mut self.output));
        response["usage"] = serde_json::json!({
            "input_tokens": billed.prompt,
            "input_tokens_details": {"cached_tokens": billed.cached},
            "output_tokens": billed.completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": billed.prompt + billed.completion,
        });
        let event = serde_json::json!({"type": "response.incomplete", "response": response,
            "sequence_number": self.next_sequence});
        vec![("response.incomplete", event.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_usage_and_text_and_ends() {
        let mut p = ResponsesEvents::default();
        let mut d = Delivered::default();
        let delta = br#"{"type":"response.output_text.delta","delta":"Hel"}"#;
        assert_eq!(
            p.inspect(delta, &mut d).as_deref(),
            Some("response.output_text.delta")
        );
        assert_eq!(d.completion_text, "Hel");
        let done = br#"{"type":"response.completed","response":{"usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":2},"output_tokens":7}}}"#;
        let kind = p.inspect(done, &mut d).unwrap_or_default();
        assert!(p.is_end(&kind));
        let u = p.usage().unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.cached_tokens()),
            (5, 7, 2)
        );
        assert!(!p.is_end("response.created"));
    }

    #[test]
    fn reasoning_is_delivered_text_and_a_cut_ends_incomplete() {
        let mut p = ResponsesEvents::default();
        let mut d = Delivered::default();
        let created = br#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","output":[]}}"#;
        let summary = br#"{"type":"response.reasoning_summary_text.delta","sequence_number":1,"delta":"Think"}"#;
        let text = br#"{"type":"response.output_text.delta","sequence_number":2,"delta":"ing"}"#;
        for e in [&created[..], &summary[..], &text[..]] {
            p.inspect(e, &mut d);
        }
        assert_eq!(d.completion_text, "Thinking");
        let billed = TokenCounts {
            prompt: 5,
            completion: 2,
            ..TokenCounts::default()
        };
        let events = p.cut_events(billed);
        assert_eq!(events.len(), 1);
        let (name, data) = &events[0];
        assert_eq!(*name, "response.incomplete");
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["sequence_number"], 3);
        assert_eq!(v["response"]["id"], "resp_1");
        assert_eq!(v["response"]["status"], "incomplete");
        assert_eq!(
            v["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(v["response"]["usage"]["output_tokens"], 2);
    }
}
