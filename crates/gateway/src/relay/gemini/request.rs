//! A Gemini `generateContent` body → the OpenAI chat object the pipeline relays (for channels that do not speak
//! Gemini). Google's JSON parser takes every field in camelCase or snake_case (the `google-genai` SDK sends both:
//! `inlineData` holding `mime_type`), so each field is looked up under both names.
//!
//! What is carried: text, images (`inlineData`, and `fileData` at an http(s) address), function declarations,
//! calls and responses, the system instruction, the function-calling mode and the generation config. What cannot
//! be carried is a 400 naming the field: other media, built-in tools (Google Search, code execution… are billed
//! by Google per call, so they are never served unpriced), cached content, non-text output modalities.

use super::config;
use crate::error::ApiError;
use serde_json::{Map, Value, json};

pub(super) fn bad(param: &str, message: impl Into<String>) -> ApiError {
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
pub(super) fn object<'a>(
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

pub(super) fn array<'a>(
    o: &'a Map<String, Value>,
    camel: &str,
    param: &str,
) -> Result<&'a [Value], ApiError> {
    match field(o, camel) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(param, format!("`{param}` must be an array."))),
    }
}

pub(super) fn string<'a>(
    o: &'a Map<String, Value>,
    camel: &str,
    param: &str,
) -> Result<&'a str, ApiError> {
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
    config::tools(body, &mut out)?;
    if let Some(config) = object(body, "generationConfig", "generationConfig")? {
        config::generation_config(config, &mut out)?;
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

/// Function calls one model turn may hold: each answer is matched against them, so their number bounds that work.
const MAX_CALLS_PER_TURN: usize = 128;

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
                if calls.len() == MAX_CALLS_PER_TURN {
                    return Err(bad(
                        &at,
                        format!(
                            "A model turn may hold at most {MAX_CALLS_PER_TURN} function calls."
                        ),
                    ));
                }
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
