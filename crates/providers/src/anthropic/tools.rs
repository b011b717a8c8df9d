//! OpenAI `tools`/`functions` and `tool_choice`/`function_call`/`parallel_tool_calls` → Anthropic `tools` and
//! `tool_choice`. Without tools nothing is sent: a `tool_choice` alone would be rejected.

use super::convert::{invalid, present};
use crate::error::UpstreamError;
use serde_json::{Map, Value, json};

/// Adds `tools` and `tool_choice` to the Anthropic body.
pub(super) fn add_tools(
    req: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), UpstreamError> {
    let mut tools = Vec::new();
    for (i, tool) in list(req, "tools").iter().enumerate() {
        let kind = tool
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function");
        if kind != "function" {
            return Err(invalid(format!(
                "tools[{i}]: tool type `{kind}` is not supported by this provider"
            )));
        }
        let function = tool
            .get("function")
            .ok_or_else(|| invalid(format!("tools[{i}]: missing `function`")))?;
        tools.push(tool_definition(
            function,
            tool.get("cache_control"),
            &format!("tools[{i}]"),
        )?);
    }
    for (i, function) in list(req, "functions").iter().enumerate() {
        tools.push(tool_definition(function, None, &format!("functions[{i}]"))?);
    }
    if tools.is_empty() {
        return Ok(());
    }
    let choice = match (present(req, "tool_choice"), present(req, "function_call")) {
        (Some(c), _) => Some(tool_choice(c)?),
        (None, Some(c)) => Some(function_call_choice(c)?),
        (None, None) => None,
    };
    let serial = req.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let choice = match choice {
        // `none` takes no parallelism flag, and there is nothing to serialize anyway
        Some(c) if c["type"] == "none" => Some(c),
        Some(mut c) if serial => {
            c["disable_parallel_tool_use"] = Value::Bool(true);
            Some(c)
        }
        None if serial => Some(json!({ "type": "auto", "disable_parallel_tool_use": true })),
        other => other,
    };
    out.insert("tools".into(), Value::Array(tools));
    if let Some(c) = choice {
        out.insert("tool_choice".into(), c);
    }
    Ok(())
}

fn list<'a>(req: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    req.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `{name, description, parameters}` → `{name, description, input_schema}`; Anthropic requires a schema.
fn tool_definition(
    function: &Value,
    cache_control: Option<&Value>,
    at: &str,
) -> Result<Value, UpstreamError> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("{at}: a function needs a `name`")))?;
    let mut tool = json!({ "name": name });
    if let Some(d) = function.get("description").filter(|d| !d.is_null()) {
        tool["description"] = d.clone();
    }
    tool["input_schema"] = match function.get("parameters") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => json!({ "type": "object", "properties": {} }),
    };
    if let Some(cc) = cache_control {
        tool["cache_control"] = cc.clone();
    }
    Ok(tool)
}

/// OpenAI `tool_choice` → Anthropic `tool_choice`.
pub fn tool_choice(choice: &Value) -> Result<Value, UpstreamError> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(json!({ "type": "auto" })),
            "required" => Ok(json!({ "type": "any" })),
            "none" => Ok(json!({ "type": "none" })),
            other => Err(invalid(format!(
                "tool_choice `{other}` is not supported by this provider"
            ))),
        },
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice.function.name is missing"))?;
            Ok(json!({ "type": "tool", "name": name }))
        }
        _ => Err(invalid(
            "this form of tool_choice is not supported by this provider",
        )),
    }
}

/// Legacy `function_call`: `"auto"`, `"none"` or `{name}`.
pub fn function_call_choice(choice: &Value) -> Result<Value, UpstreamError> {
    match choice {
        Value::String(_) => tool_choice(choice),
        Value::Object(o) => {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("function_call.name is missing"))?;
            Ok(json!({ "type": "tool", "name": name }))
        }
        _ => Err(invalid(
            "function_call must be \"auto\", \"none\" or {\"name\"}",
        )),
    }
}
