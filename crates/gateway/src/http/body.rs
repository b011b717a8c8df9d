//! Reading a request body: bounded in size (413) and in time (408), then parsed as a JSON object (400), so every
//! bad body gets an OpenAI-shaped error instead of axum's plain-text rejection.

use crate::error::ApiError;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::time::Duration;

pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(ApiError::BodyTimeout(timeout)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::BodyTooLarge { limit })
        }
        Ok(Err(e)) => Err(ApiError::invalid(
            format!("Could not read the request body: {e}"),
            None,
        )),
    }
}

/// How many members the top-level JSON object in `bytes` has, counting repeated names each time (a parsed `Map`
/// keeps only the last of them). `None` if `bytes` is not one JSON object. Values are skipped, not built.
pub fn top_level_members(bytes: &[u8]) -> Option<usize> {
    struct Members(usize);
    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(CountMembers)
        }
    }
    struct CountMembers;
    impl<'de> Visitor<'de> for CountMembers {
        type Value = Members;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
            let mut n = 0;
            while map.next_key::<IgnoredAny>()?.is_some() {
                map.next_value::<IgnoredAny>()?;
                n += 1;
            }
            Ok(Members(n))
        }
    }
    serde_json::from_slice::<Members>(bytes).ok().map(|m| m.0)
}

pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "The request body is empty; send a JSON object (Content-Type: application/json).",
            None,
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid(
            "The request body must be a JSON object.",
            None,
        )),
        Err(e) => Err(ApiError::invalid(
            format!(
                "We could not parse the JSON body of your request ({e}). The OpenAI API expects a JSON payload."
            ),
            None,
        )),
    }
}
