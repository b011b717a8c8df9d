//! The JSON endpoints beyond chat: embeddings, moderations, rerank, legacy completions, image generations.

use super::*;

/// `POST /v1/embeddings` as OpenAI answers it: one `embedding` per input (8 deterministic floats derived from the
/// text), `usage.prompt_tokens` = words of the texts plus token ids given directly. `Err` is OpenAI's 400 message.
pub(crate) fn embeddings(body: &Value) -> Result<Value, String> {
    let model = required_text(body, "model", "you must provide a model parameter")?;
    let items: Vec<Value> = match body.get("input") {
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_u64) => {
            vec![Value::Array(a.clone())]
        }
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => return Err("'input' is a required property".to_owned()),
    };
    let mut tokens = 0u64;
    let mut data = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let seed: u64 = match item {
            Value::String(s) => {
                tokens += s.split_whitespace().count().max(1) as u64;
                s.bytes()
                    .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            }
            Value::Array(ids) => {
                tokens += ids.len() as u64;
                ids.iter()
                    .filter_map(Value::as_u64)
                    .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b))
            }
            _ => return Err(format!("Invalid type for 'input[{index}]'")),
        };
        let vector: Vec<f64> = (0..8u64)
            .map(|i| f64::from(u32::try_from((seed >> (i * 4)) & 0xff).unwrap_or(0)) / 255.0 - 0.5)
            .collect();
        data.push(json!({"object": "embedding", "index": index, "embedding": vector}));
    }
    Ok(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
}

/// `POST /v1/moderations` as OpenAI answers it: one result per input, flagged when the text contains "kill"; no
/// usage (OpenAI reports none).
pub(crate) fn moderations(body: &Value) -> Result<Value, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("omni-moderation-latest");
    let texts: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect(),
        _ => return Err("'input' is a required property".to_owned()),
    };
    let results: Vec<Value> = texts
        .iter()
        .map(|t| {
            let flagged = t.to_lowercase().contains("kill");
            let score = if flagged { 0.98 } else { 0.0001 };
            json!({
                "flagged": flagged,
                "categories": {"violence": flagged, "harassment": false, "self-harm": false},
                "category_scores": {"violence": score, "harassment": 0.0001, "self-harm": 0.0001},
            })
        })
        .collect();
    Ok(json!({"id": random_id("modr-", 24), "model": model, "results": results}))
}

/// `POST /v1/rerank`, Jina/Cohere style: documents scored by how many query words they contain, best first,
/// `top_n` of them; `usage.total_tokens` = words of the query and documents.
pub(crate) fn rerank(body: &Value) -> Result<Value, String> {
    let model = required_str(body, "model", "model is required")?;
    let query = required_str(body, "query", "query is required")?;
    let docs: Vec<String> = body
        .get("documents")
        .and_then(Value::as_array)
        .ok_or("documents is required")?
        .iter()
        .map(|d| {
            d.as_str()
                .map(str::to_owned)
                .or_else(|| d.get("text").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut scored: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = d.to_lowercase();
            let hits = words.iter().filter(|w| d.contains(w.as_str())).count();
            let total = words.len().max(1);
            (
                i,
                f64::from(u32::try_from(hits).unwrap_or(0))
                    / f64::from(u32::try_from(total).unwrap_or(1)),
            )
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let top_n = body
        .get("top_n")
        .and_then(Value::as_u64)
        .map_or(scored.len(), |n| usize::try_from(n).unwrap_or(usize::MAX));
    let results: Vec<Value> = scored
        .into_iter()
        .take(top_n)
        .map(|(index, score)| json!({"index": index, "relevance_score": score}))
        .collect();
    let tokens = query.split_whitespace().count()
        + docs
            .iter()
            .map(|d| d.split_whitespace().count())
            .sum::<usize>();
    Ok(json!({"model": model, "results": results, "usage": {"total_tokens": tokens}}))
}

/// `POST /v1/completions` (legacy) as OpenAI answers it: the default text, word by word when streamed, usage =
/// words of the prompt and of the text. Plain: one `text_completion` body; stream: the SSE payloads in order
/// (text chunks, the `finish_reason` chunk, a usage chunk with empty `choices` when `stream_options.include_usage`),
/// without `[DONE]`.
pub(crate) fn legacy_completion(body: &Value) -> Result<Vec<Value>, String> {
    let model = required_str(body, "model", "you must provide a model parameter")?;
    let prompt_words = match body.get("prompt") {
        Some(Value::String(s)) => s.split_whitespace().count().max(1),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|p| {
                p.as_str()
                    .map_or(1, |s| s.split_whitespace().count().max(1))
            })
            .sum(),
        _ => return Err("'prompt' is a required property".to_owned()),
    };
    let text = crate::script::DEFAULT_TEXT;
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let usage = json!({"prompt_tokens": prompt_words, "completion_tokens": words.len(),
                       "total_tokens": prompt_words + words.len()});
    let id = random_id("cmpl-", 24);
    let created = 1_718_000_000u64;
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if !stream {
        return Ok(vec![json!({
            "id": id, "object": "text_completion", "created": created, "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
        })]);
    }
    let chunk = |text: &str, finish: Value| {
        json!({"id": id, "object": "text_completion", "created": created, "model": model,
               "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}]})
    };
    let mut out: Vec<Value> = words.iter().map(|w| chunk(w, Value::Null)).collect();
    out.push(chunk("", json!("stop")));
    if body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.push(
            json!({"id": id, "object": "text_completion", "created": created, "model": model,
                        "choices": [], "usage": usage}),
        );
    }
    Ok(out)
}

/// A 1×1 PNG, base64: every `b64_json` image the mock answers.
pub(super) const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// `POST /v1/images/generations` as OpenAI answers it for DALL·E: `n` images (default 1) as URLs, or as
/// `b64_json` (a 1×1 PNG) when `response_format` asks; no usage.
pub(crate) fn image_generations(body: &Value) -> Result<Value, String> {
    let prompt = required_text(body, "prompt", "'prompt' is a required property")?;
    let n = body.get("n").and_then(Value::as_u64).unwrap_or(1);
    let b64 = body.get("response_format").and_then(Value::as_str) == Some("b64_json");
    let data: Vec<Value> = (0..n)
        .map(|i| {
            if b64 {
                json!({"b64_json": PNG_1X1, "revised_prompt": prompt})
            } else {
                json!({"url": format!("https://images.example.invalid/{i}.png"), "revised_prompt": prompt})
            }
        })
        .collect();
    Ok(json!({"created": 1_718_000_000u64, "data": data}))
}
