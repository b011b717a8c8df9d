//! A Responses API request as an OpenAI chat object, for channels without `/v1/responses`. What chat can carry
//! is carried (instructions, text and image input, history with function calls and their outputs, function tools,
//! tool choice, structured output, sampling and length limits); what needs OpenAI's server-side state or its
//! built-in tools (`previous_response_id`, `background`, web search, file inputs) is a 400 naming the field.

use crate::error::ApiError;
use crate::relay::chat_parts::text_part;
use serde_json::{Map, Value, json};

fn refuse(message: impl AsRef<str>, param: &str) -> ApiError {
    ApiError::invalid(message.as_ref(), Some(param))
}

/// Fields that only OpenAI's own Responses service can honour.
const STATEFUL: [&str; 3] = ["previous_response_id", "conversation", "prompt"];

pub fn to_chat(req: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    for field in STATEFUL {
        if req.get(field).is_some_and(|v| !v.is_null()) {
            return Err(refuse(
                format!(
                    "`{field}` needs stored responses, which this model's channels do not keep."
                ),
                field,
            ));
        }
    }
    if req.get("background") == Some(&Value::Bool(true)) {
        return Err(refuse(
            "`background` responses are not available for this model.",
            "background",
        ));
    }
    let mut chat = Map::new();
    if let Some(model) = req.get("model") {
        chat.insert("model".to_owned(), model.clone());
    }
    let mut messages = Vec::new();
    match req.get("instructions") {
        Some(Value::String(i)) if !i.is_empty() => {
            messages.push(json!({"role": "system", "content": i}));
        }
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err(refuse("`instructions` must be a string.", "instructions")),
    }
    match req.get("input") {
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                push_item(&mut messages, item, i)?;
            }
        }
        _ => {
            return Err(refuse(
                "`input` is required: a string or a non-empty array of input items.",
                "input",
            ));
        }
    }
    chat.insert("messages".to_owned(), Value::Array(messages));

    if let Some(tools) = req.get("tools").filter(|t| !t.is_null()) {
        let converted = tools
            .as_array()
            .ok_or_else(|| refuse("`tools` must be an array.", "tools"))?
            .iter()
            .enumerate()
            .map(|(i, t)| tool(t, i))
            .collect::<Result<Vec<_>, _>>()?;
        if !converted.is_empty() {
            chat.insert("tools".to_owned(), Value::Array(converted));
        }
    }
    if let Some(choice) = req.get("tool_choice").filter(|t| !t.is_null()) {
        chat.insert("tool_choice".to_owned(), tool_choice(choice)?);
    }
    let format = req.get("text").and_then(|t| t.get("format"));
    if let Some(rf) = format
        .filter(|f| !f.is_null())
        .map(response_format)
        .transpose()?
        .flatten()
    {
        chat.insert("response_format".to_owned(), rf);
    }
    if let Some(max) = req.get("max_output_tokens").filter(|m| !m.is_null()) {
        chat.insert("max_tokens".to_owned(), max.clone());
    }
    // The same meaning under the same name in both APIs.
    for field in [
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "user",
        "stream",
        "top_logprobs",
        "service_tier",
    ] {
        if let Some(v) = req.get(field).filter(|v| !v.is_null()) {
            chat.insert(field.to_owned(), v.clone());
        }
    }
    if let Some(effort) = req
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|v| !v.is_null())
    {
        chat.insert("reasoning_effort".to_owned(), effort.clone());
    }
    Ok(chat)
}

/// One input item: a message (typed or "easy"), a function call of an earlier turn, its output, or reasoning
/// (dropped: other providers cannot read OpenAI's encrypted reasoning).
fn push_item(messages: &mut Vec<Value>, item: &Value, i: usize) -> Result<(), ApiError> {
    let param = format!("input[{i}]");
    let Some(obj) = item.as_object() else {
        return Err(refuse("each input item must be an object.", &param));
    };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("message");
    match kind {
        "message" => {
            let role = match obj.get("role").and_then(Value::as_str) {
                Some("developer") => "system",
                Some(r @ ("user" | "assistant" | "system")) => r,
                _ => {
                    return Err(refuse(
                        "a message's `role` must be user, assistant, system or developer.",
                        &format!("{param}.role"),
                    ));
                }
            };
            let content = content(obj.get("content"), &param)?;
            messages.push(json!({"role": role, "content": content}));
        }
        "function_call" => {
            let field = |name: &str| {
                obj.get(name).and_then(Value::as_str).ok_or_else(|| {
                    refuse(format!("`{name}` is required."), &format!("{param}.{name}"))
                })
            };
            let call = json!({"id": field("call_id")?, "type": "function",
                "function": {"name": field("name")?, "arguments": field("arguments")?}});
            // A turn's text and calls arrive as consecutive items; chat wants them on one assistant message.
            match messages.last_mut().and_then(Value::as_object_mut) {
                Some(last) if last.get("role").and_then(Value::as_str) == Some("assistant") => {
                    match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                        Some(calls) => calls.push(call),
                        None => {
                            last.insert("tool_calls".to_owned(), json!([call]));
                        }
                    }
                }
                _ => messages
                    .push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
            }
        }
        "function_call_output" => {
            let call_id = obj
                .get("call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| refuse("`call_id` is required.", &format!("{param}.call_id")))?;
            let output = match obj.get("output") {
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(parts @ Value::Array(_)) => content(Some(parts), &param)?,
                _ => return Err(refuse("`output` is required.", &format!("{param}.output"))),
            };
            messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": output}));
        }
        "reasoning" => {}
        other => {
            return Err(refuse(
                format!("input items of type `{other}` are not available for this model."),
                &format!("{param}.type"),
            ));
        }
    }
    Ok(())
}

