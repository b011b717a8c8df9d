//! Reading the proxy's answers: HTTP status + body bytes → a result or an [`UpstreamError`]. Pure, so every odd
//! shape the dialects produce is unit-tested without a server.

use serde_json::Value;

use super::types::{SubmitResult, UpstreamTask};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::openai::error_from_body;

/// A submit (or `image-seed`) answer. A body with a `code` wins whatever the HTTP status (C# proxies answer
/// 400/404 with one); otherwise a non-success status is a `Status` error and a 2xx a `Protocol` error.
pub(crate) fn submit_result(status: u16, body: &[u8]) -> Result<SubmitResult, UpstreamError> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    if let Some(result) = parsed.as_ref().and_then(SubmitResult::from_value) {
        return Ok(result);
    }
    Err(unexpected(status, body, "a submit result"))
}

/// A `list-by-condition` answer: a JSON array of tasks; entries that are not tasks (no id) are skipped.
pub(crate) fn task_list(status: u16, body: &[u8]) -> Result<Vec<UpstreamTask>, UpstreamError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) if is_success(status) => Ok(items
            .into_iter()
            .filter_map(|item| match serde_json::from_value::<UpstreamTask>(item) {
                Ok(task) => Some(task),
                Err(e) => {
                    tracing::debug!("midjourney: skipping a listed task: {e}");
                    None
                }
            })
            .collect()),
        _ => Err(unexpected(status, body, "a task list")),
    }
}

/// A `fetch` answer: `None` for an unknown task (204, 404, an empty body or `null`).
pub(crate) fn one_task(status: u16, body: &[u8]) -> Result<Option<UpstreamTask>, UpstreamError> {
    if status == 204 || status == 404 {
        return Ok(None);
    }
    if is_success(status) && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) if is_success(status) => Ok(None),
        Ok(value @ Value::Object(_)) if is_success(status) => {
            serde_json::from_value(value).map(Some).map_err(|e| {
                UpstreamError::new(
                    UpstreamErrorKind::Protocol,
                    format!("upstream answered with a task that cannot be read: {e}"),
                )
            })
        }
        _ => Err(unexpected(status, body, "a task")),
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The error for a body that is not what was asked for.
fn unexpected(status: u16, body: &[u8], wanted: &str) -> UpstreamError {
    if is_success(status) {
        return UpstreamError::new(
            UpstreamErrorKind::Protocol,
            format!("upstream answered HTTP {status} with a body that is not {wanted}"),
        );
    }
    let mut err = error_from_body(status, body);
    if err.error_type.is_none()
        && let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body)
        && let Some(text) = ["description", "message", "error"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .filter(|t| !t.is_empty())
    {
        err.message = format!("upstream returned HTTP {status}: {text}");
    }
    err
}
