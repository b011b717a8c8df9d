//! Request plumbing shared by the admin handlers: JSON bodies and query strings turned into typed input (every
//! mistake an OpenAI-shaped 400 naming the field), path parameters, the list envelope and store-error mapping.

use super::documented::Accepts;
use crate::error::ApiError;
use crate::http::body::{parse_object, read_limited};
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use chrono::{DateTime, NaiveDate, Utc};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use store::StoreError;

/// Default page size of the paged lists (users, keys, logs).
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page the store hands out.
pub const MAX_LIMIT: i64 = 1000;

/// `{"data":[…],"total":N}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub data: Vec<T>,
    pub total: i64,
}

impl<T> List<T> {
    /// A complete (unpaged) list.
    pub fn all(data: Vec<T>) -> Self {
        let total = i64::try_from(data.len()).unwrap_or(i64::MAX);
        Self { data, total }
    }
}

/// A JSON object body deserialized into `T` (bounded in size and time like every other body).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = read_limited(
            &parts.headers,
            body,
            state.settings.max_body_bytes,
            state.settings.client_body_timeout,
        )
        .await?;
        from_object(parse_object(&bytes)?).map(JsonBody)
    }
}

/// Deserializes `T` from a JSON object; on failure, finds the field at fault and names it in `param`.
pub fn from_object<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    let value = Value::Object(map);
    T::deserialize(&value).map_err(|e| describe::<T>(&value, &e))
}

fn describe<T: DeserializeOwned>(value: &Value, err: &serde_json::Error) -> ApiError {
    let text = err.to_string();
    if let Some(field) = quoted_after(&text, "unknown field `") {
        return ApiError::invalid(format!("Unknown field `{field}` ({text})."), Some(field));
    }
    if let Some(field) = quoted_after(&text, "missing field `") {
        return ApiError::invalid(format!("`{field}` is required."), Some(field));
    }
    // Every admin input field is optional on its own, so a field that fails alone is the one at fault.
    if let Value::Object(map) = value {
        for (k, v) in map {
            let one = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
            if let Err(e) = T::deserialize(&one) {
                let t = e.to_string();
                if !t.starts_with("missing field") {
                    return ApiError::invalid(format!("Invalid value for `{k}`: {t}."), Some(k));
                }
            }
        }
    }
    ApiError::invalid(format!("Invalid request body: {text}."), None)
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.find('`').map(|end| &rest[..end])
}

/// `deserialize_with` for `Option<Option<T>>` fields where `null` means something (clear the value):
/// absent → `None` (with `#[serde(default)]`), `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// One path parameter as text (a bad percent-encoding is a 400, not axum's plain-text rejection).
pub struct PathParam(pub String);

impl FromRequestParts<AppState> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| Self(p))
            .map_err(|e| ApiError::invalid(format!("Invalid path: {}", e.body_text()), None))
    }
}

impl PathParam {
    /// The parameter as a numeric id; anything else cannot name a record, so it is a 404 for `what`.
    pub fn id(&self, what: &str) -> Result<i64, ApiError> {
        self.0.parse().map_err(|_| ApiError::NotFound {
            what: format!("{what} `{}`", self.0),
        })
    }
}

/// The query string as name → value, read with explicit, field-named errors.
pub struct Params(BTreeMap<String, String>);

impl FromRequestParts<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Query::<BTreeMap<String, String>>::try_from_uri(&parts.uri)
            .map(|Query(m)| Self(m))
            .map_err(|e| {
                ApiError::invalid(format!("Invalid query string: {}", e.body_text()), None)
            })
    }
}

impl Params {
    /// Rejects parameters outside `allowed`, so a typo never silently widens a filter.
    pub fn only(&self, allowed: &[&str]) -> Result<&Self, ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(self),
            Some(k) => Err(ApiError::invalid(
                format!(
                    "Unknown query parameter `{k}`; expected one of {}.",
                    allowed.join(", ")
                ),
                Some(k),
            )),
        }
    }

    /// Rejects parameters outside the sets the operation documents (`S`: a tuple of
    /// [`IntoParams`](utoipa::IntoParams) sets, as its `#[utoipa::path(params(…))]` lists them).
    pub fn accepts<S: Accepts>(&self) -> Result<&Self, ApiError> {
        let names = S::names();
        let allowed: Vec<&str> = names.iter().map(String::as_str).collect();
        self.only(&allowed)
    }

    /// The value, `None` when absent or empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.text(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::invalid(
                        format!("Query parameter `{name}` must be an integer, got `{v}`."),
                        Some(name),
                    )
                })
            })
            .transpose()
    }

    /// An RFC 3339 time, or a bare `YYYY-MM-DD` meaning midnight UTC.
    pub fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.text(name)
            .map(|v| {
                parse_time(v).ok_or_else(|| {
                    ApiError::invalid(
                        format!(
                            "Query parameter `{name}` must be an RFC 3339 time (2024-05-01T00:00:00Z), got `{v}`."
                        ),
                        Some(name),
                    )
                })
            })
            .transpose()
    }

    /// `(limit, offset)`: limit defaults to 100 and is capped at 1000; offset defaults to 0.
    pub fn page(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.int("limit")?.unwrap_or(DEFAULT_LIMIT);
        if limit < 1 {
            return Err(ApiError::invalid(
                "Query parameter `limit` must be at least 1.",
                Some("limit"),
            ));
        }
        let offset = self.int("offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::invalid(
                "Query parameter `offset` must not be negative.",
                Some("offset"),
            ));
        }
        Ok((limit.min(MAX_LIMIT), offset))
    }
}

pub fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// Maps the store's `NotFound` to a 404 naming the record (`Channel 7 not found.`); other errors as usual.
pub fn not_found(what: impl FnOnce() -> String) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound { what: what() },
        other => other.into(),
    }
}

/// A required, trimmed, non-empty text field.
pub fn required_text(value: Option<String>, field: &str) -> Result<String, ApiError> {
    match value {
        None => Err(ApiError::invalid(
            format!("`{field}` is required."),
            Some(field),
        )),
        Some(v) => non_empty(v, field),
    }
}

/// Trims `v` and rejects it when empty.
pub fn non_empty(v: String, field: &str) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(
            format!("`{field}` must not be empty."),
            Some(field),
        ));
    }
    Ok(if t.len() == v.len() { v } else { t.to_owned() })
}

/// Each entry trimmed and non-empty.
pub fn non_empty_list(list: Vec<String>, field: &str) -> Result<Vec<String>, ApiError> {
    list.into_iter().map(|v| non_empty(v, field)).collect()
}

pub fn not_negative(v: i64, field: &str) -> Result<i64, ApiError> {
    if v < 0 {
        return Err(ApiError::invalid(
            format!("`{field}` must not be negative, got {v}."),
            Some(field),
        ));
    }
    Ok(v)
}

/// A 400 naming `field`.
pub fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message, Some(field))
}
