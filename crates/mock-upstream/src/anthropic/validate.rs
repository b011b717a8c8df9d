//! The Messages API's request rules, enforced strictly so that a wrong OpenAI → Claude conversion fails: headers,
//! required fields, unknown fields, role order, content blocks, images, tool use/result pairing, tools.
//! Messages follow the real API's wording where it is known.

use axum::http::HeaderMap;
use serde_json::Value;

use super::blocks::{block, text, tool_result, tool_use, valid_tool_name};
use crate::check::only_keys;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 401 `authentication_error`.
    Auth(String),
    /// 400 `invalid_request_error`.
    Invalid(String),
}

pub(super) type Check = Result<(), String>;

const VERSIONS: [&str; 2] = ["2023-06-01", "2023-01-01"];
const TOP_KEYS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
    "output_config",
    "inference_geo",
    "cache_control",
];

pub(super) fn extra(path: &str) -> impl Fn(&str) -> String + '_ {
    move |k| {
        if path.is_empty() {
            format!("{k}: Extra inputs are not permitted")
        } else {
            format!("{path}.{k}: Extra inputs are not permitted")
        }
    }
}

/// `x-api-key` (and, when `accepted` is set, that it is listed), then `anthropic-version`.
pub(crate) fn headers(headers: &HeaderMap, accepted: Option<&[String]>) -> Result<(), Refusal> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(Refusal::Auth("x-api-key header is required".into()));
    };
    if accepted.is_some_and(|keys| !keys.iter().any(|k| k == key)) {
        return Err(Refusal::Auth("invalid x-api-key".into()));
    }
    match headers
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
    {
        None => Err(Refusal::Invalid(
            "anthropic-version: header is required".into(),
        )),
        Some(v) if !VERSIONS.contains(&v) => Err(Refusal::Invalid(format!(
            "anthropic-version: invalid version `{v}`; use 2023-06-01"
        ))),
        Some(_) => Ok(()),
    }
}

/// Every body rule; the first broken one is reported.
pub(crate) fn body(body: &Value) -> Check {
    let Some(obj) = body.as_object() else {
        return Err(
            "There was an error parsing the body of your request: expected a JSON object".into(),
        );
    };
    only_keys(obj, TOP_KEYS, extra(""))?;
    match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(Value::String(_)) => {
            return Err("model: String should have at least 1 character".into());
        }
        Some(_) => return Err("model: Input should be a valid string".into()),
        None => return Err("model: Field required".into()),
    }
    match obj.get("max_tokens") {
        None => return Err("max_tokens: Field required".into()),
        Some(v) if v.as_i64().is_none() && v.as_u64().is_none() => {
            return Err("max_tokens: Input should be a valid integer".into());
        }
        Some(v) if v.as_i64().is_some_and(|n| n < 1) => {
            return Err("max_tokens: Input should be greater than or equal to 1".into());
        }
        Some(_) => {}
    }
    messages(obj.get("messages"))?;
    if let Some(system) = obj.get("system") {
        system_prompt(system)?;
    }
    number_in("temperature", obj.get("temperature"), 0.0, 1.0)?;
    number_in("top_p", obj.get("top_p"), 0.0, 1.0)?;
    if let Some(k) = obj.get("top_k")
        && k.as_u64().is_none()
    {
        return Err("top_k: Input should be a valid integer greater than or equal to 0".into());
    }
    if let Some(s) = obj.get("stream")
        && !s.is_boolean()
    {
        return Err("stream: Input should be a valid boolean".into());
    }
    if let Some(stops) = obj.get("stop_sequences") {
        let ok = stops
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            return Err("stop_sequences: Input should be a valid list of strings".into());
        }
    }
    if let Some(meta) = obj.get("metadata") {
        let Some(m) = meta.as_object() else {
            return Err("metadata: Input should be a valid dictionary".into());
        };
        only_keys(m, &["user_id"], extra("metadata"))?;
    }
    if let Some(t) = obj.get("tools") {
        tools(t)?;
    }
    if let Some(choice) = obj.get("tool_choice") {
        tool_choice(choice, obj.get("tools"))?;
    }
    if let Some(thinking) = obj.get("thinking") {
        extended_thinking(obj, thinking)?;
    }
    Ok(())
}

