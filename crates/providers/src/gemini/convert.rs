//! OpenAI chat request → Gemini `generateContent` body. Pure except for images, which go through the
//! request's [`MediaCache`] (data: URLs are decoded, http(s) URLs downloaded) because Gemini only takes inline bytes for
//! arbitrary URLs. Anything that cannot be expressed is an `InvalidInput` error, never silently dropped.

use super::schema::{clean_parameters, clean_schema};
use super::wire::{
    Blob, Content, FunctionCall, FunctionCallingConfig, FunctionDeclaration, FunctionResponse,
    GenerateContentRequest, GenerationConfig, Part, ThinkingConfig, Tool, ToolConfig,
};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::media::MediaCache;
use api_types::json::items;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Gemini 3 rejects replayed `functionCall` parts without a thought signature. We do not carry Gemini's real
/// signatures through the OpenAI tool-call id, so replayed calls get the sentinel Google documents for history
/// that did not come from Gemini 3 (validation is skipped, reasoning context of that step is lost).
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

fn invalid(message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::InvalidInput, message)
}

/// The whole request body for `model` (the upstream name, which is in the URL, not the body).
pub async fn build_request(
    body: &Map<String, Value>,
    media: &MediaCache,
) -> Result<GenerateContentRequest, UpstreamError> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("'messages' must be an array"))?;
    // Downloaded up front, a few at a time; the conversion below then finds them in the request's cache.
    media.inline_all(remote_image_urls(messages)).await?;
    let (system_instruction, contents) =
        convert_messages(messages, media, needs_signatures(model)).await?;
    let tools = convert_tools(body)?;
    let tool_config = if tools.is_empty() {
        None
    } else {
        tool_config(body)?
    };
    Ok(GenerateContentRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config: generation_config(body)?,
    })
}

/// The distinct http(s) URLs of the `image_url` parts (`data:` URLs are decoded where they are met).
fn remote_image_urls(messages: &[Value]) -> BTreeSet<&str> {
    messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("image_url"))
        .filter_map(|p| {
            let image = p.get("image_url")?;
            image.get("url").or(Some(image)).and_then(Value::as_str)
        })
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .collect()
}

/// Gemini 3 and later validate thought signatures on replayed function calls.
fn needs_signatures(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model);
    name.strip_prefix("gemini-")
        .and_then(|rest| rest.split(['.', '-']).next())
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major >= 3)
}

async fn convert_messages(
    messages: &[Value],
    media: &MediaCache,
    sign_calls: bool,
) -> Result<(Option<Content>, Vec<Content>), UpstreamError> {
    let mut system: Vec<Part> = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    // tool_call_id → function name, for the `functionResponse` of later tool messages.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for (i, msg) in messages.iter().enumerate() {
        let role = msg.get("role").and_then(Value::as_str).unwrap_or("");
        let content = msg.get("content").unwrap_or(&Value::Null);
        match role {
            // A system message in the middle still belongs to the one system instruction Gemini has.
            "system" | "developer" => system.extend(text_parts(content).map(Part::text)),
            "user" => push(&mut contents, "user", user_parts(content, media, i).await?),
            "assistant" => {
                let parts = assistant_parts(msg, &mut call_names, sign_calls, i)?;
                push(&mut contents, "model", parts);
            }
            "tool" => {
                let id = msg
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let name = call_names.get(id).cloned().ok_or_else(|| {
                    invalid(format!(
                        "messages[{i}]: tool_call_id `{id}` does not match a tool call of an earlier assistant message"
                    ))
                })?;
                push(
                    &mut contents,
                    "user",
                    vec![function_response(name, content)],
                );
            }
            "function" => {
                let name = msg.get("name").and_then(Value::as_str).unwrap_or("");
                let part = function_response(name.to_owned(), content);
                push(&mut contents, "user", vec![part]);
            }
            other => {
                return Err(invalid(format!(
                    "messages[{i}]: role `{other}` is not supported by Gemini"
                )));
            }
        }
    }
    let system = (!system.is_empty()).then_some(Content {
        role: None,
        parts: system,
    });
    Ok((system, contents))
}

/// Appends `parts` as a turn of `role`, merged into the previous turn when that has the same role (Gemini wants
/// user and model turns to alternate).
fn push(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role.to_owned()),
            parts,
        }),
    }
}

