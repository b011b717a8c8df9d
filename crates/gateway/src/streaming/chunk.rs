//! Reading OpenAI chat chunks for the encoders that turn a chat stream into another API's single-choice events
//! (Anthropic Messages, Responses): each chunk's first choice, and the usage and finish reason the stream's
//! closing events report.

use serde_json::Value;

/// The first choice of one chat chunk: its text delta (when not empty) and its tool-call fragments.
pub struct FirstChoice<'a> {
    pub text: Option<&'a str>,
    pub calls: &'a [Value],
}

/// The finish reason and the usage a stream has reported so far, for its closing events.
#[derive(Default)]
pub struct Ending {
    pub finish: Option<String>,
    pub usage: Option<Value>,
}

impl Ending {
    /// Notes `chunk`'s usage (the usage-only chunk's included) and its first choice's finish reason, and returns
    /// that choice's deltas (none when the chunk has no choice).
    pub fn read<'a>(&mut self, chunk: &'a Value) -> FirstChoice<'a> {
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let choice = chunk.pointer("/choices/0");
        if let Some(f) = choice
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str)
        {
            self.finish = Some(f.to_owned());
        }
        let delta = choice.and_then(|c| c.get("delta"));
        FirstChoice {
            text: delta
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty()),
            calls: delta
                .and_then(|d| d.get("tool_calls"))
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice),
        }
    }
}
