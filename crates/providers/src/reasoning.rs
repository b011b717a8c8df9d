//! Reasoning on the way in (issue 18): OpenAI's `reasoning_effort` (`minimal`, `low`, `medium`, `high`; `none`
//! asks for no reasoning) as a thinking budget in tokens for the providers that take one — Anthropic
//! `thinking.budget_tokens`, Gemini `thinkingConfig.thinkingBudget`. OpenAI-compatible upstreams get the effort as
//! the client wrote it.
//!
//! | effort | budget (tokens) |
//! |---|---|
//! | `minimal`, `low` | 1,024 (Anthropic's least) |
//! | `medium` | 2,048 |
//! | `high` | 4,096 |
//!
//! These are LiteLLM's defaults, so clients moving over get the same answers. A chat object's `max_tokens` (or
//! `max_completion_tokens`) is the answer's limit; the adapters add the budget to it where the upstream's limit
//! covers thinking too (Anthropic's `max_tokens`, Gemini's `maxOutputTokens`). The gateway holds both, and leaves
//! thinking off when the account cannot pay for the budget and one answer token.

use serde_json::{Map, Value};

/// How hard the model should think before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
}

impl Effort {
    /// The effort a chat request asks for: `reasoning_effort`, else `reasoning.effort` (the Responses API's form,
    /// accepted on chat too). `Ok(None)` when it asks for none; `Err` names the field holding a value that is not
    /// an effort.
    pub fn of(req: &Map<String, Value>) -> Result<Option<Effort>, &'static str> {
        let (field, value) = match req.get("reasoning_effort").filter(|v| !v.is_null()) {
            Some(v) => ("reasoning_effort", v),
            None => match req
                .get("reasoning")
                .and_then(|r| r.get("effort"))
                .filter(|v| !v.is_null())
            {
                Some(v) => ("reasoning.effort", v),
                None => return Ok(None),
            },
        };
        let effort = match value.as_str() {
            Some("none") => Effort::None,
            Some("minimal") => Effort::Minimal,
            Some("low") => Effort::Low,
            Some("medium") => Effort::Medium,
            Some("high") => Effort::High,
            _ => return Err(field),
        };
        Ok(Some(effort))
    }

    /// The thinking budget in tokens (`None`: no thinking).
    pub fn budget(self) -> Option<u64> {
        match self {
            Effort::None => None,
            Effort::Minimal | Effort::Low => Some(1024),
            Effort::Medium => Some(2048),
            Effort::High => Some(4096),
        }
    }
}

/// The thinking budget a chat request asks for, if any (an invalid effort asks for none: the gateway refuses it
/// before a request reaches an adapter).
pub fn budget(req: &Map<String, Value>) -> Option<u64> {
    Effort::of(req).ok().flatten().and_then(Effort::budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(v: Value) -> Result<Option<Effort>, &'static str> {
        Effort::of(v.as_object().unwrap())
    }

    #[test]
    fn efforts_and_their_budgets() {
        assert_eq!(of(json!({})), Ok(None));
        assert_eq!(of(json!({"reasoning_effort": null})), Ok(None));
        assert_eq!(
            of(json!({"reasoning_effort": "high"})),
            Ok(Some(Effort::High))
        );
        assert_eq!(
            of(json!({"reasoning": {"effort": "minimal"}})),
            Ok(Some(Effort::Minimal))
        );
        assert_eq!(
            of(json!({"reasoning_effort": "max"})),
            Err("reasoning_effort")
        );
        assert_eq!(of(json!({"reasoning_effort": 3})), Err("reasoning_effort"));
        assert_eq!(
            of(json!({"reasoning": {"effort": true}})),
            Err("reasoning.effort")
        );
        let budgets = [
            Effort::None,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
        ]
        .map(Effort::budget);
        assert_eq!(
            budgets,
            [None, Some(1024), Some(1024), Some(2048), Some(4096)]
        );
        assert_eq!(
            budget(json!({"reasoning_effort": "medium"}).as_object().unwrap()),
            Some(2048)
        );
        assert_eq!(
            budget(json!({"reasoning_effort": "bogus"}).as_object().unwrap()),
            None
        );
    }
}
