//! Gemini's request rules, enforced strictly so that a wrong OpenAI → Gemini conversion fails: auth header (and no
//! key in the URL), unknown proto fields, contents/roles/parts, function call/response turns, tool schemas (the
//! OpenAPI subset: no `additionalProperties`, `$schema`, `default`, `examples`…), generation config.
//! Messages follow the real API's wording where it is known. Field names are accepted in camelCase or snake_case,
//! as the proto JSON parser does.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::schema;
use crate::check::{lenient_base64, query_param};

/// Why a request is refused: HTTP status, Google status string, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: u16,
    pub status: &'static str,
    pub message: String,
    /// `google.rpc.ErrorInfo` reason sent in `details` (e.g. `API_KEY_INVALID`).
    pub reason: Option<&'static str>,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: message.into(),
        reason: None,
    }
}

pub(super) type Check = Result<(), String>;

const TOP: &[&str] = &[
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
    "model",
    "labels",
];
const CONTENT: &[&str] = &["role", "parts"];
const DATA_FIELDS: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];
const PART_META: &[&str] = &[
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
];
/// `fooBar` for `foo_bar` (camelCase names pass unchanged).
pub(crate) fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The field `name` (camelCase) of `obj`, written in either case.
pub(crate) fn field<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.iter().find(|(k, _)| camel(k) == name).map(|(_, v)| v)
}

/// `v` as an object, or Gemini's 400 for anything else at `at`.
pub(super) fn object_at<'v>(v: &'v Value, at: &str) -> Result<&'v Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("Invalid JSON payload received. Expected an object at '{at}'."))
}

/// `v` as a list, or Gemini's 400 for anything else at `at`.
pub(super) fn list_at<'v>(v: &'v Value, at: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("Invalid JSON payload received. Expected a list at '{at}'."))
}

pub(super) fn known(obj: &Map<String, Value>, names: &[&str], at: &str) -> Check {
    match obj.keys().find(|k| !names.contains(&camel(k).as_str())) {
        None => Ok(()),
        Some(k) if at.is_empty() => Err(format!(
            "Invalid JSON payload received. Unknown name \"{k}\": Cannot find field."
        )),
        Some(k) => Err(format!(
            "Invalid JSON payload received. Unknown name \"{k}\" at '{at}': Cannot find field."
        )),
    }
}

/// Auth: `x-goog-api-key` only (a `key=` query parameter would leak the secret into URLs and logs).
pub(crate) fn auth(
    headers: &HeaderMap,
    query: &str,
    accepted: Option<&[String]>,
) -> Result<(), Refusal> {
    if query_param(query, "key").is_some() {
        return Err(invalid(
            "key in URL: send the API key in the x-goog-api-key header, never as the `key` query parameter",
        ));
    }
    let key = headers.get("x-goog-api-key").and_then(|v| v.to_str().ok());
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(Refusal {
            code: 403,
            status: "PERMISSION_DENIED",
            message:
                "Method doesn't allow unregistered callers (callers without established identity). \
                      Please use API Key or other form of API consumer identity to call this API."
                    .into(),
            reason: None,
        });
    };
    if accepted.is_some_and(|keys| !keys.iter().any(|k| k == key)) {
        // The real API answers a bad key with 400, not 401: only the reason tells it apart.
        return Err(Refusal {
            reason: Some("API_KEY_INVALID"),
            ..invalid("API key not valid. Please pass a valid API key.")
        });
    }
    Ok(())
}

/// Every body rule; the first broken one is reported.
pub(crate) fn body(body: &Value) -> Result<(), Refusal> {
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            "Invalid JSON payload received. Expected an object.",
        ));
    };
    known(obj, TOP, "").map_err(invalid)?;
    contents(field(obj, "contents")).map_err(invalid)?;
    if let Some(system) = field(obj, "systemInstruction") {
        system_instruction(system).map_err(invalid)?;
    }
    let mut declared: Vec<String> = Vec::new();
    if let Some(tools) = field(obj, "tools") {
        declared = schema::tools(tools).map_err(invalid)?;
    }
    if let Some(config) = field(obj, "toolConfig") {
        schema::tool_config(config, &declared).map_err(invalid)?;
    }
    if let Some(config) = field(obj, "generationConfig") {
        schema::generation_config(config).map_err(invalid)?;
    }
    Ok(())
}

