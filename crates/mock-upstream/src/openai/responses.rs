//! The Responses API: a `response` object, or its named stream events; built-in tool calls when asked.

use super::*;

/// `POST /v1/responses` (plain) as OpenAI answers it: one assistant message with the default text as
/// `output_text`; usage in the Responses shape (`input_tokens` = words of a string input, else 10 per item).
pub(crate) fn responses(body: &Value) -> Result<Value, String> {
    let model = required_str(body, "model", "Missing required parameter: 'model'.")?;
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