/// Message content: a string, or parts (`input_text`/`output_text` → text, `input_image` → image_url).
fn content(content: Option<&Value>, param: &str) -> Result<Value, ApiError> {
    let parts = match content {
        Some(Value::String(s)) => return Ok(Value::String(s.clone())),
        Some(Value::Array(parts)) => parts,
        _ => {
            return Err(refuse(
                "`content` must be a string or an array of content parts.",
                &format!("{param}.content"),
            ));
        }
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let at = format!("{param}.content[{j}]");
        match part.get("type").and_then(Value::as_str) {
            Some("input_text" | "output_text" | "text") => out.push(text_part(part, "text")),
            Some("refusal") => out.push(text_part(part, "refusal")),
            Some("input_image") => {
                let Some(url) = part.get("image_url").and_then(Value::as_str) else {
                    return Err(refuse(
                        "an `input_image` needs an `image_url` (a URL or a data URL); `file_id` is not available.",
                        &at,
                    ));
                };
                let mut image = json!({"url": url});
                if let Some(detail) = part.get("detail").filter(|d| !d.is_null()) {
                    image["detail"] = detail.clone();
                }
                out.push(json!({"type": "image_url", "image_url": image}));
            }
            Some(other) => {
                return Err(refuse(
                    format!("content parts of type `{other}` are not available for this model."),
                    &at,
                ));
            }
            None => return Err(refuse("each content part needs a `type`.", &at)),
        }
    }
    Ok(Value::Array(out))
}

/// `{"type":"function","name",…}` → `{"type":"function","function":{"name",…}}`; built-in tools are OpenAI's.
fn tool(t: &Value, i: usize) -> Result<Value, ApiError> {
    let param = format!("tools[{i}]");
    match t.get("type").and_then(Value::as_str) {
        Some("function") => {
            let mut function = Map::new();
            for field in ["name", "description", "parameters", "strict"] {
                if let Some(v) = t.get(field).filter(|v| !v.is_null()) {
                    function.insert(field.to_owned(), v.clone());
                }
            }
            if !function.contains_key("name") {
                return Err(refuse("a function tool needs a `name`.", &param));
            }
            Ok(json!({"type": "function", "function": function}))
        }
        Some(other) => Err(refuse(
            format!(
                "the built-in tool `{other}` is not available for this model; only function tools are."
            ),
            &format!("{param}.type"),
        )),
        None => Err(refuse("each tool needs a `type`.", &param)),
    }
}

fn tool_choice(choice: &Value) -> Result<Value, ApiError> {
    match choice {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| refuse("a function `tool_choice` needs a `name`.", "tool_choice"))?;
            Ok(json!({"type": "function", "function": {"name": name}}))
        }
        _ => Err(refuse(
            "`tool_choice` must be auto, none, required or a function.",
            "tool_choice",
        )),
    }
}

/// `text.format` → `response_format`: plain text needs none.
fn response_format(format: &Value) -> Result<Option<Value>, ApiError> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut schema = Map::new();
            for field in ["name", "description", "schema", "strict"] {
                if let Some(v) = format.get(field).filter(|v| !v.is_null()) {
                    schema.insert(field.to_owned(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        _ => Err(refuse(
            "`text.format.type` must be text, json_object or json_schema.",
            "text.format",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(v: Value) -> Result<Value, ApiError> {
        to_chat(v.as_object().unwrap()).map(Value::Object)
    }

    #[test]
    fn carries_history_tools_and_options() {
        let chat = convert(json!({
            "model": "claude-3-5-sonnet-20240620",
            "instructions": "be brief",
            "input": [
                {"role": "developer", "content": "house rules"},
                {"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "weather?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
                {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{\"city\":\"Rome\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            ],
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}},
            "max_output_tokens": 100, "temperature": 0.2, "stream": true, "store": false,
        }))
        .unwrap();
        let m = &chat["messages"];
        assert_eq!(m[0], json!({"role": "system", "content": "be brief"}));
        assert_eq!(m[1], json!({"role": "system", "content": "house rules"}));
        assert_eq!(m[2]["content"][1]["image_url"]["detail"], "low");
        assert_eq!(m[3]["content"][0]["text"], "checking");
        assert_eq!(m[3]["tool_calls"].as_array().unwrap().len(), 2);
        assert_eq!(
            m[4],
            json!({"role": "tool", "tool_call_id": "c1", "content": "sunny"})
        );
        assert_eq!(m.as_array().unwrap().len(), 5);
        assert_eq!(chat["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(chat["tool_choice"]["function"]["name"], "get_weather");
        assert_eq!(chat["response_format"]["json_schema"]["strict"], true);
        assert_eq!(
            (chat["max_tokens"].clone(), chat["stream"].clone()),
            (json!(100), json!(true))
        );
        assert!(chat.get("store").is_none());
    }

    #[test]
    fn refuses_what_only_openai_can_do_naming_the_field() {
        for (body, param) in [
            (
                json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}),
                "previous_response_id",
            ),
            (
                json!({"model": "m", "input": "x", "background": true}),
                "background",
            ),
            (
                json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
                "input[0].type",
            ),
            (
                json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}),
                "input[0].content[0]",
            ),
            (
                json!({"model": "m", "input": [{"role": "robot", "content": "x"}]}),
                "input[0].role",
            ),
            (json!({"model": "m"}), "input"),
        ] {
            let err = convert(body).unwrap_err();
            assert_eq!(err.body().error.param.as_deref(), Some(param), "{err}");
        }
    }
}
