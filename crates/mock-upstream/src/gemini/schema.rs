//! Gemini's function declarations, tool config and generation config. `parameters` must stay inside the
//! OpenAPI-3.0 subset of Gemini's `Schema`: JSON-Schema keys such as `additionalProperties`, `$schema`, `default`
//! or `examples` are unknown fields there, `type` is a single name, enums are strings, `required` names defined
//! properties and an object has properties.

use serde_json::{Map, Value};

use super::validate::{Check, field, known, list_at, object_at};

const TOOL: &[&str] = &[
    "functionDeclarations",
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "computerUse",
    "fileSearch",
];
const DECLARATION: &[&str] = &[
    "name",
    "description",
    "parameters",
    "parametersJsonSchema",
    "response",
    "responseJsonSchema",
    "behavior",
];
/// The OpenAPI-3.0 subset Gemini's `Schema` message knows (`default` left out on purpose: older API versions refuse
/// it, so a gateway must strip it).
const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "items",
    "minimum",
    "maximum",
];
const SCHEMA_TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];
const GENERATION: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
    "imageConfig",
];

/// Checks the tools and returns the declared function names.
pub(super) fn tools(v: &Value) -> Result<Vec<String>, String> {
    let list = list_at(v, "tools")?;
    let mut names = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let at = format!("tools[{i}]");
        let obj = object_at(t, &at)?;
        known(obj, TOOL, &at)?;
        let Some(decls) = field(obj, "functionDeclarations") else {
            continue;
        };
        let decls = list_at(decls, &format!("{at}.function_declarations"))?;
        for (j, d) in decls.iter().enumerate() {
            let dat = format!("{at}.function_declarations[{j}]");
            let decl = object_at(d, &dat)?;
            known(decl, DECLARATION, &dat)?;
            let name = field(decl, "name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !valid_function_name(name) {
                return Err(format!(
                    "* GenerateContentRequest.{dat}.name: Invalid function name. Must start with a letter or an \
                     underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.) or dashes (-), \
                     with a maximum length of 64."
                ));
            }
            names.push(name.to_owned());
            if let Some(params) = field(decl, "parameters") {
                schema(params, &format!("{dat}.parameters"))?;
            }
        }
    }
    Ok(names)
}

fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':'))
}

/// One `Schema` node, recursively: known keys only, a single `type`, string enums, `required` names defined,
/// objects with properties.
fn schema(v: &Value, at: &str) -> Check {
    let obj = object_at(v, at)?;
    known(obj, SCHEMA, at)?;
    let kind = match field(obj, "type") {
        None => None,
        Some(Value::String(t)) if SCHEMA_TYPES.contains(&t.to_ascii_lowercase().as_str()) => {
            Some(t.to_ascii_lowercase())
        }
        Some(Value::String(t)) => {
            return Err(format!(
                "Invalid value at '{at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), \"{t}\""
            ));
        }
        Some(Value::Array(_)) => {
            return Err(format!(
                "Invalid JSON payload received. Proto field is not repeating, cannot start list at '{at}.type'."
            ));
        }
        Some(_) => return Err(format!("Invalid value at '{at}.type'")),
    };
    if let Some(values) = field(obj, "enum") {
        let values = list_at(values, &format!("{at}.enum"))?;
        if let Some((k, bad)) = values.iter().enumerate().find(|(_, e)| !e.is_string()) {
            return Err(format!(
                "Invalid value at '{at}.enum[{k}]' (TYPE_STRING), {bad}"
            ));
        }
    }
    let props = match field(obj, "properties") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => {
            return Err(format!(
                "Invalid JSON payload received. Expected an object at '{at}.properties'."
            ));
        }
    };
    if kind.as_deref() == Some("object") && props.is_none_or(Map::is_empty) {
        return Err(format!(
            "* GenerateContentRequest.{at}.properties: should be non-empty for OBJECT type"
        ));
    }
    // Property names are free text: only their values are schemas.
    for (name, sub) in props.into_iter().flatten() {
        schema(sub, &format!("{at}.properties[{name}].value"))?;
    }
    if let Some(required) = field(obj, "required") {
        let required = list_at(required, &format!("{at}.required"))?;
        for (k, r) in required.iter().enumerate() {
            let defined = r
                .as_str()
                .is_some_and(|n| props.is_some_and(|p| p.contains_key(n)));
            if !defined {
                return Err(format!(
                    "* GenerateContentRequest.{at}.required[{k}]: property is not defined"
                ));
            }
        }
    }
    if let Some(items) = field(obj, "items") {
        schema(items, &format!("{at}.items"))?;
    }
    if let Some(any) = field(obj, "anyOf") {
        let any = list_at(any, &format!("{at}.any_of"))?;
        for (k, s) in any.iter().enumerate() {
            schema(s, &format!("{at}.any_of[{k}]"))?;
        }
    }
    Ok(())
}

pub(super) fn tool_config(v: &Value, declared: &[String]) -> Check {
    let at = "tool_config";
    let obj = object_at(v, at)?;
    known(obj, &["functionCallingConfig", "retrievalConfig"], at)?;
    let Some(fc) = field(obj, "functionCallingConfig") else {
        return Ok(());
    };
    let fat = format!("{at}.function_calling_config");
    let fc = object_at(fc, &fat)?;
    known(fc, &["mode", "allowedFunctionNames"], &fat)?;
    let mode = field(fc, "mode").and_then(Value::as_str);
    if let Some(m) = mode
        && !["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"].contains(&m)
    {
        return Err(format!(
            "Invalid value at '{fat}.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{m}\""
        ));
    }
    if let Some(names) = field(fc, "allowedFunctionNames") {
        if !matches!(mode, Some("ANY" | "VALIDATED")) {
            return Err(format!(
                "* GenerateContentRequest.{fat}.allowed_function_names: only allowed when mode is ANY"
            ));
        }
        for n in names.as_array().into_iter().flatten() {
            let name = n.as_str().unwrap_or_default();
            if !declared.iter().any(|d| d == name) {
                return Err(format!(
                    "* GenerateContentRequest.{fat}.allowed_function_names: `{name}` is not a declared function"
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn generation_config(v: &Value) -> Check {
    let at = "generation_config";
    let obj = object_at(v, at)?;
    known(obj, GENERATION, at)?;
    if let Some(t) = field(obj, "temperature") {
        match t.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => {}
            _ => {
                return Err(format!(
                    "* GenerateContentRequest.{at}.temperature: must be between 0 and 2"
                ));
            }
        }
    }
    for name in ["maxOutputTokens", "candidateCount", "topK"] {
        if let Some(n) = field(obj, name)
            && n.as_u64().is_none_or(|n| n == 0)
        {
            return Err(format!(
                "* GenerateContentRequest.{at}.{name}: must be a positive integer"
            ));
        }
    }
    if let Some(stops) = field(obj, "stopSequences") {
        let ok = stops
            .as_array()
            .is_some_and(|s| s.len() <= 5 && s.iter().all(Value::is_string));
        if !ok {
            return Err(format!(
                "* GenerateContentRequest.{at}.stop_sequences: at most 5 strings"
            ));
        }
    }
    if let Some(schema_v) = field(obj, "responseSchema") {
        schema(schema_v, &format!("{at}.response_schema"))?;
    }
    Ok(())
}
