//! Reading a request body: bounded in size (413) and in time (408), then parsed as a JSON object (400), so every
//! bad body gets an OpenAI-shaped error instead of axum's plain-text rejection.

use crate::error::ApiError;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::time::Duration;

pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let declared = super::header_text(headers, http::header::CONTENT_LENGTH)
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

pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    parse_object_noting_repeats(bytes).map(|(object, _)| object)
}

/// `parse_object`, also saying whether a top-level name appeared more than once (the object keeps the last value,
/// as serde_json does; another parser might keep the first). Found in the same pass, at no extra cost.
pub fn parse_object_noting_repeats(bytes: &[u8]) -> Result<(Map<String, Value>, bool), ApiError> {
    struct Object(Map<String, Value>, bool);
    impl<'de> Deserialize<'de> for Object {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ObjectVisitor)
        }
    }
    struct ObjectVisitor;
    impl<'de> Visitor<'de> for ObjectVisitor {
        type Value = Object;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
            let mut object = Map::new();
            let mut repeated = false;
            while let Some(name) = map.next_key::<String>()? {
                let value = map.next_value::<Value>()?;
                repeated |= object.insert(name, value).is_some();
            }
            Ok(Object(object, repeated))
        }
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "The request body is empty; send a JSON object (Content-Type: application/json).",
            None,
        ));
    }
    match serde_json::from_slice::<Object>(bytes) {
        Ok(Object(map, repeated)) => Ok((map, repeated)),
        // Valid JSON, but not an object.
        Err(e) if e.is_data() => Err(ApiError::invalid(
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
