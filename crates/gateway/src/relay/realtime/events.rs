//! Reading the few events Tollgate acts on, and the `error` events it sends the client itself, in the shape of the
//! Realtime API's own: `{"type":"error","event_id":…,"error":{"type","code","message","param","event_id"}}`.

use serde_json::{Map, Value, json};

/// An event's `type`.
pub fn kind(event: &Map<String, Value>) -> Option<&str> {
    event.get("type").and_then(Value::as_str)
}

/// A client-facing `error` event; `client_event` is the `event_id` of the client event it answers, if it had one.
pub fn error(
    code: &str,
    message: &str,
    param: Option<&str>,
    client_event: Option<&Value>,
) -> String {
    json!({
        "type": "error",
        "event_id": format!("event_{}", uuid::Uuid::new_v4().simple()),
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event,
        }
    })
    .to_string()
}

/// Whether the modalities of `object` (a session or a response: `output_modalities` in the GA protocol,
/// `modalities` in the beta) name audio; `None` when it names none.
pub fn asks_audio(object: Option<&Value>) -> Option<bool> {
    let object = object?.as_object()?;
    let list = object
        .get("output_modalities")
        .or_else(|| object.get("modalities"))?
        .as_array()?;
    Some(list.iter().any(|m| m.as_str() == Some("audio")))
}

/// Where a session asks the upstream to transcribe its input audio (GA `audio.input.transcription`, beta
/// `input_audio_transcription`), when it sets one other than `null`.
pub fn asks_transcription(session: Option<&Value>) -> Option<&'static str> {
    let session = session?;
    let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    if set(session.pointer("/audio/input/transcription")) {
        Some("session.audio.input.transcription")
    } else if set(session.get("input_audio_transcription")) {
        Some("session.input_audio_transcription")
    } else {
        None
    }
}

/// The output limit a client set on a session or response (`max_output_tokens`, beta
/// `max_response_output_tokens`); `Some(None)` for `"inf"`, `None` when it set none.
pub fn output_limit(object: Option<&Value>) -> Option<Option<u64>> {
    let object = object?.as_object()?;
    let v = object
        .get("max_output_tokens")
        .or_else(|| object.get("max_response_output_tokens"))?;
    Some(v.as_u64())
}

/// Bytes of 24 kHz 16-bit mono PCM (the Realtime API's default) per audio token, at about ten tokens a second.
const PCM_BYTES_PER_TOKEN: u64 = 4_800;

/// An estimate of the audio tokens in an `input_audio_buffer.append`'s base64 `audio` (at least one).
pub fn audio_tokens(base64: &str) -> u64 {
    let bytes = u64::try_from(base64.len()).unwrap_or(u64::MAX) / 4 * 3;
    bytes.div_ceil(PCM_BYTES_PER_TOKEN).max(1)
}

/// The text of a `conversation.item.create` item (its content parts' `text` and `transcript`), for the next
/// response's prompt estimate.
pub fn item_text(event: &Map<String, Value>) -> String {
    let mut text = String::new();
    let parts = event
        .get("item")
        .and_then(|i| i.get("content"))
        .and_then(Value::as_array);
    for part in parts.into_iter().flatten() {
        for field in ["text", "transcript", "output"] {
            if let Some(t) = part.get(field).and_then(Value::as_str) {
                text.push_str(t);
                text.push('\n');
            }
        }
    }
    if let Some(t) = event
        .get("item")
        .and_then(|i| i.get("output"))
        .and_then(Value::as_str)
    {
        text.push_str(t);
    }
    text
}
