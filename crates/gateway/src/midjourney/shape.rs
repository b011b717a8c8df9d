//! The Task object clients read (the seed document's shape: every field present, empty strings rather than
//! nulls), built from the stored task, with the image link pointing at Tollgate's signed proxy.

use crate::http::header_text;
use crate::state::AppState;
use http::HeaderMap;
use serde_json::{Value, json};
use store::MjTask;

/// The gateway's public root for links: `--public-url`, else the scheme and host this request came in on.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.settings.public_url {
        return u.clone();
    }
    let host = header_text(headers, http::header::HOST);
    let proto = header_text(headers, "x-forwarded-proto").unwrap_or("http");
    host.map(|h| format!("{proto}://{h}")).unwrap_or_default()
}

pub fn task_json(state: &AppState, base: &str, t: &MjTask) -> Value {
    let image_url = t
        .image_url
        .as_ref()
        .filter(|u| !u.is_empty())
        .map(|_| state.mj_signer.url(base, t.id, state.settings.mj_image_ttl))
        .unwrap_or_default();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let buttons = if t.buttons.is_array() {
        t.buttons.clone()
    } else {
        json!([])
    };
    let properties = if t.properties.is_object() {
        t.properties.clone()
    } else {
        json!({})
    };
    json!({
        "id": t.upstream_id,
        "action": t.action,
        "customId": properties.get("customId").and_then(Value::as_str).unwrap_or_default(),
        "botType": properties.get("botType").and_then(Value::as_str).unwrap_or_default(),
        "prompt": text(&t.prompt),
        "promptEn": text(&t.prompt_en),
        "description": text(&t.description),
        "state": text(&t.state),
        "submitTime": t.submit_time,
        "startTime": t.start_time,
        "finishTime": t.finish_time,
        "imageUrl": image_url,
        "status": t.status,
        "progress": t.progress,
        "failReason": text(&t.fail_reason),
        "buttons": buttons,
        "maskBase64": "",
        "properties": properties,
    })
}
