//! The rest of a `generateContent` body → chat fields: `tools` and `toolConfig` (function declarations, Gemini's
//! schema dialect made JSON Schema, the calling mode) and `generationConfig` (sampling, length, stop sequences,
//! choices, response format, thinking). Fields are looked up in camelCase or snake_case, as in `request.rs`.

use super::request::{array, bad, field, object, string};
use crate::error::ApiError;
use serde_json::{Map, Value, json};

/// `tools[].functionDeclarations` → OpenAI function tools, and `toolConfig` → `tool_choice`.
pub(super) fn tools(
    body: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let mut functions = Vec::new();
    for (i, tool) in array(body, "tools", "tools")?.iter().enumerate() {
        let at = format!("tools[{i}]");
        let tool = tool
            .as_object()
            .ok_or_else(|| bad(&at, "A tool must be an object."))?;
        if let Some(other) = tool
            .keys()
            .find(|k| !matches!(k.as_str(), "functionDeclarations" | "function_declarations"))
        {
            return Err(bad(
                &at,
                format!("Tool `{other}` is not served: only `functionDeclarations` are."),
            ));
        }
        let declarations = array(
            tool,
            "functionDeclarations",
            &format!("{at}.functionDeclarations"),
        )?;
        for (j, d) in declarations.iter().enumerate() {
            let at = format!("{at}.functionDeclarations[{j}]");
            functions.push(declaration(d, &at)?);
        }
    }
    if !functions.is_empty() {
        out.insert("tools".to_owned(), Value::Array(functions));
    }
    let config = object(body, "toolConfig", "toolConfig")?
        .map(|c| {
            object(
                c,
                "functionCallingConfig",
                "toolConfig.functionCallingConfig",
            )
        })
        .transpose()?
        .flatten();
    if let Some(config) = config {
        out.insert("tool_choice".to_owned(), tool_choice(config)?);
    }
    Ok(())
}

fn declaration(d: &Value, at: &str) -> Result<Value, ApiError> {
    let d = d
        .as_object()
        .ok_or_else(|| bad(at, "A function declaration must be an object."))?;
    let name = string(d, "name", &format!("{at}.name"))?;
    let mut function = json!({"name": name});
    if let Some(description) = field(d, "description").and_then(Value::as_str) {
        function["description"] = Value::from(description);
    }
    let parameters = match (field(d, "parametersJsonSchema"), field(d, "parameters")) {
        (Some(schema), _) => Some(schema.clone()),
        (None, Some(schema)) => Some(json_schema(schema)),
        (None, None) => None,
    };
    if let Some(p) = parameters {
        function["parameters"] = p;
    }
    Ok(json!({"type": "function", "function": function}))
}

