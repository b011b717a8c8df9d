//! Bedrock's errors as [`UpstreamError`]s: an error answer is `{"message": …}` with its type in the
//! `x-amzn-ErrorType` header (`ThrottlingException:http://…`), or in `__type` for some front ends; a stream's
//! `exception` frame names it in `:exception-type` (`throttlingException`). The status decides retry and key health
//! as for every provider (403 signature or unknown key → out of rotation, 429 and 5xx → another channel, 400 → the
//! client's); the type becomes `error_type`, with an OpenAI-ish `code` where one exists.

use crate::error::{UpstreamError, UpstreamErrorKind};
use serde_json::Value;

/// An error answer of `status`, its type from the `x-amzn-ErrorType` header when there is one.
pub fn error_from_answer(status: u16, error_type: Option<&str>, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message").or_else(|| field("Message"));
    let kind = error_type
        .map(str::to_owned)
        .or_else(|| field("__type"))
        .map(|t| short_type(&t).to_owned());
    let mut err = UpstreamError::from_status(status, message.as_deref());
    err.code = kind.as_deref().map(|k| error_code(k).to_owned());
    err.error_type = kind;
    err
}

/// The error body alone (a stream request answered with JSON): the type only from `__type`.
pub fn error_from_body(status: u16, body: &[u8]) -> UpstreamError {
    error_from_answer(status, None, body)
}

/// An `exception` frame mid-stream: the status Bedrock answers that exception with.
pub fn exception_error(exception_type: &str, payload: &[u8]) -> UpstreamError {
    let kind = upper_first(exception_type);
    let status = exception_status(&kind);
    let message = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| kind.clone());
    let mut err = UpstreamError::new(
        UpstreamErrorKind::Status(status),
        format!("upstream failed mid-stream: {kind}: {message}"),
    );
    err.code = Some(error_code(&kind).to_owned());
    err.error_type = Some(kind);
    err
}

/// `ThrottlingException:http://internal.amazon.com/…` or `com.amazon.coral#ThrottlingException` → the name.
fn short_type(t: &str) -> &str {
    let t = t.split(':').next().unwrap_or(t);
    t.rsplit('#').next().unwrap_or(t)
}

/// `throttlingException` (event-stream spelling) → `ThrottlingException` (the header's).
fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn exception_status(kind: &str) -> u16 {
    match kind {
        "ValidationException" => 400,
        "AccessDeniedException" => 403,
        "ModelTimeoutException" => 408,
        "ModelStreamErrorException" => 424,
        "ThrottlingException" => 429,
        "ServiceUnavailableException" => 503,
        _ => 500,
    }
}

/// OpenAI-ish `code` for a Bedrock error type; the type itself when nothing closer exists.
fn error_code(kind: &str) -> &str {
    match kind {
        "UnrecognizedClientException" | "InvalidSignatureException" => "invalid_api_key",
        "AccessDeniedException" => "permission_denied",
        "ThrottlingException" => "rate_limit_exceeded",
        "ValidationException" => "invalid_request_error",
        "ResourceNotFoundException" => "model_not_found",
        "InternalServerException" | "ServiceUnavailableException" => "server_error",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_signature_takes_the_key_out() {
        let body = br#"{"message":"The request signature we calculated does not match the signature you provided."}"#;
        let err = error_from_answer(
            403,
            Some(
                "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/",
            ),
            body,
        );
        assert!(err.disables_key());
        assert_eq!(err.error_type.as_deref(), Some("InvalidSignatureException"));
        assert_eq!(err.code.as_deref(), Some("invalid_api_key"));
        assert!(err.message.contains("signature we calculated"));
        let unknown = error_from_answer(403, Some("UnrecognizedClientException"), b"{}");
        assert!(unknown.disables_key() && unknown.is_retryable());
    }

    #[test]
    fn throttling_and_server_errors_retry_validation_does_not() {
        let throttled = error_from_answer(
            429,
            Some("ThrottlingException"),
            br#"{"message":"Too many requests"}"#,
        );
        assert!(throttled.is_retryable() && !throttled.disables_key());
        assert!(error_from_body(500, br#"{"__type":"InternalServerException"}"#).is_retryable());
        let invalid = error_from_answer(400, Some("ValidationException"), br#"{"message":"bad"}"#);
        assert!(!invalid.is_retryable() && !invalid.disables_key());
    }

    #[test]
    fn exceptions_mid_stream_keep_their_status() {
        let err = exception_error("throttlingException", br#"{"message":"slow down"}"#);
        assert_eq!(err.status(), Some(429));
        assert_eq!(err.error_type.as_deref(), Some("ThrottlingException"));
        assert!(err.message.contains("slow down"));
        assert_eq!(
            exception_error("modelStreamErrorException", b"").status(),
            Some(424)
        );
    }
}
