//! A Gemini `generateContent` body → the OpenAI chat object the pipeline relays (for channels that do not speak
//! Gemini). Google's JSON parser takes every field in camelCase or snake_case (the `google-genai` SDK sends both:
//! `inlineData` holding `mime_type`), so each field is looked up under both names.
//!
//! What is carried: text, images (`inlineData`, and `fileData` at an http(s) address), function declarations,
//! calls and responses, the system instruction, the function-calling mode and the generation config. What cannot
//! be carried is a 400 naming the field: other media, built-in tools (Google Search, code execution… are billed
//! by Google per call, so they are never served unpriced), cached content, non-text output modalities.

use crate::error::ApiError;
use serde_json::{Map, Value, json};

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message, Some(param))
}

/// The field `camel` of `o`, or its snake_case spelling.
pub fn field<'a>(o: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| {
        let mut snake = String::with_capacity(camel.len() + 4);
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        o.get(&snake)
    })
}

/// [`field`] as an object, if it is one; `Err` names it when it is present but not an object.
fn object<'a>(
    o: &'a Map<String, Value>,
    camel: &str,
    param: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match field(o, camel) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(bad(param, format!("`{param}` must be an object."))),
    }
}

fn array<'a>(o: &'a Map<String, Value>, camel: &str, param: &str) -> Result<&'a [Value], ApiError> {
    match field(o, camel) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(param, format!("`{param}` must be an array."))),
    }
}

fn string<'a>(o: &'a Map<String, Value>, camel: &str, param: &str) -> Result<&'a str, ApiError> {
    field(o, camel)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(param, format!("`{param}` must be a string.")))
}

/// The chat object for `body` asking `model`, streamed or not.
pub fn to_openai(
    body: &Map<String, Value>,
    model: &str,
    stream: bool,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    out.insert("model".to_owned(), Value::from(model));
    out.insert("stream".to_owned(), Value::Bool(stream));
    let mut messages = Vec::new();
    if let Some(system) = system_text(body)? {
        messages.push(json!({"role": "system", "content": system}));
    }
    Turns::default().convert(body, &mut messages)?;
    out.insert("messages".to_owned(), Value::Array(messages));
    tools(body, &mut out)?;
    if let Some(config) = object(body, "generationConfig", "generationConfig")? {
        generation_config(config, &mut out)?;
    }
    if field(body, "cachedContent").is_some() {
        return Err(bad(
            "cachedContent",
            "Cached content cannot be served through this model's channels.",
        ));
    }
    Ok(out)
}

fn system_text(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let param = "systemInstruction";
    match field(body, param) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(content)) => {
            let mut text = Vec::new();
            for (j, part) in array(content, "parts", param)?.iter().enumerate() {
                let at = format!("{param}.parts[{j}]");
                let part = part
                    .as_object()
                    .ok_or_else(|| bad(&at, "A part must be an object."))?;
                text.push(string(part, "text", &format!("{at}.text"))?);
            }
            Ok(Some(text.join("\n")))
        }
        Some(_) => Err(bad(param, "`systemInstruction` must be a Content object.")),
    }
}

/// A part of a turn, with where it is in the body (for errors).
type Part<'a> = (String, &'a Map<String, Value>);

/// The conversion of `contents`, turn by turn, keeping the function calls not yet answered so each
/// `functionResponse` gets its call's id.
#[derive(Default)]
struct Turns {
    /// (function name, tool call id) of the last model turn's calls not yet answered.
    pending: Vec<(String, String)>,
}

/// What one user turn becomes: tool results first (they answer the previous model turn), then the rest.
#[derive(Default)]
struct UserTurn {
    results: Vec<Value>,
    parts: Vec<Value>,
}

impl Turns {
    fn convert(mut self, body: &Map<String, Value>, out: &mut Vec<Value>) -> Result<(), ApiError> {
        let contents = array(body, "contents", "contents")?;
        if contents.is_empty() {
            return Err(bad("contents", "`contents` must hold at least one turn."));
        }
        for (i, content) in contents.iter().enumerate() {
            let at = format!("contents[{i}]");
            let content = content
                .as_object()
                .ok_or_else(|| bad(&at, "A turn must be a Content object."))?;
            match field(content, "role").and_then(Value::as_str) {
                None | Some("user" | "function" | "tool") => self.user(content, &at, out)?,
                Some("model") => self.model(content, &at, i, out)?,
                Some(other) => {
                    return Err(bad(
                        &format!("{at}.role"),
                        format!("Role `{other}` is not a Gemini role (user or model)."),
                    ));
                }
            }
        }
        Ok(())
    }