/// The non-empty texts of a string content or of the `text` parts of an array content.
fn text_parts(content: &Value) -> impl Iterator<Item = String> + '_ {
    let items: Box<dyn Iterator<Item = &str>> = match content {
        Value::String(s) => Box::new(std::iter::once(s.as_str())),
        Value::Array(parts) => Box::new(
            parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|p| p.get("text").and_then(Value::as_str)),
        ),
        _ => Box::new(std::iter::empty()),
    };
    items.filter(|s| !s.is_empty()).map(str::to_owned)
}

async fn user_parts(
    content: &Value,
    media: &MediaCache,
    i: usize,
) -> Result<Vec<Part>, UpstreamError> {
    let Value::Array(items) = content else {
        return Ok(text_parts(content).map(Part::text).collect());
    };
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "text" => {
                let text = item.get("text").and_then(Value::as_str).unwrap_or("");
                if !text.is_empty() {
                    parts.push(Part::text(text.to_owned()));
                }
            }
            "image_url" => {
                let image = item.get("image_url");
                let url = image
                    .and_then(|u| u.get("url"))
                    .or(image)
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid(format!("messages[{i}]: image_url part without a url"))
                    })?;
                let inline = media.inline(url).await?;
                parts.push(inline_part(inline.media_type.to_owned(), inline.base64));
            }
            "input_audio" => {
                let audio = item.get("input_audio");
                let data = audio.and_then(|a| a.get("data")).and_then(Value::as_str);
                let format = audio.and_then(|a| a.get("format")).and_then(Value::as_str);
                let (Some(data), Some(format)) = (data, format) else {
                    return Err(invalid(format!(
                        "messages[{i}]: input_audio needs `data` and `format`"
                    )));
                };
                parts.push(inline_part(format!("audio/{format}"), data.to_owned()));
            }
            "file" => {
                let (mime, data) = item
                    .get("file")
                    .and_then(|f| f.get("file_data"))
                    .and_then(Value::as_str)
                    .and_then(split_data_url)
                    .ok_or_else(|| {
                        invalid(format!(
                            "messages[{i}]: Gemini takes files only as base64 `file_data` data: URLs"
                        ))
                    })?;
                parts.push(inline_part(mime.to_owned(), data.to_owned()));
            }
            other => {
                return Err(invalid(format!(
                    "messages[{i}]: content part type `{other}` is not supported by Gemini"
                )));
            }
        }
    }
    Ok(parts)
}

fn inline_part(mime_type: String, data: String) -> Part {
    Part {
        inline_data: Some(Blob { mime_type, data }),
        ..Part::default()
    }
}

/// `data:<mime>;base64,<data>` → (mime, data).
fn split_data_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

fn assistant_parts(
    msg: &Value,
    call_names: &mut HashMap<String, String>,
    sign_calls: bool,
    i: usize,
) -> Result<Vec<Part>, UpstreamError> {
    let content = msg.get("content").unwrap_or(&Value::Null);
    let mut parts: Vec<Part> = text_parts(content).map(Part::text).collect();
    let mut calls: Vec<(&str, &str)> = Vec::new();
    for call in items(msg.get("tool_calls")) {
        let function = call.get("function");
        let name = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("messages[{i}]: tool call without a function name")))?;
        let args = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            call_names.insert(id.to_owned(), name.to_owned());
        }
        calls.push((name, args));
    }
    if let Some(f) = msg.get("function_call") {
        let name = f.get("name").and_then(Value::as_str).unwrap_or("");
        calls.push((
            name,
            f.get("arguments").and_then(Value::as_str).unwrap_or(""),
        ));
    }
    for (n, (name, args)) in calls.into_iter().enumerate() {
        let args = parse_arguments(args).ok_or_else(|| {
            invalid(format!(
                "messages[{i}]: arguments of tool call `{name}` are not a JSON object"
            ))
        })?;
        parts.push(Part {
            function_call: Some(FunctionCall {
                name: name.to_owned(),
                args,
            }),
            // Only the first call of a step carries a signature, as Gemini itself answers.
            thought_signature: (sign_calls && n == 0).then(|| SKIP_SIGNATURE.to_owned()),
            ..Part::default()
        });
    }
    Ok(parts)
}

fn parse_arguments(args: &str) -> Option<Map<String, Value>> {
    if args.trim().is_empty() {
        return Some(Map::new());
    }
    match serde_json::from_str::<Value>(args) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    }
}

/// A tool result: a JSON object is passed as the response itself, anything else as `{"content": text}`.
fn function_response(name: String, content: &Value) -> Part {
    let text: String = text_parts(content).collect();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(obj)) => obj,
        _ => {
            let mut obj = Map::new();
            obj.insert("content".to_owned(), Value::String(text));
            obj
        }
    };
    Part {
        function_response: Some(FunctionResponse { name, response }),
        ..Part::default()
    }
}

