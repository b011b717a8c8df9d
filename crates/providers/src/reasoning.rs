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
//! These are LiteLLM's defaults, so clients moving over get the same answers. new-api's model names ask for
//! thinking too: `<model>-thinking` (the effort's budget, else 2,048) and `<model>-thinking-<budget>` (at least
//! 1,024); an Anthropic or Gemini channel sends `<model>` with that budget. Such a name is a model of its own for
//! prices, key and channel model lists. An effort of `none` turns a suffix's thinking off (the gateway writes it
//! when the account cannot pay for the budget). A chat object's `max_tokens` (or
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

    /// The least effort whose budget covers `budget` tokens (`High` beyond the table): how a client's own budget
    /// (Gemini's `thinkingBudget`) is asked of a channel that takes an effort.
    pub fn for_budget(budget: u64) -> Effort {
        [Effort::Low, Effort::Medium]
            .into_iter()
            .find(|e| e.budget().is_some_and(|b| b >= budget))
            .unwrap_or(Effort::High)
    }

    /// The effort as the chat API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }
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

/// The least thinking budget Anthropic takes.
const MIN_BUDGET: u64 = 1024;

/// The budget of a bare `-thinking` suffix when no effort says otherwise.
const SUFFIX_BUDGET: u64 = 2048;

/// `model` without new-api's thinking suffix, and the budget the suffix names (`None`: `-thinking` alone).
fn split_suffix(model: &str) -> Option<(&str, Option<u64>)> {
    if let Some(base) = model.strip_suffix("-thinking") {
        return Some((base, None));
    }
    let (base, budget) = model.rsplit_once("-thinking-")?;
    let budget: u64 = budget.parse().ok()?;
    Some((base, Some(budget.max(MIN_BUDGET))))
}

/// The model a converting adapter (Anthropic, Gemini) names upstream for a request of `model`, and the thinking
/// budget: the suffix's, else the effort's (an invalid effort counts as none: the gateway refuses it before a
/// request reaches an adapter).
pub fn plan<'a>(req: &Map<String, Value>, model: &'a str) -> (&'a str, Option<u64>) {
    let effort = Effort::of(req).ok().flatten();
    match split_suffix(model) {
        Some((base, _)) if effort == Some(Effort::None) => (base, None),
        Some((base, budget)) => (
            base,
            Some(
                budget.unwrap_or_else(|| effort.and_then(Effort::budget).unwrap_or(SUFFIX_BUDGET)),
            ),
        ),
        None => (model, effort.and_then(Effort::budget)),
    }
}

/// Whether `model` carries new-api's thinking suffix.
pub fn has_suffix(model: &str) -> bool {
    split_suffix(model).is_some()
}

/// The thinking budget a chat request asks for, if any (see [`plan`]; the model is the request's).
pub fn budget(req: &Map<String, Value>) -> Option<u64> {
    let model = req.get("model").and_then(Value::as_str).unwrap_or_default();
    plan(req, model).1
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

    #[test]
    fn new_api_thinking_suffixes() {
        let plain = json!({});
        let plain = plain.as_object().unwrap();
        let high = json!({"reasoning_effort": "high"});
        let high = high.as_object().unwrap();
        let off = json!({"reasoning_effort": "none"});
        let off = off.as_object().unwrap();
        // The suffix alone: the effort's budget (none for `none`), else the default.
        let sonnet = "claude-3-7-sonnet-thinking";
        for (body, budget) in [(plain, Some(2048)), (high, Some(4096)), (off, None)] {
            assert_eq!(
                plan(body, sonnet),
                ("claude-3-7-sonnet", budget),
                "{body:?}"
            );
        }
        // A budget in the suffix wins over the effort, raised to the least one.
        assert_eq!(
            plan(high, "gemini-2.5-pro-thinking-8000"),
            ("gemini-2.5-pro", Some(8000))
        );
        assert_eq!(
            plan(plain, "gemini-2.5-pro-thinking-10"),
            ("gemini-2.5-pro", Some(1024))
        );
        // No suffix (a non-numeric tail is none): the model as it is.
        for model in ["claude-3-7-sonnet", "x-thinking-abc"] {
            assert_eq!(plan(plain, model), (model, None));
        }
        assert!(has_suffix("m-thinking") && !has_suffix("thinking-machine"));
    }
}
