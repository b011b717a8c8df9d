//! Checks shared by the provider routes: base64 payloads, image magic numbers, query parameters and tool
//! arguments.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Standard, padded base64 (what Anthropic takes); `None` if it is not, or decodes to nothing.
pub(crate) fn strict_base64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok().filter(|b| !b.is_empty())
}

/// Any base64 alphabet, padded or not (what the protobuf JSON parser behind Gemini takes).
pub(crate) fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .filter(|b| !b.is_empty())
}

/// The image media type from the first bytes (PNG, JPEG, GIF, WebP).
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else {
        None
    }
}

/// The raw (not percent-decoded) value of the first `name=` parameter in `query`.
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// Tool-call arguments as the JSON object a provider sends (`{}` when the text is not an object).
pub(crate) fn parse_args(args: &str) -> Value {
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

/// Rejects the first key of `obj` not in `known`, with the message `unknown(key)`.
pub(crate) fn only_keys(
    obj: &Map<String, Value>,
    known: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(unknown(k)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_alphabets() {
        assert_eq!(strict_base64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(strict_base64("aGk"), None);
        assert_eq!(strict_base64(""), None);
        assert_eq!(lenient_base64("aGk"), Some(b"hi".to_vec()));
        assert_eq!(lenient_base64("data:image/png;base64,aGk="), None);
    }

    #[test]
    fn query_and_args() {
        assert_eq!(
            query_param("a=1&api-version=2024-10-21", "api-version"),
            Some("2024-10-21")
        );
        assert_eq!(query_param("alt=sse", "key"), None);
        assert_eq!(query_param("key", "key"), Some(""));
        assert_eq!(parse_args(r#"{"a":1}"#)["a"], 1);
        assert_eq!(parse_args("[1]"), Value::Object(Map::new()));
    }
}
