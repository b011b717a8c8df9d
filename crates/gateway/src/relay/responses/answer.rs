//! A chat answer as a Responses API `response` object: the text as a `message` item with one `output_text` part,
//! each tool call as a `function_call` item, usage renamed (`input_tokens`, `output_tokens`, their details), and
//! the request's settings echoed back as OpenAI does. A stopped-by-length answer is `incomplete`.

use crate::error::ApiError;
use crate::relay::chat_parts::tool_call_fields;
use serde_json::{Map, Value, json};

/// The request's settings as the `response` object repeats them (OpenAI's defaults where the client sent none).
#[derive(Clone)]
pub struct Echo {
    fields: Map<String, Value>,
}

impl Echo {
    pub fn of(req: &Map<String, Value>) -> Self {
        let mut fields = Map::new();
        let defaults = [
            ("instructions", Value::Null),
            ("max_output_tokens", Value::Null),
            ("metadata", json!({})),
            ("parallel_tool_calls", Value::Bool(true)),
            ("reasoning", json!({"effort": null, "summary": null})),
            ("temperature", json!(1.0)),
            ("text", json!({"format": {"type": "text"}})),
            ("tool_choice", json!("auto")),
            ("tools", json!([])),
            ("top_p", json!(1.0)),
            ("user", Value::Null),
        ];
        for (name, default) in defaults {
            let value = req.get(name).filter(|v| !v.is_null()).cloned();
            fields.insert(name.to_owned(), value.unwrap_or(default));
        }
        // Nothing is kept: a converted response cannot be fetched or continued later.
        fields.insert("store".to_owned(), Value::Bool(false));
        fields.insert("previous_response_id".to_owned(), Value::Null);
        fields.insert("truncation".to_owned(), json!("disabled"));
        Self { fields }
    }

    /// A whole `response` object.
    pub fn response(
        &self,
        head: &Head,
        status: &Status,
        output: Vec<Value>,
        usage: Value,
    ) -> Value {
        let mut r = Map::new();
        r.insert("id".to_owned(), Value::String(head.id.clone()));
        r.insert("object".to_owned(), json!("response"));
        r.insert("created_at".to_owned(), json!(head.created_at));
        r.insert("status".to_owned(), json!(status.name));
        r.insert("error".to_owned(), Value::Null);
        r.insert(
            "incomplete_details".to_owned(),
            status
                .incomplete_reason
                .map_or(Value::Null, |reason| json!({"reason": reason})),
        );
        r.insert("model".to_owned(), Value::String(head.model.clone()));
        r.insert("output".to_owned(), Value::Array(output));
        r.insert("usage".to_owned(), usage);
        for (k, v) in &self.fields {
            r.insert(k.clone(), v.clone());
        }
        Value::Object(r)
    }
}

/// What names a response: its id, creation time and the model the client asked for.
pub struct Head {
    pub id: String,
    pub created_at: i64,
    pub model: String,
}

impl Head {
    /// `resp_…` from the chat answer's id (`chatcmpl-…`), else from the request id.
    pub fn new(chat_id: Option<&str>, fallback: &str, created_at: i64, model: &str) -> Self {
        let base = chat_id
            .map(|id| id.trim_start_matches("chatcmpl-"))
            .filter(|id| !id.is_empty())
            .unwrap_or(fallback);
        Self {
            id: format!("resp_{base}"),
            created_at,
            model: model.to_owned(),
        }
    }

    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.trim_start_matches("resp_"))
    }
}

pub struct Status {
    pub name: &'static str,
    pub incomplete_reason: Option<&'static str>,
}

/// The response's status from the chat `finish_reason`.
pub fn status(finish_reason: Option<&str>) -> Status {
    let incomplete = |reason| Status {
        name: "incomplete",
        incomplete_reason: Some(reason),
    };
    match finish_reason {
        Some("length") => incomplete("max_output_tokens"),
        Some("content_filter") => incomplete("content_filter"),
        _ => Status {
            name: "completed",
            incomplete_reason: None,
        },
    }
}

/// Chat usage → Responses usage (`null` when the upstream reported none).
pub fn usage(chat: Option<&Value>) -> Value {
    let Some(u) = chat.filter(|u| u.is_object()) else {
        return Value::Null;
    };
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/prompt_tokens"), n("/completion_tokens"));
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": n("/prompt_tokens_details/cached_tokens")},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": n("/completion_tokens_details/reasoning_tokens")},
        "total_tokens": input + output,
    })
}

pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

pub fn call_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id, "name": name,
        "arguments": arguments, "status": status})
}

/// A complete `chat.completion` body → a `response` object.
pub fn from_completion(
    body: &[u8],
    echo: &Echo,
    fallback_id: &str,
    model: &str,
) -> Result<Value, ApiError> {
    let chat: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::Internal(format!("the chat answer is not JSON: {e}")))?;
    let head = Head::new(
        chat.get("id").and_then(Value::as_str),
        fallback_id,
        chat.get("created").and_then(Value::as_i64).unwrap_or(0),
        model,
    );
    let choice = chat.pointer("/choices/0");
    let message = choice.and_then(|c| c.get("message"));
    let mut output = Vec::new();
    let text = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let calls = message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array);
    if !text.is_empty() || calls.is_none_or(|c| c.is_empty()) {
        output.push(message_item(&head.message_id(), text, "completed"));
    }
    for call in calls.into_iter().flatten() {
        let (id, name, arguments) = tool_call_fields(call);
        output.push(call_item(id, name, arguments, "completed"));
    }
    let status = status(
        choice
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str),
    );
    Ok(echo.response(&head, &status, output, usage(chat.get("usage"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_becomes_a_response_with_items_usage_and_echo() {
        let req =
            json!({"model": "claude", "input": "x", "max_output_tokens": 50, "temperature": 0.3});
        let echo = Echo::of(req.as_object().unwrap());
        let chat = json!({"id": "chatcmpl-abc", "created": 7, "model": "claude-upstream",
            "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Hi",
                "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                "prompt_tokens_details": {"cached_tokens": 1}}});
        let r = from_completion(chat.to_string().as_bytes(), &echo, "req_x", "claude").unwrap();
        assert_eq!(r["id"], "resp_abc");
        assert_eq!(
            (r["object"].clone(), r["created_at"].clone()),
            (json!("response"), json!(7))
        );
        assert_eq!(r["model"], "claude");
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(r["output"][0]["content"][0]["text"], "Hi");
        assert_eq!(r["output"][1]["call_id"], "call_1");
        assert_eq!(r["usage"]["input_tokens_details"]["cached_tokens"], 1);
        assert_eq!(r["usage"]["total_tokens"], 8);
        assert_eq!(
            (r["max_output_tokens"].clone(), r["temperature"].clone()),
            (json!(50), json!(0.3))
        );
        assert_eq!(r["tool_choice"], "auto");
    }
}