    fn parts<'a>(content: &'a Map<String, Value>, at: &str) -> Result<Vec<Part<'a>>, ApiError> {
        let parts = array(content, "parts", &format!("{at}.parts"))?;
        parts
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let at = format!("{at}.parts[{j}]");
                let p = p
                    .as_object()
                    .ok_or_else(|| bad(&at, "A part must be an object."))?;
                Ok((at, p))
            })
            .collect()
    }

    fn user(
        &mut self,
        content: &Map<String, Value>,
        at: &str,
        out: &mut Vec<Value>,
    ) -> Result<(), ApiError> {
        let mut turn = UserTurn::default();
        for (at, part) in Self::parts(content, at)? {
            if let Some(response) =
                object(part, "functionResponse", &format!("{at}.functionResponse"))?
            {
                turn.results.push(self.result(response, &at)?);
            } else if let Some(text) = field(part, "text") {
                let text = text
                    .as_str()
                    .ok_or_else(|| bad(&format!("{at}.text"), "`text` must be a string."))?;
                turn.parts.push(json!({"type": "text", "text": text}));
            } else {
                turn.parts.push(media(part, &at)?);
            }
        }
        out.append(&mut turn.results);
        if turn.parts.is_empty() {
            return Ok(());
        }
        let all_text = turn.parts.iter().all(|p| p["type"] == "text");
        let content = if all_text {
            let texts: Vec<&str> = turn
                .parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect();
            Value::String(texts.join("\n"))
        } else {
            Value::Array(turn.parts)
        };
        out.push(json!({"role": "user", "content": content}));
        Ok(())
    }

    /// A `functionResponse` → a tool message answering its call: by id when the client kept it, else the first
    /// unanswered call of that name.
    fn result(&mut self, response: &Map<String, Value>, at: &str) -> Result<Value, ApiError> {
        let at = format!("{at}.functionResponse");
        let name = string(response, "name", &format!("{at}.name"))?;
        let id = field(response, "id").and_then(Value::as_str);
        let found = self
            .pending
            .iter()
            .position(|(n, i)| id.map_or(n == name, |id| i == id))
            .ok_or_else(|| {
                bad(
                    &at,
                    format!("No function call of `{name}` in the previous model turn to answer."),
                )
            })?;
        let (_, call_id) = self.pending.remove(found);
        let result = field(response, "response").cloned().unwrap_or(Value::Null);
        Ok(json!({"role": "tool", "tool_call_id": call_id, "content": result.to_string()}))
    }

    fn model(
        &mut self,
        content: &Map<String, Value>,
        at: &str,
        turn: usize,
        out: &mut Vec<Value>,
    ) -> Result<(), ApiError> {
        self.pending.clear();
        let mut text = Vec::new();
        let mut calls = Vec::new();
        for (at, part) in Self::parts(content, at)? {
            if let Some(call) = object(part, "functionCall", &format!("{at}.functionCall"))? {
                let at = format!("{at}.functionCall");
                let name = string(call, "name", &format!("{at}.name"))?;
                let id = match field(call, "id").and_then(Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => format!("call_{turn}_{}", calls.len()),
                };
                let args = field(call, "args").cloned().unwrap_or_else(|| json!({}));
                self.pending.push((name.to_owned(), id.clone()));
                calls.push(json!({"id": id, "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}}));
            } else if field(part, "thought").and_then(Value::as_bool) == Some(true) {
                // The model's earlier thoughts are not sent back to another provider.
            } else if let Some(t) = field(part, "text") {
                text.push(
                    t.as_str()
                        .ok_or_else(|| bad(&format!("{at}.text"), "`text` must be a string."))?,
                );
            } else {
                return Err(bad(
                    &at,
                    "A model turn may hold text and function calls only.",
                ));
            }
        }
        if text.is_empty() && calls.is_empty() {
            return Ok(());
        }
        let mut message = json!({"role": "assistant",
            "content": if text.is_empty() { Value::Null } else { Value::from(text.join("")) }});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        out.push(message);
        Ok(())
    }
}

/// An image part (`inlineData`, or `fileData` at an http(s) address) → an OpenAI `image_url` part.
fn media(part: &Map<String, Value>, at: &str) -> Result<Value, ApiError> {
    let url = if let Some(blob) = object(part, "inlineData", &format!("{at}.inlineData"))? {
        let at = format!("{at}.inlineData");
        let mime = image_type(blob, &at)?;
        let data = string(blob, "data", &format!("{at}.data"))?;
        format!("data:{mime};base64,{data}")
    } else if let Some(file) = object(part, "fileData", &format!("{at}.fileData"))? {
        let at = format!("{at}.fileData");
        image_type(file, &at)?;
        let uri = string(file, "fileUri", &format!("{at}.fileUri"))?;
        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
            return Err(bad(
                &format!("{at}.fileUri"),
                "Only images at an http(s) address can be served through this model's channels.",
            ));
        }
        uri.to_owned()
    } else {
        return Err(bad(
            at,
            "This part cannot be served through this model's channels: only text, images, function calls and function responses can.",
        ));
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

fn image_type<'a>(blob: &'a Map<String, Value>, at: &str) -> Result<&'a str, ApiError> {
    let param = format!("{at}.mimeType");
    let mime = string(blob, "mimeType", &param)?;
    if mime.starts_with("image/") {
        Ok(mime)
    } else {
        Err(bad(
            &param,
            format!("`{mime}` cannot be served through this model's channels: only images can."),
        ))
    }
}

/// `tools[].functionDeclarations` → OpenAI function tools, and `toolConfig` → `tool_choice`.
fn tools(body: &Map<String, Value>, out: &mut Map<String, Value>) -> Result<(), ApiError> {
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
fn generation_config(
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
