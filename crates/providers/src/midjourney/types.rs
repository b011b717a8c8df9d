//! The proxy's two answer shapes: `SubmitResult` (every submit and `image-seed`) and the Task object (`fetch`,
//! `list-by-condition`, notify bodies). Parsing is lenient on purpose: the three proxy dialects disagree on
//! numbers-as-strings, nulls and extra fields, and one odd field must not lose a whole task.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `SubmitResult.code` values (only [`code::SUCCESS`], [`code::EXISTED`] and [`code::IN_QUEUE`] carry a task id).
pub mod code {
    pub const SUCCESS: i64 = 1;
    /// Unknown/expired parent task, or no available account instance.
    pub const NOT_FOUND: i64 = 3;
    pub const VALIDATION_ERROR: i64 = 4;
    pub const FAILURE: i64 = 9;
    /// Task exists already (open), or a modal confirmation is pending (plus `action`).
    pub const EXISTED: i64 = 21;
    pub const IN_QUEUE: i64 = 22;
    pub const QUEUE_REJECTED: i64 = 23;
    pub const BANNED_PROMPT: i64 = 24;
}

/// `{"code", "description", "result", "properties"}` as the proxy answers a submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct SubmitResult {
    pub code: i64,
    pub description: String,
    /// The new task id as a JSON string (a number is turned into its string), or an array of strings (upload).
    pub result: Option<Value>,
    /// Always an object, `{}` when absent.
    pub properties: Value,
}

impl SubmitResult {
    /// Reads a parsed body; `None` unless it is an object with an integer `code` (a number or a numeric string).
    pub fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let code = obj.get("code").and_then(lenient_i64)?;
        let description = obj
            .get("description")
            .and_then(lenient_string)
            .unwrap_or_default();
        let result = match obj.get("result") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(Value::Array(
                items
                    .iter()
                    .filter_map(lenient_string)
                    .map(Value::String)
                    .collect(),
            )),
            Some(other) => lenient_string(other).map(Value::String),
        };
        let properties = match obj.get("properties") {
            Some(Value::Object(p)) => Value::Object(p.clone()),
            _ => Value::Object(Map::new()),
        };
        Some(Self {
            code,
            description,
            result,
            properties,
        })
    }

    /// Codes 1, 21 and 22: the upstream holds a task under [`Self::task_id`].
    pub fn has_task(&self) -> bool {
        matches!(self.code, code::SUCCESS | code::EXISTED | code::IN_QUEUE)
    }

    /// `result` when it is a single (non-empty) id.
    pub fn task_id(&self) -> Option<&str> {
        self.result.as_ref()?.as_str().filter(|s| !s.is_empty())
    }
}

impl TryFrom<Value> for SubmitResult {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(&value).ok_or_else(|| "not a midjourney submit result".to_owned())
    }
}

/// One task as the proxy reports it. Unknown fields are ignored, `null` reads as absent, ids/times/progress given
/// as the "wrong" JSON type are converted, and a field of an unusable type is dropped rather than failing the task.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamTask {
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    #[serde(default, deserialize_with = "de::string")]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub prompt: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub prompt_en: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "de::int")]
    pub submit_time: Option<i64>,
    #[serde(default, deserialize_with = "de::int")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "de::int")]
    pub finish_time: Option<i64>,
    #[serde(default, deserialize_with = "de::string")]
    pub progress: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub image_url: Option<String>,
    #[serde(default, deserialize_with = "de::string")]
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub buttons: Value,
}

impl UpstreamTask {
    /// `SUCCESS`, `FAILURE` or `CANCEL`: the upstream will not change this task any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("SUCCESS" | "FAILURE" | "CANCEL")
        )
    }
}

/// A string, or a number/bool written as one; `None` for null, arrays and objects.
pub(crate) fn lenient_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer, a float (truncated) or a numeric string.
pub(crate) fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// Field deserializers that never fail on a wrong type (except a missing or unusable `id`).
mod de {
    use super::*;

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Value::deserialize(d).ok().as_ref().and_then(lenient_string))
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(Value::deserialize(d).ok().as_ref().and_then(lenient_i64))
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let value = Value::deserialize(d)?;
        lenient_string(&value)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| serde::de::Error::custom("task id is missing or not a string"))
    }
}