fn contents(v: Option<&Value>) -> Check {
    let list = match v {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) | None => {
            return Err("* GenerateContentRequest.contents: contents is not specified".into());
        }
        Some(_) => {
            return Err("Invalid JSON payload received. Expected a list at 'contents'.".into());
        }
    };
    // Function names called by the previous turn, if it was a model turn with function calls.
    let mut prev: Option<(&str, Vec<String>)> = None;
    for (i, c) in list.iter().enumerate() {
        let at = format!("contents[{i}]");
        let obj = object_at(c, &at)?;
        known(obj, CONTENT, &at)?;
        // A single turn may leave its role unset (Google's own quick-start request does); it is the user's.
        let role = match field(obj, "role").and_then(Value::as_str) {
            None if list.len() == 1 && field(obj, "role").is_none() => "user",
            Some(role @ ("user" | "model")) => role,
            _ => return Err("Please use a valid role: user, model.".into()),
        };
        let parts = match field(obj, "parts") {
            Some(Value::Array(p)) if !p.is_empty() => p,
            _ => {
                return Err(format!(
                    "* GenerateContentRequest.{at}.parts: contents.parts must not be empty."
                ));
            }
        };
        let mut calls: Vec<String> = Vec::new();
        let mut responses: Vec<String> = Vec::new();
        for (j, p) in parts.iter().enumerate() {
            match part(p, &format!("{at}.parts[{j}]"), role)? {
                PartKind::Call(name) => calls.push(name),
                PartKind::Response(name) => responses.push(name),
                PartKind::Other => {}
            }
        }
        if !calls.is_empty() && prev.as_ref().is_some_and(|(r, _)| *r == "model") {
            return Err("Please ensure that function call turn comes immediately after a user turn or after a \
                        function response turn."
                .into());
        }
        if !responses.is_empty() {
            let Some((_, called)) = prev
                .as_ref()
                .filter(|(r, c)| *r == "model" && !c.is_empty())
            else {
                return Err(
                    "Please ensure that function response turn comes immediately after a function call turn."
                        .into(),
                );
            };
            if called.len() != responses.len() {
                return Err("Please ensure that the number of function response parts is equal to the number \
                            of function call parts of the function call turn."
                    .into());
            }
            if let Some(name) = responses.iter().find(|n| !called.contains(n)) {
                return Err(format!(
                    "* GenerateContentRequest.{at}: function response `{name}` answers no function call of the \
                     previous turn"
                ));
            }
        }
        prev = Some((role, calls));
    }
    Ok(())
}

enum PartKind {
    Call(String),
    Response(String),
    Other,
}

