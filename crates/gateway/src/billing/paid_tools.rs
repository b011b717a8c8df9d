//! Paid upstream features beyond tokens. A built-in tool runs on the provider's side and is billed by it per call
//! (OpenAI Responses `web_search*`, `file_search`, `code_interpreter`, `computer_use*`, `image_generation`, …;
//! Anthropic server tools such as `web_search_20250305`), so relaying one unpriced would hand the key holder free
//! service. Each such tool is refused with a 400 naming `tools[i].type` unless the operator prices it: a
//! per-request price on the model `tool:<type without its date suffix>` (`tool:web_search`,
//! `tool:code_interpreter`; a longer name also finds its family's price, so `web_search_preview` is priced by
//! `tool:web_search_preview`, else `tool:web_search`). A priced tool gets a call budget — the client's own
//! (`max_tool_calls` on Responses, the tool's `max_uses` on Anthropic), else [`DEFAULT_CALL_BUDGET`] — that the hold
//! covers in full and that is written into what goes upstream; the settlement charges each call the answer reports,
//! never more than the budget.
//!
//! `background: true` (Responses) is refused outright: Tollgate does not relay `GET /v1/responses/{id}`, so such a
//! result could neither be fetched nor billed.

use crate::catalog::Snapshot;
use crate::error::ApiError;
use serde_json::{Map, Value};

/// Calls held for a priced built-in tool when the client sets no budget of its own.
pub const DEFAULT_CALL_BUDGET: u64 = 5;

/// One priced built-in tool of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedTool {
    /// The tool's type without its date suffix (`web_search`), as answers report its calls.
    pub name: String,
    /// Price of one call before the group multiplier.
    pub per_call: i64,
    /// Calls held and the most that will be charged.
    pub budget: u64,
}

/// The wire format a request's tools are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolApi {
    /// OpenAI Responses (`/v1/responses`): `{"type": "web_search"}`, budget `max_tool_calls`.
    Responses,
    /// Anthropic Messages (`/v1/messages` relayed natively): `{"type": "web_search_20250305", "max_uses"}`.
    Messages,
}

/// A request's priced built-in tools and what their budgets hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolBill {
    pub tools: Vec<PricedTool>,
    /// Money held for the calls, before the group multiplier; also the most they are charged.
    pub hold: i64,
}

/// Checks the request's paid features and returns its priced tools; writes each budget into `request`.
pub fn check(
    api: ToolApi,
    request: &mut Map<String, Value>,
    snap: &Snapshot,
) -> Result<ToolBill, ApiError> {
    if api == ToolApi::Responses && request.get("background").is_some_and(|b| b != false) {
        return Err(ApiError::invalid(
            "`background` responses are not relayed: their result could neither be fetched nor billed here.",
            Some("background"),
        ));
    }
    let client_budget = match api {
        ToolApi::Responses => match request.get("max_tool_calls") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::invalid(
                    "`max_tool_calls` must be a positive integer.",
                    Some("max_tool_calls"),
                )
            })?),
        },
        ToolApi::Messages => None,
    };
    let Some(Value::Array(tools)) = request.get_mut("tools") else {
        return Ok(ToolBill::default());
    };
    let mut priced: Vec<PricedTool> = Vec::new();
    for (i, tool) in tools.iter_mut().enumerate() {
        let Some(kind) = builtin_type(api, tool) else {
            continue;
        };
        let name = undated(&kind).to_owned();
        let Some(per_call) = tool_price(snap, &name) else {
            return Err(ApiError::invalid(
                format!(
                    "the built-in tool `{kind}` is billed by the provider per call and is not priced here; \
                     use function tools."
                ),
                Some(&format!("tools[{i}].type")),
            ));
        };
        let budget = match api {
            ToolApi::Responses => client_budget.unwrap_or(DEFAULT_CALL_BUDGET),
            ToolApi::Messages => own_budget(tool, i)?,
        };
        if api == ToolApi::Messages
            && let Value::Object(t) = tool
        {
            t.insert("max_uses".to_owned(), Value::from(budget));
        }
        match priced.iter_mut().find(|p| p.name == name) {
            Some(p) => p.budget = p.budget.saturating_add(budget),
            None => priced.push(PricedTool {
                name,
                per_call,
                budget,
            }),
        }
    }
    if priced.is_empty() {
        return Ok(ToolBill::default());
    }
    let hold = if api == ToolApi::Responses {
        // One `max_tool_calls` caps every built-in tool's calls together: held once, at the dearest price.
        let budget = client_budget.unwrap_or(DEFAULT_CALL_BUDGET);
        request.insert("max_tool_calls".to_owned(), Value::from(budget));
        for p in &mut priced {
            p.budget = budget;
        }
        let dearest = priced.iter().map(|p| p.per_call).max().unwrap_or(0);
        dearest.saturating_mul(i64::try_from(budget).unwrap_or(i64::MAX))
    } else {
        held(&priced)
    };
    Ok(ToolBill {
        tools: priced,
        hold,
    })
}

