//! Pure mappings for the OpenAI adapter: upstream error bodies to `UpstreamError`, SSE events to chunk payloads.

use crate::ChunkStream;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::SseEvent;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

/// An error answer (any status) turned into an `UpstreamError`, keeping the upstream's message, type and code.
pub fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
    let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) else {
        return UpstreamError::from_status(status, None);
    };
    let mut err = UpstreamError::from_status(status, env.error.message.as_deref());
    err.error_type = env.error.kind;
    err.code = match env.error.code {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    err
}

/// Upstream SSE events → OpenAI chunk payloads; ends at `[DONE]`, fails if the upstream closes before it.
pub fn openai_chunks(events: BoxStream<'static, Result<SseEvent, UpstreamError>>) -> ChunkStream {
    futures::stream::unfold((events, false), |(mut events, finished)| async move {
        if finished {
            return None;
        }
        match events.next().await {
            Some(Ok(ev)) if &ev.data[..] == b"[DONE]" => None,
            Some(Ok(ev)) => Some((Ok::<Bytes, UpstreamError>(ev.data), (events, false))),
            Some(Err(e)) => Some((Err(e), (events, true))),
            None => Some((
                Err(UpstreamError::new(
                    UpstreamErrorKind::Protocol,
                    "upstream closed the stream before [DONE]",
                )),
                (events, true),
            )),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_upstream_error_fields() {
        let e = error_from_body(
            429,
            br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert_eq!(e.status(), Some(429));
        assert!(e.message.contains("exceeded your current quota"));
        assert!(e.disables_key());
        assert!(e.is_retryable());
    }

    #[test]
    fn non_json_error_body_still_maps() {
        let e = error_from_body(502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "upstream returned HTTP 502");
        assert!(e.is_retryable());
        assert!(!e.disables_key());
    }

    #[test]
    fn bad_request_is_not_retried() {
        let e = error_from_body(400, br#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#);
        assert!(!e.is_retryable());
    }
}
