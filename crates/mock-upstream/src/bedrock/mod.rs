//! Amazon Bedrock runtime, Anthropic models: `POST …/model/{modelId}/invoke` and
//! `…/invoke-with-response-stream`. The SigV4 signature is verified for real against the accepted `AK|SK|REGION`
//! keys (`sigv4`); the body must be Anthropic Messages as Bedrock takes it — no `model`, no `stream`, no `metadata`,
//! `anthropic_version: bedrock-2023-05-31` — and otherwise pass the mock's Anthropic checks. Replies are
//! Anthropic's `message`, or its stream events as event-stream `chunk` frames (`frames`), the last one with
//! `amazon-bedrock-invocationMetrics`. Refusals are Bedrock's: `{"message"}` with `x-amzn-ErrorType`.

mod frames;
pub(crate) mod sigv4;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::anthropic;
use crate::script::Reply;

/// The Bedrock `anthropic_version`.
pub(crate) const VERSION: &str = "bedrock-2023-05-31";

/// Bedrock's stream content type.
pub(crate) const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// `(model id, stream)` of an invoke path; the model id percent-decoded.
pub(crate) fn parse_path(route: &str) -> Option<(String, bool)> {
    let at = route.rfind("/model/")?;
    let rest = &route[at + "/model/".len()..];
    let (id, action) = rest.split_once('/')?;
    let stream = match action {
        "invoke" => false,
        "invoke-with-response-stream" => true,
        _ => return None,
    };
    (!id.is_empty()).then(|| (decode(id), stream))
}

/// `%XX` sequences decoded (a bad one is kept as it is).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bedrock's body rules, then the Anthropic ones (on the body with the model put back).
pub(crate) fn check_body(body: &Value, model: &str) -> Result<(), String> {
    let Some(obj) = body.as_object() else {
        return Err("Malformed input request, please reformat your input and try again.".into());
    };
    for key in ["model", "stream", "metadata"] {
        if obj.contains_key(key) {
            return Err(format!(
                "Malformed input request: extraneous key [{key}] is not permitted, please reformat your input and try again."
            ));
        }
    }
    match obj.get("anthropic_version").and_then(Value::as_str) {
        Some(VERSION) => {}
        Some(_) => return Err("Invalid API version".into()),
        None => {
            return Err("Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.".into());
        }
    }
    let mut as_anthropic = obj.clone();
    as_anthropic.remove("anthropic_version");
    as_anthropic.insert("model".into(), json!(model));
    anthropic::validate::body(&Value::Object(as_anthropic))
}

/// Bedrock's error body.
pub(crate) fn error(message: &str) -> Value {
    json!({ "message": message })
}

/// The streamed reply as frames; the last (`message_stop`) carries the invocation metrics.
pub(crate) fn stream_frames(ctx: &anthropic::Ctx, reply: &Reply) -> Vec<Bytes> {
    let mut events = anthropic::stream_values(ctx, reply);
    if let Some(last) = events.last_mut().and_then(Value::as_object_mut) {
        let (input, output) = reply.usage.map_or((0, 0), |(p, c, _)| (p, c));
        last.insert(
            "amazon-bedrock-invocationMetrics".into(),
            json!({"inputTokenCount": input, "outputTokenCount": output,
                "invocationLatency": 250, "firstByteLatency": 120}),
        );
    }
    events.iter().map(frames::chunk).collect()
}

/// An `internalServerException` frame carrying `body` (what a scripted error event becomes here).
pub(crate) fn exception_frame(body: &str) -> Bytes {
    frames::exception("internalServerException", body)
}

/// A stream whose first frame fails its checksum.
pub(crate) fn garbage() -> Bytes {
    frames::corrupt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_paths_name_the_model() {
        assert_eq!(
            parse_path(
                "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream"
            ),
            Some(("anthropic.claude-3-5-sonnet-20240620-v1:0".to_owned(), true))
        );
        assert_eq!(
            parse_path("/x/model/m/invoke"),
            Some(("m".to_owned(), false))
        );
        assert_eq!(parse_path("/model/m/converse"), None);
    }

    #[test]
    fn bodies_are_checked_like_bedrock() {
        let ok = json!({"anthropic_version": VERSION, "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(check_body(&ok, "m"), Ok(()));
        let mut with_model = ok.clone();
        with_model["model"] = json!("m");
        assert!(
            check_body(&with_model, "m")
                .unwrap_err()
                .contains("[model]")
        );
        let mut old = ok;
        old["anthropic_version"] = json!("2023-06-01");
        assert!(check_body(&old, "m").is_err());
    }
}
