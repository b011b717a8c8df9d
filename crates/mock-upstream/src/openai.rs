//! OpenAI wire format: completion objects, SSE chunk sequences, model list and errors.

use bytes::Bytes;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::script::Reply;

/// Model echoed back when the request names none.
const FALLBACK_MODEL: &str = "gpt-4o";

/// What a response needs to know about the request it answers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub n: usize,
    pub stream: bool,
    pub include_usage: bool,
}

impl Ctx {
    /// Reads model, `n`, `stream` and `stream_options.include_usage` from a request body.
    pub fn from_request(body: &Value) -> Ctx {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let n = body["n"].as_u64().unwrap_or(1).clamp(1, 128);
        Ctx {
            id: random_id("chatcmpl-", 29),
            created,
            model: body["model"].as_str().unwrap_or(FALLBACK_MODEL).to_owned(),
            n: usize::try_from(n).unwrap_or(1),
            stream: body["stream"].as_bool() == Some(true),
            include_usage: body["stream_options"]["include_usage"].as_bool() == Some(true),
        }
    }
}

/// `prefix` followed by `len` random alphanumeric characters.
pub(crate) fn random_id(prefix: &str, len: usize) -> String {
    let tail: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

/// Splits `s` into at most `n` non-empty parts on char boundaries (none if `s` is empty).
pub(crate) fn split_pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let n = n.clamp(1, chars.len());
    let per = chars.len().div_ceil(n);
    chars.chunks(per).map(|c| c.iter().collect()).collect()
}

/// The full usage object, as OpenAI sends it.
pub(crate) fn usage_json((prompt, completion, cached): (u64, u64, u64)) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// Tool calls with their generated `call_` ids.
fn tool_calls_with_ids(reply: &Reply) -> Vec<(String, &str, &str)> {
    reply
        .tool_calls
        .iter()
        .map(|(name, args)| (random_id("call_", 24), name.as_str(), args.as_str()))
        .collect()
}

fn finish_reason(reply: &Reply) -> &'static str {
    if reply.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// A non-streaming `chat.completion` object.
pub(crate) fn completion(ctx: &Ctx, reply: &Reply) -> Value {
    let mut message = if reply.tool_calls.is_empty() {
        json!({"role": "assistant", "content": reply.text, "refusal": null})
    } else {
        let calls: Vec<Value> = tool_calls_with_ids(reply)
            .into_iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
            })
            .collect();
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    };
    if let (Some(r), Some(obj)) = (&reply.reasoning, message.as_object_mut()) {
        obj.insert("reasoning_content".to_owned(), json!(r));
    }
    let choices: Vec<Value> = (0..ctx.n)
        .map(|i| {
            json!({
                "index": i,
                "message": message.clone(),
                "logprobs": null,
                "finish_reason": finish_reason(reply)
            })
        })
        .collect();
    let mut out = json!({
        "id": ctx.id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "system_fingerprint": "fp_mock",
        "choices": choices,
    });
    if let (Some(usage), Some(obj)) = (reply.usage, out.as_object_mut()) {
        obj.insert("usage".to_owned(), usage_json(usage));
    }
    out
}

