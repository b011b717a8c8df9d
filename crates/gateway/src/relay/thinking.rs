//! Reasoning asked for on a chat object (`reasoning_effort`, or `reasoning.effort`, or new-api's `-thinking` and
//! `-thinking-<budget>` model names): its thinking budget in the hold, and thinking left off when the account
//! cannot pay for it (issue 18, decision 0015). The budget table is the adapters' (`providers::reasoning`), so the
//! hold and what the upstream is sent agree.
//!
//! The output the hold asks for is the client's answer limit plus the budget (within the model's ceiling). What
//! the hold then pays for, per choice, less the budget, is written into the request as the answer's limit whatever
//! the client sent; the adapters that take a budget add it back (Anthropic's `max_tokens` and Gemini's
//! `maxOutputTokens` count thinking), and OpenAI-compatible upstreams, whose `max_completion_tokens` already counts
//! reasoning, get no more than the client asked. So no upstream may think and answer past the hold. When the hold
//! does not pay for the budget and one answer token, the effort is removed and the answer comes without reasoning
//! — never a larger bill (issue 10's affordability rule).

use crate::catalog::Snapshot;
use crate::error::ApiError;
use providers::reasoning::{self, Effort};
use serde_json::{Map, Value};

/// The thinking budget a chat object asks for.
#[derive(Debug, Clone, Copy)]
pub struct Thinking {
    budget: u64,
    /// The model's name (or a channel's name for it) carries new-api's `-thinking` suffix: turning thinking off
    /// takes an explicit `reasoning_effort: "none"`.
    suffixed: bool,
}

impl Thinking {
    /// The request's thinking, if any: its effort's budget, or the largest a `-thinking` suffix asks for on
    /// `model` (the request's) or on a name the `group`'s channels in `snap` call it, so the hold covers whichever channel serves it.
    /// A value that is not an effort is a 400 naming its field. `reasoning.effort` becomes `reasoning_effort` (the
    /// chat API's own field), so OpenAI-compatible upstreams read it too.
    pub fn read(
        request: &mut Map<String, Value>,
        model: &str,
        snap: &Snapshot,
        group: &str,
    ) -> Result<Option<Thinking>, ApiError> {
        Effort::of(request).map_err(|field| ApiError::InvalidRequest {
            message: format!("`{field}` must be one of none, minimal, low, medium, high."),
            param: Some(field.to_owned()),
            code: None,
        })?;
        let moved = match request.get_mut("reasoning") {
            Some(Value::Object(reasoning)) => reasoning.remove("effort"),
            _ => None,
        };
        if let Some(effort) = moved {
            if request
                .get("reasoning")
                .is_some_and(|r| r.as_object().is_some_and(Map::is_empty))
            {
                request.remove("reasoning");
            }
            request.entry("reasoning_effort").or_insert(effort);
        }
        // The channels' names that carry a suffix: none, and no allocation, as a rule.
        let suffixed_names: Vec<&str> = snap
            .channels_for(model, group)
            .map(|c| c.upstream_model(model))
            .filter(|m| reasoning::has_suffix(m))
            .collect();
        let names = || std::iter::once(model).chain(suffixed_names.iter().copied());
        let budget = names().filter_map(|m| reasoning::plan(request, m).1).max();
        let suffixed = names().any(reasoning::has_suffix);
        Ok(budget.map(|budget| Thinking { budget, suffixed }))
    }

    /// This thinking with at least `budget` (a native body's own, which its channel is sent as it is).
    pub fn at_least(self, budget: Option<u64>) -> Thinking {
        Thinking {
            budget: self.budget.max(budget.unwrap_or(0)),
            ..self
        }
    }

    /// The output to hold for an answer limit of `answer` tokens per choice (`None`: the model's ceiling).
    pub fn ask(self, answer: Option<u64>) -> Option<u64> {
        answer.map(|a| a.saturating_add(self.budget))
    }

    /// The answer's limit to write for `paid` output tokens per choice: with thinking, what is left after the
    /// budget; when they do not pay for the budget and one answer token, thinking is turned off in `request`
    /// and all of them are the answer's.
    pub fn fit(self, request: &mut Map<String, Value>, paid: u64) -> u64 {
        if paid > self.budget {
            return paid - self.budget;
        }
        if self.suffixed {
            request.insert("reasoning_effort".to_owned(), Value::from("none"));
        } else {
            request.remove("reasoning_effort");
        }
        paid
    }
}
