//! The OpenAI Responses API's typed stream events, as read by [`NativeTap`](super::native::NativeTap): the events
//! go to the client untouched; the bill comes from the `usage` of the closing `response.completed` (or
//! `response.incomplete` / `response.failed`), and the streamed text and function-call arguments are kept in case
//! no usage arrives.

use super::native::EventProtocol;
use crate::error::ApiError;
use crate::relay::settle::Delivered;
use api_types::Usage;
use api_types::usage::PromptTokensDetails;
use serde_json::Value;

#[derive(Default)]
pub struct ResponsesEvents {
    usage: Option<Usage>,
}

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
        }),
    })
}

impl EventProtocol for ResponsesEvents {
    fn inspect(&mut self, data: &[u8], delivered: &mut Delivered) -> Option<String> {
        let v: Value = serde_json::from_slice(data).ok()?;
        let kind = v.get("type").and_then(Value::as_str)?.to_owned();
        match kind.as_str() {
            "response.output_text.delta"
            | "response.function_call_arguments.delta"
            | "response.refusal.delta" => {
                if let Some(d) = v.get("delta").and_then(Value::as_str) {
                    delivered.completion_text.push_str(d);
                }
            }
            "response.output_item.added"
                if v.pointer("/item/type").and_then(Value::as_str) == Some("function_call") =>
            {
                delivered.tool_calls += 1;
            }
            k if END_EVENTS.contains(&k) => {
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
}