/// The money the budgets hold together, before the group multiplier.
fn held(tools: &[PricedTool]) -> i64 {
    tools
        .iter()
        .map(|t| {
            t.per_call
                .saturating_mul(i64::try_from(t.budget).unwrap_or(i64::MAX))
        })
        .fold(0i64, i64::saturating_add)
}

/// A tool's `type` when it is one the provider runs (and bills) itself.
fn builtin_type(api: ToolApi, tool: &Value) -> Option<String> {
    let kind = tool.get("type").and_then(Value::as_str);
    match (api, kind) {
        (ToolApi::Responses, Some("function" | "custom")) => None,
        (ToolApi::Messages, None | Some("custom")) => None,
        // Anthropic-defined client tools: the client runs them; only tokens are billed.
        (ToolApi::Messages, Some(k))
            if ["bash_", "text_editor_", "computer_"]
                .iter()
                .any(|p| k.starts_with(p)) =>
        {
            None
        }
        (_, Some(k)) => Some(k.to_owned()),
        (ToolApi::Responses, None) => Some("(missing type)".to_owned()),
    }
}

/// `web_search_20250305` → `web_search`, `web_search_preview_2025_03_11` → `web_search_preview`.
pub fn undated(kind: &str) -> &str {
    let mut name = kind;
    while let Some((head, tail)) = name.rsplit_once('_') {
        if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        name = head;
    }
    name
}

/// The per-call price of `tool:<name>`, else of its family (`tool:web_search` for `web_search_preview`).
fn tool_price(snap: &Snapshot, name: &str) -> Option<i64> {
    let mut candidate = name;
    loop {
        if let Some(p) = snap
            .price_exact(&format!("tool:{candidate}"))
            .and_then(|p| p.per_request)
        {
            return Some(p);
        }
        candidate = candidate.rsplit_once('_')?.0;
    }
}

/// An Anthropic server tool's own `max_uses`, else the default budget.
fn own_budget(tool: &Value, i: usize) -> Result<u64, ApiError> {
    match tool.get("max_uses") {
        None | Some(Value::Null) => Ok(DEFAULT_CALL_BUDGET),
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid(
                "`max_uses` must be a positive integer.",
                Some(&format!("tools[{i}].max_uses")),
            )
        }),
    }
}