/// Anthropic's rules for `thinking: {"type": "enabled", "budget_tokens"}`: a budget of at least 1,024 below
/// `max_tokens`, no `temperature` but 1, no `top_k`, and — in a tool-use loop — the last assistant turn opening with
/// a thinking block.
fn extended_thinking(obj: &serde_json::Map<String, Value>, thinking: &Value) -> Check {
    if thinking.get("type").and_then(Value::as_str) != Some("enabled") {
        return Ok(());
    }
    let budget = thinking
        .get("budget_tokens")
        .and_then(Value::as_u64)
        .ok_or("thinking.enabled.budget_tokens: Field required")?;
    if budget < 1024 {
        return Err(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024".into(),
        );
    }
    if obj
        .get("max_tokens")
        .and_then(Value::as_u64)
        .is_some_and(|m| m <= budget)
    {
        return Err("`max_tokens` must be greater than `thinking.budget_tokens`".into());
    }
    if obj
        .get("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| t != 1.0)
    {
        return Err("`temperature` may only be set to 1 when thinking is enabled".into());
    }
    if obj.contains_key("top_k") {
        return Err("`top_k` is not supported when thinking is enabled".into());
    }
    let messages = obj.get("messages").and_then(Value::as_array);
    let last_assistant = messages.and_then(|m| {
        m.iter()
            .enumerate()
            .rev()
            .find(|(_, t)| t.get("role").and_then(Value::as_str) == Some("assistant"))
    });
    let Some((i, turn)) = last_assistant else {
        return Ok(());
    };
    let blocks = turn.get("content").and_then(Value::as_array);
    let uses_tools = blocks.is_some_and(|b| b.iter().any(|x| x["type"] == "tool_use"));
    let first = blocks
        .and_then(|b| b.first())
        .and_then(|x| x["type"].as_str())
        .unwrap_or("text");
    if uses_tools && !matches!(first, "thinking" | "redacted_thinking") {
        return Err(format!(
            "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{first}`. When \
             `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the \
             lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from \
             previous turns. To avoid this requirement, disable `thinking`."
        ));
    }
    Ok(())
}

fn number_in(name: &str, v: Option<&Value>, min: f64, max: f64) -> Check {
    let Some(v) = v else { return Ok(()) };
    let Some(n) = v.as_f64() else {
        return Err(format!("{name}: Input should be a valid number"));
    };
    if n < min {
        return Err(format!(
            "{name}: Input should be greater than or equal to {min}"
        ));
    }
    if n > max {
        return Err(format!(
            "{name}: Input should be less than or equal to {max}"
        ));
    }
    Ok(())
}

fn system_prompt(system: &Value) -> Check {
    match system {
        Value::String(_) => Ok(()),
        Value::Array(blocks) => {
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system.{i}");
                let Some(obj) = b.as_object() else {
                    return Err(format!("{path}: Input should be a valid dictionary"));
                };
                if obj.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(format!("{path}.type: Input should be 'text'"));
                }
                only_keys(
                    obj,
                    &["type", "text", "cache_control", "citations"],
                    extra(&path),
                )?;
                text(obj, &path)?;
            }
            Ok(())
        }
        _ => Err("system: Input should be a valid string or a list of text blocks".into()),
    }
}