/// The deltas of one choice, in order, each with its finish reason.
fn deltas(reply: &Reply) -> Vec<(Value, Option<&'static str>)> {
    let role = json!({"role": "assistant", "content": "", "refusal": null});
    let mut out = vec![(role, None)];
    for piece in split_pieces(reply.reasoning.as_deref().unwrap_or(""), reply.pieces) {
        out.push((json!({"reasoning_content": piece}), None));
    }
    if reply.tool_calls.is_empty() {
        let text = reply.text.as_deref().unwrap_or("");
        for piece in split_pieces(text, reply.pieces) {
            out.push((json!({"content": piece}), None));
        }
    } else {
        let head = |i: usize, id: &str, name: &str| {
            let head = json!({"index": i, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}});
            (json!({"tool_calls": [head]}), None)
        };
        let part = |i: usize, frag: &str| {
            let part = json!({"index": i, "function": {"arguments": frag}});
            (json!({"tool_calls": [part]}), None)
        };
        let calls = tool_calls_with_ids(reply);
        let frags: Vec<Vec<String>> = calls
            .iter()
            .map(|(_, _, args)| split_pieces(args, if args.chars().count() >= 6 { 3 } else { 2 }))
            .collect();
        if reply.interleave_tool_args {
            for (i, (id, name, _)) in calls.iter().enumerate() {
                out.push(head(i, id, name));
            }
            let rounds = frags.iter().map(Vec::len).max().unwrap_or(0);
            for round in 0..rounds {
                for (i, call_frags) in frags.iter().enumerate() {
                    if let Some(frag) = call_frags.get(round) {
                        out.push(part(i, frag));
                    }
                }
            }
        } else {
            for (i, ((id, name, _), call_frags)) in calls.iter().zip(&frags).enumerate() {
                out.push(head(i, id, name));
                for frag in call_frags {
                    out.push(part(i, frag));
                }
            }
        }
    }
    out.push((json!({}), Some(finish_reason(reply))));
    out
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// Every SSE event of a streamed reply, `[DONE]` included, one `Bytes` per event.
pub(crate) fn stream_events(ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
    let with_usage = ctx.include_usage && reply.usage.is_some();
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": ctx.id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "system_fingerprint": "fp_mock",
            "choices": choices,
        });
        if let (true, Some(obj)) = (with_usage, c.as_object_mut()) {
            obj.insert("usage".to_owned(), usage.unwrap_or(Value::Null));
        }
        sse(&c)
    };
    let mut events = Vec::new();
    let usage = reply.usage.map(usage_json);
    for (delta, finish) in deltas(reply) {
        for index in 0..ctx.n {
            let choice = json!({"index": index, "delta": delta.clone(),
                "logprobs": null, "finish_reason": finish});
            let last = finish.is_some() && index + 1 == ctx.n;
            let rides = (last && reply.usage_on_last_choice).then(|| usage.clone());
            events.push(chunk(json!([choice]), rides.flatten()));
        }
    }
    if let (true, false, Some(usage)) = (with_usage, reply.usage_on_last_choice, usage) {
        events.push(chunk(json!([]), Some(usage)));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

/// `GET /v1/models`.
pub(crate) fn models() -> Value {
    let data: Vec<Value> = [
        ("gpt-4o", 1_715_367_049_u64),
        ("gpt-4o-mini", 1_721_172_741),
        ("gpt-4.1", 1_744_316_542),
        ("o3-mini", 1_737_146_383),
        ("text-embedding-3-small", 1_705_948_997),
    ]
    .into_iter()
    .map(|(id, created)| json!({"id": id, "object": "model", "created": created, "owned_by": "system"}))
    .collect();
    json!({"object": "list", "data": data})
}

/// An OpenAI error envelope.
pub(crate) fn error(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// Masks a key the way OpenAI does in its 401 message: `sk-ab***yz`.
pub(crate) fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        return "***".to_owned();
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}***{tail}")
}

/// `POST /v1/embeddings` as OpenAI answers it: one `embedding` per input (8 deterministic floats derived from the
/// text), `usage.prompt_tokens` = words of the texts plus token ids given directly. `Err` is OpenAI's 400 message.
pub(crate) fn embeddings(body: &Value) -> Result<Value, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or("you must provide a model parameter")?;
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
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model is required")?;
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .ok_or("query is required")?;
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
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
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

/// `POST /v1/images/generations` as OpenAI answers it for DALL·E: `n` images (default 1) as URLs, or as
/// `b64_json` (a 1×1 PNG) when `response_format` asks; no usage.
pub(crate) fn image_generations(body: &Value) -> Result<Value, String> {
    let prompt = body
        .get("prompt")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or("'prompt' is a required property")?;
    let n = body.get("n").and_then(Value::as_u64).unwrap_or(1);
    let b64 = body.get("response_format").and_then(Value::as_str) == Some("b64_json");
    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
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

/// `POST /v1/responses` (plain) as OpenAI answers it: one assistant message with the default text as
/// `output_text`; usage in the Responses shape (`input_tokens` = words of a string input, else 10 per item).
pub(crate) fn responses(body: &Value) -> Result<Value, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("Missing required parameter: 'model'.")?;
    let input_tokens = match body.get("input") {
        Some(Value::String(s)) => s.split_whitespace().count().max(1),
        Some(Value::Array(items)) if !items.is_empty() => items.len() * 10,
        _ => return Err("Missing required parameter: 'input'.".to_owned()),
    };
    let text = crate::script::DEFAULT_TEXT;
    let output_tokens = text.split_whitespace().count();
    let mut output = web_search_calls(body);
    output.push(json!({
        "type": "message",
        "id": random_id("msg_", 24),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }));
    Ok(json!({
        "id": random_id("resp_", 24),
        "object": "response",
        "created_at": 1_718_000_000u64,
        "status": "completed",
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }))
}