fn convert_tools(body: &Map<String, Value>) -> Result<Vec<Tool>, UpstreamError> {
    let mut declarations = Vec::new();
    for tool in items(body.get("tools")) {
        let kind = tool
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("function");
        let function = tool.get("function").filter(|_| kind == "function");
        let Some(function) = function else {
            return Err(invalid(format!(
                "tool type `{kind}` is not supported by Gemini"
            )));
        };
        declarations.push(declaration(function)?);
    }
    for function in items(body.get("functions")) {
        declarations.push(declaration(function)?);
    }
    if declarations.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Tool {
        function_declarations: declarations,
    }])
}

fn declaration(function: &Value) -> Result<FunctionDeclaration, UpstreamError> {
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a tool function has no name"))?;
    Ok(FunctionDeclaration {
        name: name.to_owned(),
        description: function
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        parameters: function.get("parameters").and_then(clean_parameters),
    })
}

/// `tool_choice` (or the deprecated `function_call`) → `functionCallingConfig`.
fn tool_config(body: &Map<String, Value>) -> Result<Option<ToolConfig>, UpstreamError> {
    let choice = body
        .get("tool_choice")
        .or_else(|| body.get("function_call"))
        .filter(|v| !v.is_null());
    let Some(choice) = choice else {
        return Ok(None);
    };
    let (mode, names) = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => ("AUTO", Vec::new()),
            "none" => ("NONE", Vec::new()),
            "required" => ("ANY", Vec::new()),
            other => return Err(invalid(format!("tool_choice `{other}` is not supported"))),
        },
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("allowed_tools") => allowed_tools(obj.get("allowed_tools"))?,
            _ => {
                let name = obj
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .or_else(|| obj.get("name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("tool_choice names no function"))?;
                ("ANY", vec![name.to_owned()])
            }
        },
        _ => return Err(invalid("tool_choice must be a string or an object")),
    };
    Ok(Some(ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names: names,
        },
    }))
}

/// `{mode: auto|required, tools: [{type: function, function: {name}}]}`; Gemini restricts names only in `ANY` mode.
fn allowed_tools(spec: Option<&Value>) -> Result<(&'static str, Vec<String>), UpstreamError> {
    let mode = spec.and_then(|s| s.get("mode")).and_then(Value::as_str);
    match mode {
        Some("auto") | None => Ok(("AUTO", Vec::new())),
        Some("required") => {
            let names = items(spec.and_then(|s| s.get("tools")))
                .filter_map(|t| t.get("function")?.get("name")?.as_str())
                .map(str::to_owned)
                .collect();
            Ok(("ANY", names))
        }
        Some(other) => Err(invalid(format!(
            "allowed_tools mode `{other}` is not supported"
        ))),
    }
}

fn number(body: &Map<String, Value>, key: &str) -> Result<Option<f64>, UpstreamError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(format!("'{key}' must be a number"))),
    }
}

fn generation_config(body: &Map<String, Value>) -> Result<Option<GenerationConfig>, UpstreamError> {
    let uint = |key: &str| body.get(key).and_then(Value::as_u64);
    let stop_sequences = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let format = body.get("response_format");
    let (response_mime_type, response_schema) =
        match format.and_then(|f| f.get("type")).and_then(Value::as_str) {
            Some("json_object") => (Some("application/json"), None),
            Some("json_schema") => {
                let schema = format
                    .and_then(|f| f.get("json_schema"))
                    .and_then(|s| s.get("schema"))
                    .map(clean_schema);
                (Some("application/json"), schema)
            }
            _ => (None, None),
        };
    let config = GenerationConfig {
        temperature: number(body, "temperature")?,
        top_p: number(body, "top_p")?,
        // With thinking, the output limit covers the budget and the answer's limit.
        max_output_tokens: uint("max_completion_tokens")
            .or_else(|| uint("max_tokens"))
            .map(|n| n.saturating_add(crate::reasoning::budget(body).unwrap_or(0))),
        stop_sequences,
        candidate_count: uint("n").filter(|&n| n != 1),
        presence_penalty: number(body, "presence_penalty")?,
        frequency_penalty: number(body, "frequency_penalty")?,
        seed: body.get("seed").and_then(Value::as_i64),
        response_mime_type,
        response_schema,
        thinking_config: crate::reasoning::budget(body).map(|thinking_budget| ThinkingConfig {
            thinking_budget,
            include_thoughts: true,
        }),
    };
    Ok((config != GenerationConfig::default()).then_some(config))
}
