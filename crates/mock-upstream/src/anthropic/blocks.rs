//! Content blocks of the Messages API: text (non-empty, not only whitespace), images (base64 with a media type
//! that matches the bytes, or an http(s) URL), documents, and the tool blocks.

use serde_json::{Map, Value};

use super::validate::{Check, extra};
use crate::check::{only_keys, sniff, strict_base64};

const MEDIA_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const BLOCK_TAGS: &str =
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'";

/// A text, image, document or thinking block (tool blocks are checked by the caller).
pub(super) fn block(obj: &Map<String, Value>, path: &str, role: &str) -> Check {
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => {
            only_keys(
                obj,
                &["type", "text", "cache_control", "citations"],
                extra(path),
            )?;
            text(obj, path)
        }
        Some("image") => {
            only_keys(obj, &["type", "source", "cache_control"], extra(path))?;
            image_source(obj.get("source"), path)
        }
        Some("document") => match obj.get("source") {
            Some(Value::Object(_)) => Ok(()),
            _ => Err(format!("{path}.source: Field required")),
        },
        Some("thinking" | "redacted_thinking") if role == "assistant" => Ok(()),
        Some(t) => Err(format!(
            "{path}: Input tag '{t}' found using 'type' does not match any of the expected tags: {BLOCK_TAGS}"
        )),
        None => Err(format!("{path}.type: Field required")),
    }
}

pub(super) fn text(obj: &Map<String, Value>, path: &str) -> Check {
    match obj.get("text") {
        Some(Value::String(s)) if s.is_empty() => {
            Err("messages: text content blocks must be non-empty".into())
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err("messages: text content blocks must contain non-whitespace text".into())
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(format!("{path}.text: Input should be a valid string")),
        None => Err(format!("{path}.text: Field required")),
    }
}

fn image_source(source: Option<&Value>, path: &str) -> Check {
    let Some(src) = source.and_then(Value::as_object) else {
        return Err(format!("{path}.source: Field required"));
    };
    match src.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let spath = format!("{path}.source.base64");
            only_keys(src, &["type", "media_type", "data"], extra(&spath))?;
            let media = src
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !MEDIA_TYPES.contains(&media) {
                return Err(format!(
                    "{spath}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                ));
            }
            let data = src.get("data").and_then(Value::as_str).unwrap_or_default();
            let Some(bytes) = strict_base64(data) else {
                return Err(format!("{spath}.data: invalid base64 data"));
            };
            match sniff(&bytes) {
                Some(actual) if actual == media => Ok(()),
                Some(actual) => Err(format!(
                    "{spath}: The image was specified using the {media} media type, but the image appears to \
                     be a {actual} image"
                )),
                None => Err(format!("{spath}: Could not process image")),
            }
        }
        Some("url") => {
            let url = src.get("url").and_then(Value::as_str).unwrap_or_default();
            if url.starts_with("https://") || url.starts_with("http://") {
                Ok(())
            } else {
                Err(format!(
                    "{path}.source.url.url: Input should be a valid http(s) URL"
                ))
            }
        }
        Some("file") => Ok(()),
        t => Err(format!(
            "{path}.source: Input tag '{}' found using 'type' does not match any of the expected tags: \
             'base64', 'url', 'file'",
            t.unwrap_or_default()
        )),
    }
}

/// Checks a `tool_use` block and returns its id.
pub(super) fn tool_use(obj: &Map<String, Value>, path: &str) -> Result<String, String> {
    only_keys(
        obj,
        &["type", "id", "name", "input", "cache_control"],
        extra(path),
    )?;
    let id = match obj.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => return Err(format!("{path}.id: Field required")),
    };
    if !obj
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(valid_tool_name)
    {
        return Err(format!(
            "{path}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
        ));
    }
    if !obj.get("input").is_some_and(Value::is_object) {
        return Err(format!("{path}.input: Input should be a valid dictionary"));
    }
    Ok(id)
}

/// Checks a `tool_result` block and returns its `tool_use_id`.
pub(super) fn tool_result(obj: &Map<String, Value>, path: &str) -> Result<String, String> {
    only_keys(
        obj,
        &[
            "type",
            "tool_use_id",
            "content",
            "is_error",
            "cache_control",
        ],
        extra(path),
    )?;
    let id = match obj.get("tool_use_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => return Err(format!("{path}.tool_use_id: Field required")),
    };
    match obj.get("content") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(parts)) => {
            for (k, p) in parts.iter().enumerate() {
                let ppath = format!("{path}.content.{k}");
                let Some(part) = p.as_object() else {
                    return Err(format!("{ppath}: Input should be a valid dictionary"));
                };
                match part.get("type").and_then(Value::as_str) {
                    Some("text" | "image" | "document" | "search_result") => {
                        block(part, &ppath, "user")?
                    }
                    _ => {
                        return Err(format!(
                            "{ppath}.type: Input should be 'text', 'image' or 'document'"
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(format!(
                "{path}.content: Input should be a valid string or list"
            ));
        }
    }
    if obj.get("is_error").is_some_and(|e| !e.is_boolean()) {
        return Err(format!("{path}.is_error: Input should be a valid boolean"));
    }
    Ok(id)
}

pub(super) fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