/// A request with a `web_search*` tool searches twice (at most `max_tool_calls` times), as OpenAI reports it: one
/// `web_search_call` output item per search, before the message.
fn web_search_calls(body: &Value) -> Vec<Value> {
    let searches = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| {
            t.get("type")
                .and_then(Value::as_str)
                .is_some_and(|k| k.starts_with("web_search"))
        });
    if !searches {
        return Vec::new();
    }
    let n = body
        .get("max_tool_calls")
        .and_then(Value::as_u64)
        .unwrap_or(2)
        .min(2);
    (0..n)
        .map(|_| {
            json!({"type": "web_search_call", "id": random_id("ws_", 24), "status": "completed",
                   "action": {"type": "search", "query": "tollgate"}})
        })
        .collect()
}

/// `POST /v1/responses` with `stream: true`: the typed events OpenAI sends for one text answer, in order, each
/// with its `sequence_number`, ending with `response.completed` (which carries the usage).
pub(crate) fn responses_events(body: &Value) -> Result<Vec<(&'static str, Value)>, String> {
    let done = responses(body)?;
    let item = done["output"]
        .as_array()
        .and_then(|o| o.iter().find(|i| i["type"] == "message"))
        .cloned()
        .unwrap_or(Value::Null);
    let item_id = item["id"].clone();
    let mut started = done.clone();
    started["status"] = json!("in_progress");
    started["output"] = json!([]);
    started["usage"] = Value::Null;
    let mut events: Vec<(&'static str, Value)> = vec![
        ("response.created", json!({"response": started.clone()})),
        ("response.in_progress", json!({"response": started})),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": {"type": "message", "id": item_id, "status": "in_progress",
                                               "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
    ];
    let text = crate::script::DEFAULT_TEXT;
    for piece in text.split_inclusive(' ') {
        events.push((
            "response.output_text.delta",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": piece}),
        ));
    }
    events.push((
        "response.output_text.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": text}),
    ));
    events.push((
        "response.content_part.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0,
               "part": {"type": "output_text", "text": text, "annotations": []}}),
    ));
    events.push((
        "response.output_item.done",
        json!({"output_index": 0, "item": item}),
    ));
    events.push(("response.completed", json!({"response": done})));
    for (i, (name, event)) in events.iter_mut().enumerate() {
        event["type"] = json!(name);
        event["sequence_number"] = json!(i);
    }
    Ok(events)
}

