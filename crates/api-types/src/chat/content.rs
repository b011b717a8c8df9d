//! The shape of a chat message's `content`: a string, or an array of part objects each with a string `type`
//! (`text` parts with a string `text`, `image_url` parts with a URL). Checked here so every chat-shaped route
//! refuses a malformed message before anything reaches an upstream; the parts' meaning is left to the adapters.
//! Also counts the image parts, which the gateway bounds per request.

use super::{InvalidField, type_name};
use crate::json::items;
use serde_json::{Map, Value};

/// Checks `messages[i].content`. A missing `content` is left to the upstream, as before; an explicit `null` is
/// valid only where OpenAI allows it: an assistant message carrying `tool_calls` or `function_call`, and the
/// legacy `function` role.
pub(super) fn check_content(i: usize, msg: &Map<String, Value>) -> Result<(), InvalidField> {
    let param = format!("messages[{i}].content");
    match msg.get("content") {
        None => Ok(()),
        Some(Value::String(_)) => Ok(()),
        Some(Value::Null) if null_allowed(msg) => Ok(()),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .try_for_each(|(j, part)| check_part(&format!("{param}[{j}]"), part)),
        Some(other) => Err(InvalidField {
            message: format!(
                "Invalid type for '{param}': expected a string or an array of content parts, but got {}.",
                type_name(other)
            ),
            param,
        }),
    }
}

fn null_allowed(msg: &Map<String, Value>) -> bool {
    match msg.get("role").and_then(Value::as_str) {
        Some("assistant") => ["tool_calls", "function_call"]
            .iter()
            .any(|f| msg.get(*f).is_some_and(|v| !v.is_null())),
        Some("function") => true,
        _ => false,
    }
}

/// One part: an object with a string `type`; the fields of `text` and `image_url` parts typed as adapters read them.
fn check_part(param: &str, part: &Value) -> Result<(), InvalidField> {
    let Some(obj) = part.as_object() else {
        return Err(wrong_type(param.to_owned(), "an object", part));
    };
    let kind = match obj.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(other) => return Err(wrong_type(format!("{param}.type"), "a string", other)),
        None => {
            return Err(InvalidField {
                message: format!("Missing required parameter: '{param}.type'."),
                param: format!("{param}.type"),
            });
        }
    };
    match kind {
        "text" => match obj.get("text") {
            Some(Value::String(_)) => Ok(()),
            other => Err(wrong_type(
                format!("{param}.text"),
                "a string",
                other.unwrap_or(&Value::Null),
            )),
        },
        "image_url" => match obj.get("image_url") {
            // The bare-string form some clients send is accepted by the adapters.
            Some(Value::String(_)) => Ok(()),
            Some(Value::Object(image)) => match image.get("url") {
                Some(Value::String(_)) => Ok(()),
                other => Err(wrong_type(
                    format!("{param}.image_url.url"),
                    "a string",
                    other.unwrap_or(&Value::Null),
                )),
            },
            other => Err(wrong_type(
                format!("{param}.image_url"),
                "an object with a `url`",
                other.unwrap_or(&Value::Null),
            )),
        },
        _ => Ok(()),
    }
}

fn wrong_type(param: String, expected: &str, got: &Value) -> InvalidField {
    InvalidField {
        message: format!(
            "Invalid type for '{param}': expected {expected}, but got {}.",
            type_name(got)
        ),
        param,
    }
}

/// How many `image_url` parts the request carries, across all its messages.
pub fn count_image_parts(obj: &Map<String, Value>) -> usize {
    items(obj.get("messages"))
        .flat_map(|m| items(m.get("content")))
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("image_url"))
        .count()
}