fn part(p: &Value, at: &str, role: &str) -> Result<PartKind, String> {
    let obj = object_at(p, at)?;
    let mut names: Vec<&str> = DATA_FIELDS.to_vec();
    names.extend_from_slice(PART_META);
    known(obj, &names, at)?;
    let set: Vec<&str> = DATA_FIELDS
        .iter()
        .copied()
        .filter(|f| match field(obj, f) {
            None | Some(Value::Null) => false,
            // An empty string is the proto default: not "set".
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        })
        .collect();
    let data = match set.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "* GenerateContentRequest.{at}.data: required oneof field 'data' must have one initialized field"
            ));
        }
        [_, second, ..] => {
            return Err(format!(
                "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '{second}' at \
                 '{at}'."
            ));
        }
    };
    let value = field(obj, data).unwrap_or(&Value::Null);
    match data {
        "text" if !value.is_string() => Err(format!("Invalid value at '{at}.text' (TYPE_STRING)")),
        "inlineData" => inline_data(value, &format!("{at}.inline_data")).map(|()| PartKind::Other),
        "fileData" => {
            let uri = value
                .as_object()
                .and_then(|o| field(o, "fileUri"))
                .and_then(Value::as_str);
            if uri.is_some_and(|u| !u.is_empty()) {
                Ok(PartKind::Other)
            } else {
                Err(format!(
                    "* GenerateContentRequest.{at}.file_data.file_uri: required field is not set"
                ))
            }
        }
        "functionCall" => {
            if role != "model" {
                return Err(format!(
                    "* GenerateContentRequest.{at}.function_call: function calls are only allowed in model turns"
                ));
            }
            let call = value
                .as_object()
                .ok_or_else(|| format!("Invalid value at '{at}.function_call'"))?;
            known(
                call,
                &["name", "args", "id"],
                &format!("{at}.function_call"),
            )?;
            if field(call, "args").is_some_and(|a| !a.is_object()) {
                return Err(format!(
                    "Invalid value at '{at}.function_call.args' (type.googleapis.com/google.protobuf.Struct)"
                ));
            }
            Ok(PartKind::Call(function_name(
                call,
                &format!("{at}.function_call"),
            )?))
        }
        "functionResponse" => {
            if role != "user" {
                return Err(format!(
                    "* GenerateContentRequest.{at}.function_response: function responses are only allowed in \
                     user turns"
                ));
            }
            let resp = value
                .as_object()
                .ok_or_else(|| format!("Invalid value at '{at}.function_response'"))?;
            let rat = format!("{at}.function_response");
            known(
                resp,
                &[
                    "name",
                    "response",
                    "id",
                    "willContinue",
                    "scheduling",
                    "parts",
                ],
                &rat,
            )?;
            if !field(resp, "response").is_some_and(Value::is_object) {
                return Err(format!(
                    "Invalid value at '{rat}.response' (type.googleapis.com/google.protobuf.Struct): the \
                     response must be a JSON object"
                ));
            }
            Ok(PartKind::Response(function_name(resp, &rat)?))
        }
        _ => Ok(PartKind::Other),
    }
}

fn function_name(obj: &Map<String, Value>, at: &str) -> Result<String, String> {
    match field(obj, "name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => Ok(n.to_owned()),
        _ => Err(format!(
            "* GenerateContentRequest.{at}.name: Name cannot be empty."
        )),
    }
}

fn inline_data(v: &Value, at: &str) -> Check {
    let Some(obj) = v.as_object() else {
        return Err(format!("Invalid value at '{at}'"));
    };
    known(obj, &["mimeType", "data"], at)?;
    if !field(obj, "mimeType")
        .and_then(Value::as_str)
        .is_some_and(|m| m.contains('/'))
    {
        return Err(format!(
            "* GenerateContentRequest.{at}.mime_type: required field is not set"
        ));
    }
    let data = field(obj, "data")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if lenient_base64(data).is_none() {
        let head: String = data.chars().take(24).collect();
        return Err(format!(
            "Invalid value at '{at}.data' (TYPE_BYTES), Base64 decoding failed for \"{head}\""
        ));
    }
    Ok(())
}

fn system_instruction(v: &Value) -> Check {
    let at = "system_instruction";
    let obj = object_at(v, at)?;
    known(obj, CONTENT, at)?;
    let Some(parts) = field(obj, "parts")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
    else {
        return Err(format!(
            "* GenerateContentRequest.{at}.parts: contents.parts must not be empty."
        ));
    };
    for (j, p) in parts.iter().enumerate() {
        let pat = format!("{at}.parts[{j}]");
        let text = p
            .as_object()
            .and_then(|o| field(o, "text"))
            .and_then(Value::as_str);
        if text.is_none_or(str::is_empty) {
            return Err(format!(
                "* GenerateContentRequest.{pat}.data: required oneof field 'data' must have one initialized \
                 field (system instructions take non-empty text parts only)"
            ));
        }
        if let Some(o) = p.as_object() {
            known(o, &["text"], &pat)?;
        }
    }
    Ok(())
}
