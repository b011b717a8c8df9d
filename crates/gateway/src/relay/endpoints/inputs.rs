//! Each operation's input: checked the way OpenAI checks it (a clear 400 naming the field), and returned as the
//! texts to estimate (and, without upstream usage, to count) plus the tokens given directly (ids, characters).

use crate::error::ApiError;
use serde_json::{Map, Value};

/// A 400 naming the field.
pub(super) fn invalid(message: &str, param: &str) -> ApiError {
    ApiError::invalid(message, Some(param))
}

/// The texts of `input` (for estimating and, without upstream usage, counting) and the number of tokens given
/// as token ids. Refuses shapes OpenAI refuses.
pub(super) fn texts<'a>(
    input: Option<&'a Value>,
    param: &str,
) -> Result<(Vec<&'a str>, u64), ApiError> {
    let bad = || {
        invalid(
            &format!(
                "`{param}` must be a non-empty string, an array of strings, an array of token ids, or an array \
                 of token-id arrays."
            ),
            param,
        )
    };
    match input {
        Some(Value::String(s)) if !s.is_empty() => Ok((vec![s.as_str()], 0)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut texts = Vec::new();
            let mut ids = 0u64;
            for item in items {
                match item {
                    Value::String(s) if !s.is_empty() => texts.push(s.as_str()),
                    Value::Number(n) if n.is_u64() => ids += 1,
                    Value::Array(tokens)
                        if !tokens.is_empty() && tokens.iter().all(Value::is_u64) =>
                    {
                        ids += tokens.len() as u64;
                    }
                    _ => return Err(bad()),
                }
            }
            Ok((texts, ids))
        }
        _ => Err(bad()),
    }
}

/// Moderation `input`: a string, an array of strings, or an array of multimodal parts (`{"type":"text","text"}`,
/// `{"type":"image_url",…}`; images are not counted).
pub(super) fn moderation(input: Option<&Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let bad = || {
        invalid(
            "`input` must be a non-empty string, an array of strings, or an array of `text` / `image_url` parts.",
            "input",
        )
    };
    match input {
        Some(Value::String(s)) if !s.is_empty() => Ok((vec![s.as_str()], 0)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut texts = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => texts.push(s.as_str()),
                    Value::Object(part) => match part.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            texts.push(part.get("text").and_then(Value::as_str).ok_or_else(bad)?)
                        }
                        Some("image_url") => {}
                        _ => return Err(bad()),
                    },
                    _ => return Err(bad()),
                }
            }
            Ok((texts, 0))
        }
        _ => Err(bad()),
    }
}

/// Responses: `input` as a string or an array of input items; `instructions` count too. Items are estimated by
/// their JSON size (an upper bound of their text).
pub(super) fn responses(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let mut texts = Vec::new();
    let mut extra = 0u64;
    match request.get("input") {
        Some(Value::String(s)) if !s.is_empty() => texts.push(s.as_str()),
        Some(Value::Array(items)) if !items.is_empty() => {
            for item in items {
                extra += (item.to_string().len() as u64).div_ceil(3);
            }
        }
        _ => {
            return Err(invalid(
                "`input` is required: a string or a non-empty array of input items.",
                "input",
            ));
        }
    }
    if let Some(Value::String(i)) = request.get("instructions") {
        texts.push(i.as_str());
    }
    Ok((texts, extra))
}

/// Speech: `input` text (at most 4096 characters, OpenAI's limit) and a `voice`. Billed per character, so the
/// count comes back as "tokens" (the characters) with no text to tokenize.
pub(super) fn speech(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let input = match request.get("input") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => {
            return Err(invalid(
                "`input` is required and must be a non-empty string.",
                "input",
            ));
        }
    };
    let chars = input.chars().count() as u64;
    if chars > 4096 {
        return Err(invalid("`input` may be at most 4096 characters.", "input"));
    }
    if !matches!(request.get("voice"), Some(Value::String(v)) if !v.is_empty()) {
        return Err(invalid("`voice` is required.", "voice"));
    }
    Ok((Vec::new(), chars))
}

/// Rerank: a `query` string and non-empty `documents` (strings, or objects with a `text`).
pub(super) fn rerank(request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
    let query = match request.get("query") {
        Some(Value::String(q)) if !q.is_empty() => q.as_str(),
        _ => {
            return Err(invalid(
                "`query` is required and must be a non-empty string.",
                "query",
            ));
        }
    };
    let bad = || {
        invalid(
            "`documents` must be a non-empty array of strings or of objects with a `text`.",
            "documents",
        )
    };
    let Some(Value::Array(docs)) = request.get("documents") else {
        return Err(bad());
    };
    if docs.is_empty() {
        return Err(bad());
    }
    let mut texts = vec![query];
    for d in docs {
        match d {
            Value::String(s) => texts.push(s.as_str()),
            Value::Object(o) => texts.push(o.get("text").and_then(Value::as_str).ok_or_else(bad)?),
            _ => return Err(bad()),
        }
    }
    Ok((texts, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_shapes() {
        let ok = |v: Value| texts(Some(&v), "input").map(|(t, n)| (t.len(), n)).ok();
        assert_eq!(ok(json!("hello")), Some((1, 0)));
        assert_eq!(ok(json!(["a", "b"])), Some((2, 0)));
        assert_eq!(ok(json!([1, 2, 3])), Some((0, 3)));
        assert_eq!(ok(json!([[1, 2], [3]])), Some((0, 3)));
        for bad in [
            json!(""),
            json!([]),
            json!([""]),
            json!(5),
            json!([{"a": 1}]),
            json!([[]]),
        ] {
            assert!(texts(Some(&bad), "input").is_err(), "{bad}");
        }
        assert!(texts(None, "input").is_err());
    }

    #[test]
    fn moderation_and_rerank_shapes() {
        let m = |v: Value| moderation(Some(&v)).map(|(t, _)| t.len()).ok();
        assert_eq!(m(json!("x")), Some(1));
        assert_eq!(m(json!(["a", "b"])), Some(2));
        assert_eq!(
            m(
                json!([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}}])
            ),
            Some(1)
        );
        assert_eq!(m(json!([{"type": "audio"}])), None);
        assert_eq!(m(json!([])), None);
        let r = |v: Value| {
            let Value::Object(o) = v else { return None };
            rerank(&o).map(|(t, _)| t.len()).ok()
        };
        assert_eq!(
            r(json!({"query": "q", "documents": ["a", {"text": "b"}]})),
            Some(3)
        );
        assert_eq!(r(json!({"query": "q", "documents": []})), None);
        assert_eq!(r(json!({"documents": ["a"]})), None);
        assert_eq!(r(json!({"query": "q", "documents": [1]})), None);
    }
}
