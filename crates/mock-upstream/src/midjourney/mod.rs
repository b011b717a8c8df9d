//! Mock midjourney-proxy (plus API) on the same server, for every path containing `/mj/`:
//! `POST /mj/submit/{imagine,action,blend,describe,modal,shorten,change,simple-change,upload-discord-images}`,
//! `POST /mj/insight-face/swap`, `GET /mj/task/{id}/fetch`, `POST /mj/task/list-by-condition`,
//! `GET /mj/task/{id}/image-seed`, and `GET /mj/images/{name}` (a small PNG, no auth; `.svg` and `.html` names
//! serve documents with a script instead).
//!
//! With accepted keys set, a missing or wrong `mj-api-secret` is answered 401 with an empty body, as the proxy
//! does. Submits are validated like the proxy (code 3/4 bodies under HTTP 200), then the next scripted
//! [`MjOutcome`] plays. Tasks advance one step each time a `fetch` or `list-by-condition` includes them.

mod buttons;
mod outcome;
mod png;
mod submit;
mod tasks;
mod validate;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use outcome::MjOutcome;
pub(crate) use tasks::MjState;

use crate::server::Shared;

/// The route below `/mj` (`/submit/imagine`) when `path` is a midjourney-proxy path (`/mj/…`, `/mj-fast/mj/…`).
pub(crate) fn mj_route(path: &str) -> Option<&str> {
    let at = path.find("/mj/")?;
    path.get(at + 3..)
}

/// Answers one request on a midjourney-proxy path.
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    route: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Response {
    let segs: Vec<&str> = route.trim_matches('/').split('/').collect();
    if method == Method::GET
        && let ["images", name] = segs.as_slice()
        && let Some(resp) = image(name)
    {
        return resp;
    }
    let mut script = shared.lock();
    if let Some(keys) = &script.accepted_keys {
        let secret = headers.get("mj-api-secret").and_then(|v| v.to_str().ok());
        if !secret.is_some_and(|s| keys.iter().any(|k| k == s)) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let mj = &mut script.mj;
    let is_post = method == Method::POST;
    if is_post && !body.is_object() {
        return spring_error(StatusCode::BAD_REQUEST, route);
    }
    match (is_post, segs.as_slice()) {
        (true, ["submit", kind]) if is_submit(kind) => json_ok(&submit::submit(mj, kind, body)),
        (true, ["insight-face", "swap"]) => json_ok(&submit::submit(mj, "swap", body)),
        (true, ["task", "list-by-condition"]) => json_ok(&Value::Array(list(mj, body))),
        (false, ["task", id, "fetch"]) if method == Method::GET => match mj.poll(id) {
            Some(task) => json_ok(&task),
            None => StatusCode::OK.into_response(),
        },
        (false, ["task", id, "image-seed"]) if method == Method::GET => image_seed(mj, id),
        _ => spring_error(StatusCode::NOT_FOUND, route),
    }
}

/// `GET /mj/images/{name}`: the PNG for `*.png`; for `*.svg` and `*.html` a document that runs script (what a
/// hostile upstream would serve as an "image").
fn image(name: &str) -> Option<Response> {
    let (content_type, body): (&'static str, Body) = match name.rsplit_once('.')?.1 {
        "png" => ("image/png", Body::from(png::PNG)),
        "svg" => ("image/svg+xml", Body::from(HOSTILE_SVG)),
        "html" => ("text/html", Body::from(HOSTILE_HTML)),
        _ => return None,
    };
    Some(typed(StatusCode::OK, content_type, body))
}

const HOSTILE_SVG: &str =
    r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
const HOSTILE_HTML: &str = "<!doctype html><script>fetch('/api/keys')</script>";

fn is_submit(kind: &str) -> bool {
    matches!(
        kind,
        "imagine"
            | "action"
            | "blend"
            | "describe"
            | "modal"
            | "shorten"
            | "change"
            | "simple-change"
            | "upload-discord-images"
    )
}

/// `{"ids": […]}` → the known tasks among them, in request order, each polled once.
fn list(mj: &mut MjState, body: &Value) -> Vec<Value> {
    let ids = body
        .get("ids")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen = Vec::new();
    ids.iter()
        .filter_map(|id| match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|id| {
            let first = !seen.contains(id);
            seen.push(id.clone());
            first
        })
        .filter_map(|id| mj.poll(&id))
        .collect()
}

/// The seed of a finished task; 404 code 3 for an unknown task, 400 code 4 before it finished (as the C#
/// proxy answers).
fn image_seed(mj: &MjState, id: &str) -> Response {
    let (status, body) = match mj.tasks.get(id) {
        None => (
            StatusCode::NOT_FOUND,
            json!({"code": 3, "description": "任务不存在", "result": null, "properties": {}}),
        ),
        Some(t) if t.status != "SUCCESS" => (
            StatusCode::BAD_REQUEST,
            json!({"code": 4, "description": "任务未完成", "result": null, "properties": {}}),
        ),
        Some(t) => (
            StatusCode::OK,
            json!({"code": 1, "description": "成功", "result": t.seed, "properties": {}}),
        ),
    };
    typed(status, "application/json", Body::from(body.to_string()))
}

/// Spring Boot's default error body.
fn spring_error(status: StatusCode, route: &str) -> Response {
    let body = json!({
        "timestamp": tasks::now_ms(),
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or_default(),
        "path": format!("/mj{route}"),
    });
    typed(status, "application/json", Body::from(body.to_string()))
}

fn json_ok(value: &Value) -> Response {
    typed(
        StatusCode::OK,
        "application/json",
        Body::from(value.to_string()),
    )
}

fn typed(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A task rendered without polling it.
pub(crate) fn render(task: &tasks::MjTask) -> Value {
    task.render()
}
