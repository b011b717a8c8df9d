//! The control endpoints, under `/__mock/` (a path no provider uses), for a test that runs the `mock-upstream`
//! binary instead of holding a [`crate::MockUpstream`] handle. They are neither recorded nor checked for keys:
//!
//! - `GET /__mock/requests`: every request recorded so far, in order, as a JSON array of
//!   `{"method", "path", "query", "headers": [[name, value], …], "body"}` (names lower-case, in arrival order;
//!   `body` is the JSON body, `null` when it is not JSON);
//! - `DELETE /__mock/requests`: forgets them (204);
//! - `POST /__mock/script`: queues one behaviour, or an array of them, for the next chat requests (204), in the JSON
//!   form [`crate::Behavior`] reads (see the `script` module), e.g.
//!   `{"kind":"reply","text":null,"tool_calls":[["get_weather","{\"city\":\"Paris\"}"]],"usage":[77,21,0]}`;
//!   a body that is not one answers 400 with the reason;
//! - `DELETE /__mock/script`: empties the queue (204); the default behaviour stays.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Recorded;
use crate::script::Behavior;
use crate::server::Shared;

/// Where the control endpoints live.
pub(crate) const PREFIX: &str = "/__mock/";

/// The answer to a control request, or `None` when `path` is not one (it is then served as usual).
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Option<Response> {
    let route = path.strip_prefix(PREFIX)?.trim_end_matches('/');
    let resp = match (route, method.as_str()) {
        ("requests", "GET") => {
            let recorded: Vec<Value> = shared.lock().requests.iter().map(to_json).collect();
            axum::Json(Value::Array(recorded)).into_response()
        }
        ("requests", "DELETE") => {
            shared.lock().requests.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        ("script", "POST") => match parse_script(body) {
            Ok(behaviors) => {
                shared.lock().queue.extend(behaviors);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(reason) => (StatusCode::BAD_REQUEST, reason).into_response(),
        },
        ("script", "DELETE") => {
            shared.lock().queue.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        ("requests" | "script", _) => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        _ => (StatusCode::NOT_FOUND, format!("no control endpoint {path}")).into_response(),
    };
    Some(resp)
}

/// One behaviour or an array of them.
fn parse_script(body: &[u8]) -> Result<Vec<Behavior>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| serde_json::from_value(item).map_err(|e| format!("behaviour {i}: {e}")))
        .collect()
}

/// A recorded request as `GET /__mock/requests` lists it.
pub(crate) fn to_json(r: &Recorded) -> Value {
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "body": r.body,
    })
}