/// Gemini's OpenAPI-style `Schema` (upper-case `type`s, `nullable`, `propertyOrdering`) → JSON Schema.
pub fn json_schema(schema: &Value) -> Value {
    let Value::Object(o) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        let v = match k.as_str() {
            "propertyOrdering" | "property_ordering" | "nullable" => continue,
            "type" => match v.as_str() {
                Some(t) => Value::from(t.to_ascii_lowercase()),
                None => v.clone(),
            },
            "properties" | "$defs" | "definitions" => match v {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(n, s)| (n.clone(), json_schema(s)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => json_schema(v),
            "anyOf" | "any_of" | "oneOf" | "allOf" => match v {
                Value::Array(a) => Value::Array(a.iter().map(json_schema).collect()),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        let key = if k == "any_of" { "anyOf" } else { k.as_str() };
        out.insert(key.to_owned(), v);
    }
    Value::Object(out)
}

fn tool_choice(config: &Map<String, Value>) -> Result<Value, ApiError> {
    let param = "toolConfig.functionCallingConfig.mode";
    let names = array(
        config,
        "allowedFunctionNames",
        "toolConfig.functionCallingConfig.allowedFunctionNames",
    )?;
    Ok(
        match field(config, "mode")
            .and_then(Value::as_str)
            .unwrap_or("AUTO")
        {
            "AUTO" | "MODE_UNSPECIFIED" => Value::from("auto"),
            "NONE" => Value::from("none"),
            "ANY" | "VALIDATED" => match names {
                [Value::String(only)] => json!({"type": "function", "function": {"name": only}}),
                _ => Value::from("required"),
            },
            other => {
                return Err(bad(
                    param,
                    format!(
                        "`{other}` is not a function calling mode (AUTO, ANY, NONE, VALIDATED)."
                    ),
                ));
            }
        },
    )
}

/// `generationConfig` → the chat object's sampling, length, stop, choice-count, format and reasoning fields.
pub(super) fn generation_config(
    config: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let at = |f: &str| format!("generationConfig.{f}");
    for (from, to) in [
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
        ("seed", "seed"),
    ] {
        if let Some(v) = field(config, from).filter(|v| !v.is_null()) {
            if !v.is_number() {
                return Err(bad(&at(from), format!("`{from}` must be a number.")));
            }
            out.insert(to.to_owned(), v.clone());
        }
    }
    for (from, to) in [("maxOutputTokens", "max_tokens"), ("candidateCount", "n")] {
        if let Some(v) = field(config, from).filter(|v| !v.is_null()) {
            match v.as_u64() {
                Some(n) if n > 0 => out.insert(to.to_owned(), Value::from(n)),
                _ => {
                    return Err(bad(
                        &at(from),
                        format!("`{from}` must be a positive integer."),
                    ));
                }
            };
        }
    }
    let stops = array(config, "stopSequences", &at("stopSequences"))?;
    if !stops.is_empty() {
        if !stops.iter().all(Value::is_string) {
            return Err(bad(
                &at("stopSequences"),
                "`stopSequences` must hold strings.",
            ));
        }
        out.insert("stop".to_owned(), Value::Array(stops.to_vec()));
    }
    for (i, m) in array(config, "responseModalities", &at("responseModalities"))?
        .iter()
        .enumerate()
    {
        if !m.as_str().is_some_and(|m| m.eq_ignore_ascii_case("text")) {
            return Err(bad(
                &format!("generationConfig.responseModalities[{i}]"),
                "Only TEXT output can be served through this model's channels.",
            ));
        }
    }
    response_format(config, out)?;
    if let Some(effort) = effort(config)? {
        out.insert("reasoning_effort".to_owned(), Value::from(effort));
    }
    Ok(())
}

fn response_format(
    config: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let schema = match (
        field(config, "responseJsonSchema"),
        field(config, "responseSchema"),
    ) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(s)) => Some(json_schema(s)),
        (None, None) => None,
    };
    let format = match field(config, "responseMimeType").and_then(Value::as_str) {
        None | Some("text/plain") if schema.is_none() => return Ok(()),
        None | Some("application/json") => match schema {
            Some(schema) => json!({"type": "json_schema",
                "json_schema": {"name": "response", "schema": schema}}),
            None => json!({"type": "json_object"}),
        },
        Some(other) => {
            return Err(bad(
                "generationConfig.responseMimeType",
                format!(
                    "`{other}` cannot be served through this model's channels (text/plain or application/json)."
                ),
            ));
        }
    };
    out.insert("response_format".to_owned(), format);
    Ok(())
}

/// `thinkingConfig` → a reasoning effort from the same budget table the adapters use (`providers::reasoning`):
/// a budget of 0 is no thinking, -1 (the model decides) is `medium`.
fn effort(config: &Map<String, Value>) -> Result<Option<&'static str>, ApiError> {
    let Some(thinking) = object(config, "thinkingConfig", "generationConfig.thinkingConfig")?
    else {
        return Ok(None);
    };
    if let Some(level) = field(thinking, "thinkingLevel").and_then(Value::as_str) {
        return Ok(Some(match level.to_ascii_lowercase().as_str() {
            "minimal" => "minimal",
            "low" => "low",
            "medium" => "medium",
            "high" => "high",
            _ => {
                return Err(bad(
                    "generationConfig.thinkingConfig.thinkingLevel",
                    format!("`{level}` is not a thinking level (MINIMAL, LOW, MEDIUM, HIGH)."),
                ));
            }
        }));
    }
    let Some(budget) = field(thinking, "thinkingBudget").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let param = "generationConfig.thinkingConfig.thinkingBudget";
    Ok(match budget.as_i64() {
        Some(0) => None,
        Some(-1) => Some("medium"),
        Some(b) if b > 0 => {
            Some(providers::reasoning::Effort::for_budget(b.unsigned_abs()).as_str())
        }
        _ => {
            return Err(bad(
                param,
                "`thinkingBudget` must be -1, 0 or a positive integer.",
            ));
        }
    })
}