/// The messages array: roles, order, content and the tool_use → tool_result pairing between turns.
fn messages(v: Option<&Value>) -> Check {
    let list = match v {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    if list.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut prev_role: Option<&str> = None;
    // tool_use ids of the previous (assistant) turn, waiting for their results.
    let mut pending: Vec<String> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let path = format!("messages.{i}");
        let Some(obj) = m.as_object() else {
            return Err(format!("{path}: Input should be a valid dictionary"));
        };
        only_keys(obj, &["role", "content"], extra(&path))?;
        let role = match obj.get("role").and_then(Value::as_str) {
            Some(r @ ("user" | "assistant")) => r,
            Some("system") => {
                return Err(
                    "messages: Unexpected role \"system\". The Messages API accepts a top-level \
                            `system` parameter, not \"system\" as an input message role."
                        .into(),
                );
            }
            Some(_) => {
                return Err(format!(
                    "{path}.role: Input should be 'user' or 'assistant'"
                ));
            }
            None => return Err(format!("{path}.role: Field required")),
        };
        if i == 0 && role != "user" {
            return Err("messages: first message must use the \"user\" role".into());
        }
        if prev_role == Some(role) {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \
                 \"{role}\" roles in a row"
            ));
        }
        prev_role = Some(role);
        let last = i + 1 == list.len();
        let turn = content(obj.get("content"), &path, role, last)?;
        if role == "user" {
            for (j, id) in &turn.results {
                if !pending.contains(id) {
                    return Err(format!(
                        "{path}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. \
                         Each `tool_result` block must have a corresponding `tool_use` block in the previous \
                         message."
                    ));
                }
            }
        }
        let missing: Vec<&str> = pending
            .iter()
            .filter(|id| !turn.results.iter().any(|(_, r)| r == *id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. \
                 Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                i - 1,
                missing.join(", ")
            ));
        }
        pending = turn.uses;
        if last && !pending.is_empty() {
            return Err(format!(
                "{path}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. \
                 Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                pending.join(", ")
            ));
        }
    }
    Ok(())
}

/// What one turn holds for the pairing check.
#[derive(Default)]
struct Turn {
    /// `tool_use` ids (assistant turns).
    uses: Vec<String>,
    /// (block index, `tool_use_id`) of `tool_result` blocks (user turns).
    results: Vec<(usize, String)>,
}

fn content(v: Option<&Value>, path: &str, role: &str, last: bool) -> Result<Turn, String> {
    let empty_ok = last && role == "assistant";
    let not_empty = || {
        format!(
            "{path}: all messages must have non-empty content except for the optional final assistant message"
        )
    };
    let blocks = match v {
        None => return Err(format!("{path}.content: Field required")),
        Some(Value::String(s)) => {
            if s.is_empty() && !empty_ok {
                return Err(not_empty());
            }
            if !s.is_empty() && s.trim().is_empty() && !empty_ok {
                return Err(
                    "messages: text content blocks must contain non-whitespace text".into(),
                );
            }
            if empty_ok && s.ends_with(char::is_whitespace) {
                return Err(
                    "messages: final assistant content cannot end with trailing whitespace".into(),
                );
            }
            return Ok(Turn::default());
        }
        Some(Value::Array(blocks)) => blocks,
        Some(_) => {
            return Err(format!(
                "{path}.content: Input should be a valid string or list"
            ));
        }
    };
    if blocks.is_empty() && !empty_ok {
        return Err(not_empty());
    }
    let mut turn = Turn::default();
    let mut seen_other = false;
    for (j, b) in blocks.iter().enumerate() {
        let bpath = format!("{path}.content.{j}");
        let Some(obj) = b.as_object() else {
            return Err(format!("{bpath}: Input should be a valid dictionary"));
        };
        let kind = obj.get("type").and_then(Value::as_str);
        match kind {
            Some("tool_result") => {
                if role != "user" {
                    return Err(format!(
                        "{bpath}: `tool_result` blocks can only appear in user messages"
                    ));
                }
                if seen_other {
                    return Err(format!(
                        "{path}: `tool_result` blocks must come first in the user message content, before \
                         any other block"
                    ));
                }
                turn.results.push((j, tool_result(obj, &bpath)?));
            }
            Some("tool_use") => {
                if role != "assistant" {
                    return Err(format!(
                        "{bpath}: `tool_use` blocks can only appear in assistant messages"
                    ));
                }
                turn.uses.push(tool_use(obj, &bpath)?);
            }
            _ => {
                seen_other = true;
                block(obj, &bpath, role)?;
            }
        }
    }
    Ok(turn)
}

