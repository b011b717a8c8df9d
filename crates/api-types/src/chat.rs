//! The chat-completions request fields Tollgate reads, validated from the client's JSON object without taking it
//! apart: the object itself is forwarded with every other field untouched and in order.

mod content;

pub use content::count_image_parts;
use serde_json::{Map, Value};

/// A validation failure, naming the offending parameter as OpenAI does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    /// The parameter's path, e.g. `messages[0].content`.
    pub param: String,
    pub message: String,
}

/// What the gateway needs to know about a chat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequestHead {
    pub model: String,
    pub stream: bool,
    /// The client asked for `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u64>,
    /// `n` (choices), at least 1.
    pub n: u64,
}

fn invalid(param: &'static str, message: impl Into<String>) -> InvalidField {
    InvalidField {
        param: param.to_owned(),
        message: message.into(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn optional_uint(
    obj: &Map<String, Value>,
    param: &'static str,
) -> Result<Option<u64>, InvalidField> {
    match obj.get(param) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            invalid(
                param,
                format!("Invalid '{param}': expected a non-negative integer."),
            )
        }),
        Some(other) => Err(invalid(
            param,
            format!(
                "Invalid type for '{param}': expected an integer, but got {}.",
                type_name(other)
            ),
        )),
    }
}

impl ChatRequestHead {
    /// Checks the fields the gateway relies on, with OpenAI's wording where it has one.
    pub fn from_object(obj: &Map<String, Value>) -> Result<Self, InvalidField> {
        let model = model_of(obj)?;
        check_messages(obj)?;
        let stream = optional_bool(obj.get("stream"), "stream", "stream")?;
        let include_usage = include_usage(obj, stream)?;
        let max_tokens = match optional_uint(obj, "max_completion_tokens")? {
            Some(v) => Some(v),
            None => optional_uint(obj, "max_tokens")?,
        };
        let n = optional_uint(obj, "n")?.unwrap_or(1).max(1);
        for param in ["tools", "functions"] {
            if let Some(v) = obj.get(param)
                && !(v.is_array() || v.is_null())
            {
                return Err(invalid(
                    if param == "tools" {
                        "tools"
                    } else {
                        "functions"
                    },
                    format!(
                        "Invalid type for '{param}': expected an array, but got {}.",
                        type_name(v)
                    ),
                ));
            }
        }
        Ok(Self {
            model,
            stream,
            include_usage,
            max_tokens,
            n,
        })
    }
}

/// `model`: a non-empty string.
fn model_of(obj: &Map<String, Value>) -> Result<String, InvalidField> {
    match obj.get("model") {
        None | Some(Value::Null) => Err(invalid("model", "Missing required parameter: 'model'.")),
        Some(Value::String(s)) if s.is_empty() => {
            Err(invalid("model", "Invalid 'model': empty string."))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid(
            "model",
            format!(
                "Invalid type for 'model': expected a string, but got {}.",
                type_name(other)
            ),
        )),
    }
}

/// `messages`: a non-empty array of objects, each with a string `role` and a well-formed `content`.
fn check_messages(obj: &Map<String, Value>) -> Result<(), InvalidField> {
    match obj.get("messages") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "messages",
                "Missing required parameter: 'messages'.",
            ));
        }
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(invalid(
                    "messages",
                    "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                ));
            }
            for (i, m) in items.iter().enumerate() {
                let Some(m) = m.as_object() else {
                    return Err(invalid(
                        "messages",
                        format!(
                            "Invalid type for 'messages[{i}]': expected an object, but got {}.",
                            type_name(m)
                        ),
                    ));
                };
                match m.get("role") {
                    Some(Value::String(_)) => {}
                    None => {
                        return Err(invalid(
                            "messages",
                            format!("Missing required parameter: 'messages[{i}].role'."),
                        ));
                    }
                    Some(other) => {
                        return Err(invalid(
                            "messages",
                            format!(
                                "Invalid type for 'messages[{i}].role': expected a string, but got {}.",
                                type_name(other)
                            ),
                        ));
                    }
                }
                content::check_content(i, m)?;
            }
        }
        Some(other) => {
            return Err(invalid(
                "messages",
                format!(
                    "Invalid type for 'messages': expected an array, but got {}.",
                    type_name(other)
                ),
            ));
        }
    }
    Ok(())
}

/// A boolean field that may be absent or null (false); `path` names it in the message, `param` is reported.
fn optional_bool(
    value: Option<&Value>,
    param: &'static str,
    path: &str,
) -> Result<bool, InvalidField> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(
            param,
            format!(
                "Invalid type for '{path}': expected a boolean, but got {}.",
                type_name(other)
            ),
        )),
    }
}

/// `stream_options.include_usage`; `stream_options` only with `stream`.
fn include_usage(obj: &Map<String, Value>, stream: bool) -> Result<bool, InvalidField> {
    Ok(match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(opts)) => {
            if !stream {
                return Err(invalid(
                    "stream_options",
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                ));
            }
            let path = "stream_options.include_usage";
            optional_bool(opts.get("include_usage"), "stream_options", path)?
        }
        Some(other) => {
            return Err(invalid(
                "stream_options",
                format!(
                    "Invalid type for 'stream_options': expected an object, but got {}.",
                    type_name(other)
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests;