/// `POST /v1/audio/speech`: fake audio in the asked format (content type as OpenAI sends it), 64 bytes per input
/// character, starting with the format's magic bytes.
pub(crate) fn speech(body: &Value) -> Result<(&'static str, Vec<u8>), String> {
    body.get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    body.get("voice")
        .and_then(Value::as_str)
        .ok_or("'voice' is a required property")?;
    let input = body
        .get("input")
        .and_then(Value::as_str)
        .ok_or("'input' is a required property")?;
    let (content_type, magic): (&'static str, &[u8]) = match body
        .get("response_format")
        .and_then(Value::as_str)
        .unwrap_or("mp3")
    {
        "mp3" => ("audio/mpeg", b"ID3"),
        "opus" => ("audio/ogg", b"OggS"),
        "aac" => ("audio/aac", b"\xff\xf1"),
        "flac" => ("audio/flac", b"fLaC"),
        "wav" => ("audio/wav", b"RIFF"),
        "pcm" => ("audio/pcm", b""),
        other => return Err(format!("Invalid response_format '{other}'")),
    };
    let mut audio = magic.to_vec();
    audio.resize(magic.len() + 64 * input.chars().count(), 0x55);
    Ok((content_type, audio))
}

/// The fields of a `multipart/form-data` body, scanned plainly (this is a test double): (name, is a file, data).
fn form_fields<'b>(raw: &'b [u8], content_type: &str) -> Option<Vec<(String, bool, &'b [u8])>> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text_len = raw.len();
    let mut out = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let d = delimiter.as_bytes();
    let mut i = 0;
    while i + d.len() <= text_len {
        if &raw[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        let part = &raw[w[0] + d.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let split = part.windows(4).position(|x| x == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let data = &part[split + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
        out.push((name, head.contains("filename="), data));
    }
    Some(out)
}

/// `POST /v1/audio/transcriptions` / `translations` as OpenAI answers them: the text for an upload lasting
/// `seconds` (when the test set none, one second per 100 bytes of the file). Whisper models answer in the asked
/// `response_format` (json with `usage: {type: duration}`, verbose_json with `duration` and segments, text, srt,
/// vtt); the gpt-4o-transcribe family only json (with `usage: {type: tokens}`: 10 audio tokens a second, a text
/// token per word of `prompt`, an output token per word of the text) and plain text.
pub(crate) fn transcription(
    raw: &[u8],
    content_type: &str,
    translate: bool,
    seconds: Option<f64>,
) -> Result<(&'static str, String), String> {
    let fields = form_fields(raw, content_type).ok_or("Could not parse multipart form")?;
    let field = |n: &str| {
        fields
            .iter()
            .find(|(name, file, _)| name == n && !file)
            .map(|(_, _, d)| String::from_utf8_lossy(d).into_owned())
    };
    let model = field("model").ok_or("you must provide a model parameter")?;
    let file = fields
        .iter()
        .find(|(name, file, _)| name == "file" && *file)
        .ok_or("Missing required parameter: 'file'.")?;
    let seconds = seconds.unwrap_or((file.2.len().div_ceil(100).max(1)) as f64 - 0.5);
    let text = if translate {
        "Hello, world (translated)."
    } else {
        "Hello, world."
    };
    let format = field("response_format").unwrap_or_else(|| "json".to_owned());
    if model.starts_with("gpt-4o") {
        return token_transcription(&format, &model, text, seconds, field("prompt"));
    }
    let whole = seconds.ceil() as u64;
    Ok(match format.as_str() {
        "json" => (
            "application/json",
            json!({"text": text, "usage": {"type": "duration", "seconds": whole}}).to_string(),
        ),
        "verbose_json" => (
            "application/json",
            json!({"task": if translate { "translate" } else { "transcribe" }, "language": "english",
                   "duration": seconds, "text": text,
                   "segments": [{"id": 0, "start": 0.0, "end": seconds, "text": text}]})
            .to_string(),
        ),
        "text" => ("text/plain; charset=utf-8", format!("{text}\n")),
        "srt" => ("text/plain; charset=utf-8", format!("1\n00:00:00,000 --> 00:00:0{},000\n{text}\n\n", whole.min(9))),
        "vtt" => ("text/plain; charset=utf-8", format!("WEBVTT\n\n00:00:00.000 --> 00:00:0{}.000\n{text}\n\n", whole.min(9))),
        other => return Err(format!("Invalid response_format '{other}'")),
    })
}

/// A gpt-4o-transcribe answer: json with token usage, or plain text (which reports nothing).
fn token_transcription(
    format: &str,
    model: &str,
    text: &str,
    seconds: f64,
    prompt: Option<String>,
) -> Result<(&'static str, String), String> {
    let audio_tokens = (seconds * 10.0).ceil() as u64;
    let text_tokens = prompt.map_or(0, |p| p.split_whitespace().count() as u64);
    let output_tokens = text.split_whitespace().count() as u64;
    let input_tokens = audio_tokens + text_tokens;
    match format {
        "json" => Ok((
            "application/json",
            json!({"text": text, "usage": {"type": "tokens", "input_tokens": input_tokens,
                "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": text_tokens},
                "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}})
            .to_string(),
        )),
        "text" => Ok(("text/plain; charset=utf-8", format!("{text}\n"))),
        other => Err(format!(
            "response_format '{other}' is not compatible with model '{model}'. Use 'json' or 'text'."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_char_boundaries() {
        assert_eq!(split_pieces("héllo wörld", 3), vec!["héll", "o wö", "rld"]);
        assert_eq!(split_pieces("ab", 5), vec!["a", "b"]);
        assert!(split_pieces("", 3).is_empty());
    }

    #[test]
    fn masks_keys() {
        assert_eq!(mask_key("sk-abcdefxyz"), "sk-ab***yz");
        assert_eq!(mask_key("short"), "***");
    }
}