fn tools(v: &Value) -> Check {
    let Some(list) = v.as_array() else {
        return Err("tools: Input should be a valid list".into());
    };
    let mut names: Vec<&str> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let path = format!("tools.{i}");
        let Some(obj) = t.as_object() else {
            return Err(format!("{path}: Input should be a valid dictionary"));
        };
        match obj.get("type") {
            None => {}
            Some(Value::String(kind)) if kind == "custom" => {}
            // A versioned server tool (`web_search_20250305`, `bash_20250124`…): not ours to check.
            Some(Value::String(kind)) if is_server_tool(kind) => continue,
            Some(kind) => {
                return Err(format!(
                    "{path}: Input tag {kind} found using 'type' does not match any of the expected tags: \
                     'custom' or a versioned server tool type"
                ));
            }
        }
        only_keys(
            obj,
            &[
                "type",
                "name",
                "description",
                "input_schema",
                "cache_control",
                "strict",
            ],
            extra(&path),
        )?;
        let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
        if !valid_tool_name(name) {
            return Err(format!(
                "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            ));
        }
        if names.contains(&name) {
            return Err("tools: Tool names must be unique.".into());
        }
        names.push(name);
        if obj.get("description").is_some_and(|d| !d.is_string()) {
            return Err(format!(
                "{path}.description: Input should be a valid string"
            ));
        }
        match obj.get("input_schema") {
            None => return Err(format!("{path}.input_schema: Field required")),
            Some(Value::Object(schema)) => {
                if schema.get("type").and_then(Value::as_str) != Some("object") {
                    return Err(format!(
                        "{path}.input_schema.type: Input should be 'object'"
                    ));
                }
            }
            Some(_) => {
                return Err(format!(
                    "{path}.input_schema: Input should be a valid dictionary"
                ));
            }
        }
    }
    Ok(())
}

/// `<name>_<yyyymmdd>`, the shape of server tool types.
fn is_server_tool(kind: &str) -> bool {
    kind.rsplit_once('_').is_some_and(|(name, date)| {
        !name.is_empty() && date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())
    })
}

fn tool_choice(choice: &Value, tools: Option<&Value>) -> Check {
    let Some(obj) = choice.as_object() else {
        return Err("tool_choice: Input should be a valid dictionary".into());
    };
    let kind = obj.get("type").and_then(Value::as_str);
    match kind {
        Some("auto" | "any") => {
            only_keys(
                obj,
                &["type", "disable_parallel_tool_use"],
                extra("tool_choice"),
            )?;
        }
        Some("tool") => {
            only_keys(
                obj,
                &["type", "name", "disable_parallel_tool_use"],
                extra("tool_choice"),
            )?;
            if !obj.get("name").is_some_and(Value::is_string) {
                return Err("tool_choice.tool.name: Field required".into());
            }
        }
        Some("none") => {
            only_keys(obj, &["type"], extra("tool_choice"))?;
        }
        _ => {
            return Err("tool_choice: Input tag found using 'type' does not match any of the expected tags: \
                        'auto', 'any', 'tool', 'none'"
                .into());
        }
    }
    if obj
        .get("disable_parallel_tool_use")
        .is_some_and(|d| !d.is_boolean())
    {
        return Err(
            "tool_choice.disable_parallel_tool_use: Input should be a valid boolean".into(),
        );
    }
    let has_tools = tools
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    if kind != Some("none") && !has_tools {
        return Err("tool_choice may only be specified while providing tools".into());
    }
    Ok(())
}
