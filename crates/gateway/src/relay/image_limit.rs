//! `--max-images-per-request`: how many images one request may carry. Checked before anything is priced or sent,
//! so a request with thousands of image parts costs the gateway one pass over its JSON and nothing upstream. Chat
//! counts `image_url` parts across all messages (`/v1/messages` and converted `/v1/responses` become chat first);
//! a `/v1/responses` request relayed natively counts its `input_image` parts, and a Gemini API request its media
//! parts.

use crate::config::Settings;
use crate::error::ApiError;
use serde_json::{Map, Value};

/// A chat request: its `image_url` parts, across all messages.
pub fn check_chat(settings: &Settings, request: &Map<String, Value>) -> Result<(), ApiError> {
    let count = api_types::chat::count_image_parts(request);
    within_limit(settings, count, "messages")
}

/// A `/v1/responses` request: the `input_image` parts of its input items.
pub fn check_responses(settings: &Settings, request: &Map<String, Value>) -> Result<(), ApiError> {
    let count = parts(request, "input", "content")
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("input_image"))
        .count();
    within_limit(settings, count, "input")
}

/// A Gemini `generateContent` request: its media parts (`inlineData`, `fileData`, in either spelling) across all
/// `contents`, checked before the body becomes chat so that the 400 names the client's own field.
pub fn check_gemini(settings: &Settings, request: &Map<String, Value>) -> Result<(), ApiError> {
    const MEDIA: [&str; 4] = ["inlineData", "inline_data", "fileData", "file_data"];
    let count = parts(request, "contents", "parts")
        .filter(|part| MEDIA.iter().any(|name| part.get(*name).is_some()))
        .count();
    within_limit(settings, count, "contents")
}

/// The parts of every item of the request's `list` (`input`, `contents`), each item holding them in `field`.
fn parts<'a>(
    request: &'a Map<String, Value>,
    list: &str,
    field: &'a str,
) -> impl Iterator<Item = &'a Value> {
    request
        .get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(move |item| item.get(field).and_then(Value::as_array))
        .flatten()
}

fn within_limit(settings: &Settings, count: usize, param: &str) -> Result<(), ApiError> {
    let limit = settings.max_images_per_request;
    if count <= limit {
        return Ok(());
    }
    Err(ApiError::invalid(
        format!(
            "This request carries {count} images; at most {limit} images are allowed per request."
        ),
        Some(param),
    ))
}