/// Built-in tool calls an answer reports, by tool name (as in [`PricedTool::name`]).
pub fn reported_calls(api: ToolApi, answer: &Value) -> Vec<(String, u64)> {
    let mut calls: Vec<(String, u64)> = Vec::new();
    let mut add = |name: &str, n: u64| add_calls(&mut calls, name, n);
    match api {
        ToolApi::Responses => {
            let output = answer
                .get("output")
                .or_else(|| answer.pointer("/response/output"));
            for item in output.and_then(Value::as_array).into_iter().flatten() {
                let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
                if let Some(tool) = kind.strip_suffix("_call")
                    && !matches!(tool, "function" | "custom_tool")
                {
                    add(responses_tool_name(tool), 1);
                }
            }
        }
        ToolApi::Messages => {
            let usage = answer
                .get("usage")
                .or_else(|| answer.pointer("/message/usage"));
            if let Some(Value::Object(server)) = usage.and_then(|u| u.get("server_tool_use")) {
                for (field, n) in server {
                    if let (Some(tool), Some(n)) = (field.strip_suffix("_requests"), n.as_u64()) {
                        add(tool, n);
                    }
                }
            }
        }
    }
    calls
}

/// Adds `n` calls of `name` to `calls`.
pub fn add_calls(calls: &mut Vec<(String, u64)>, name: &str, n: u64) {
    match calls.iter_mut().find(|(k, _)| k == name) {
        Some((_, c)) => *c = c.saturating_add(n),
        None => calls.push((name.to_owned(), n)),
    }
}

/// Raises `calls` to at least what `reported` says (a cumulative report next to calls counted one by one).
pub fn at_least(calls: &mut Vec<(String, u64)>, reported: Vec<(String, u64)>) {
    for (name, n) in reported {
        match calls.iter_mut().find(|(k, _)| *k == name) {
            Some((_, c)) => *c = (*c).max(n),
            None => calls.push((name, n)),
        }
    }
}

/// Output item `computer_call` belongs to the tool `computer_use…`; the others are named as their tool.
fn responses_tool_name(call: &str) -> &str {
    match call {
        "computer" => "computer_use",
        other => other,
    }
}

/// What the reported calls cost before the multiplier: each tool's calls up to its budget, at its price, and never
/// more than the hold.
pub fn charge(bill: &ToolBill, reported: &[(String, u64)]) -> i64 {
    bill.tools
        .iter()
        .map(|t| {
            let calls: u64 = reported
                .iter()
                .filter(|(name, _)| t.name == *name || t.name.starts_with(&format!("{name}_")))
                .map(|(_, n)| *n)
                .sum();
            t.per_call
                .saturating_mul(i64::try_from(calls.min(t.budget)).unwrap_or(i64::MAX))
        })
        .fold(0i64, i64::saturating_add)
        .min(bill.hold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_come_off() {
        assert_eq!(undated("web_search_20250305"), "web_search");
        assert_eq!(
            undated("web_search_preview_2025_03_11"),
            "web_search_preview"
        );
        assert_eq!(undated("code_interpreter"), "code_interpreter");
    }

    #[test]
    fn reported_calls_of_both_apis() {
        let r = json!({"output": [{"type": "web_search_call"}, {"type": "message"},
            {"type": "web_search_call"}, {"type": "function_call"}, {"type": "code_interpreter_call"}]});
        assert_eq!(
            reported_calls(ToolApi::Responses, &r),
            vec![
                ("web_search".to_owned(), 2),
                ("code_interpreter".to_owned(), 1)
            ]
        );
        let m =
            json!({"usage": {"input_tokens": 3, "server_tool_use": {"web_search_requests": 4}}});
        assert_eq!(
            reported_calls(ToolApi::Messages, &m),
            vec![("web_search".to_owned(), 4)]
        );
        let tools = ToolBill {
            tools: vec![PricedTool {
                name: "web_search".into(),
                per_call: 10_000,
                budget: 3,
            }],
            hold: 30_000,
        };
        assert_eq!(charge(&tools, &[("web_search".into(), 4)]), 30_000);
        let preview = ToolBill {
            tools: vec![PricedTool {
                name: "web_search_preview".into(),
                per_call: 10,
                budget: 5,
            }],
            hold: 50,
        };
        assert_eq!(charge(&preview, &[("web_search".into(), 2)]), 20);
    }
}
