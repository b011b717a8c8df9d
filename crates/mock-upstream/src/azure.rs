//! Azure OpenAI classic deployments API: `/openai/deployments/{deployment}/chat/completions?api-version=…` with an
//! `api-key` header. Answers are OpenAI's plus Azure's content-filter annotations; streams open with the
//! filter-results chunk whose `choices` is empty.

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::check::query_param;
use crate::openai::{self, Ctx};
use crate::script::Reply;

/// Why a request is refused: status and Azure's `{"error":{"code","message"}}` body.
pub(crate) type Refusal = (StatusCode, Value);

fn refusal(status: StatusCode, code: &str, message: &str) -> Refusal {
    (status, json!({"error": {"code": code, "message": message}}))
}

/// The deployment of a `…/openai/deployments/{deployment}/chat/completions` path.
pub(crate) fn deployment(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/openai/deployments/")?;
    let (name, tail) = rest.split_once('/')?;
    (tail == "chat/completions" && !name.is_empty()).then_some(name)
}

/// Whether a request on the deployments path speaks Azure at all: it carries an `api-key`, an `api-version` or
/// any `Authorization`. A request with none of them is answered as plain OpenAI (older tests used the path so).
pub(crate) fn is_azure_request(headers: &HeaderMap, query: &str) -> bool {
    headers.contains_key("api-key")
        || headers.contains_key(header::AUTHORIZATION)
        || query_param(query, "api-version").is_some()
}

/// `api-key` (listed, when `accepted` is set) then `api-version` (`YYYY-MM-DD` with an optional `-preview`).
pub(crate) fn check(
    headers: &HeaderMap,
    query: &str,
    accepted: Option<&[String]>,
) -> Result<(), Refusal> {
    let denied = || {
        refusal(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid \
             key for an active subscription and use a correct regional API endpoint for your resource.",
        )
    };
    let key = headers.get("api-key").and_then(|v| v.to_str().ok());
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(denied());
    };
    if accepted.is_some_and(|keys| !keys.iter().any(|k| k == key)) {
        return Err(denied());
    }
    let Some(version) = query_param(query, "api-version") else {
        return Err(refusal(StatusCode::NOT_FOUND, "404", "Resource not found"));
    };
    if !valid_version(version) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "API version not supported",
        ));
    }
    Ok(())
}

fn valid_version(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn filters() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

fn prompt_filter_results() -> Value {
    json!([{"prompt_index": 0, "content_filter_results": filters()}])
}

/// The OpenAI completion with Azure's filter annotations.
pub(crate) fn completion(ctx: &Ctx, reply: &Reply) -> Value {
    let mut out = openai::completion(ctx, reply);
    if let Some(choices) = out["choices"].as_array_mut() {
        for c in choices.iter_mut().filter_map(Value::as_object_mut) {
            c.insert("content_filter_results".into(), filters());
        }
    }
    if let Some(obj) = out.as_object_mut() {
        obj.insert("prompt_filter_results".into(), prompt_filter_results());
    }
    out
}

/// The OpenAI stream, opened by Azure's filter-results chunk.
pub(crate) fn stream_events(ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
    let first = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
        "prompt_filter_results": prompt_filter_results()});
    let mut events = vec![Bytes::from(format!("data: {first}\n\n"))];
    events.extend(openai::stream_events(ctx, reply));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_versions() {
        assert_eq!(
            deployment("/openai/deployments/my-dep/chat/completions"),
            Some("my-dep")
        );
        assert_eq!(
            deployment("/x/openai/deployments/d/chat/completions"),
            Some("d")
        );
        assert_eq!(deployment("/openai/deployments/d/completions"), None);
        assert_eq!(deployment("/openai/deployments//chat/completions"), None);
        assert!(valid_version("2024-10-21"));
        assert!(valid_version("2025-04-01-preview"));
        assert!(!valid_version("v1"));
        assert!(!valid_version("2024-1-21"));
    }
}
