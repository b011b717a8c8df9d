use super::*;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn request_with_system_tools_images_and_tool_results() {
    let req = obj(json!({
        "model": "claude-3-5-sonnet-20240620", "max_tokens": 100, "stream": true,
        "system": [{"type": "text", "text": "be brief"}],
        "stop_sequences": ["END"], "temperature": 0.2,
        "tools": [{"name": "w", "description": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "text", "text": "thanks"}]}
        ]
    }));
    let out = Value::Object(to_openai(&req).unwrap());
    assert_eq!(
        out["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(
        out["messages"][1]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}})
    );
    assert_eq!(
        out["messages"][2]["tool_calls"][0]["function"],
        json!({"name": "w", "arguments": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(
        out["messages"][3],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"})
    );
    assert_eq!(
        out["messages"][4],
        json!({"role": "user", "content": "thanks"})
    );
    assert_eq!(
        out["tools"][0]["function"]["parameters"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["parallel_tool_calls"], false);
    assert_eq!(out["stop"], json!(["END"]));
    assert_eq!(out["max_tokens"], 100);
    assert_eq!(out["stream"], true);
}

#[test]
fn required_fields_are_checked() {
    let e = to_openai(&obj(json!({"model": "m", "messages": []}))).unwrap_err();
    assert!(e.to_string().contains("max_tokens"));
    let e = to_openai(&obj(json!({"max_tokens": 5, "messages": []}))).unwrap_err();
    assert!(e.to_string().contains("model"));
    let e = to_openai(&obj(
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("role"));
}

#[test]
fn completion_becomes_a_message_with_anthropic_usage() {
    let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "hi", "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "w", "arguments": "{\"city\":\"Paris\"}"}}]}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35, "prompt_tokens_details": {"cached_tokens": 10}}});
    let m = to_anthropic_message(body.to_string().as_bytes(), "msg_1", "claude").unwrap();
    assert_eq!(m["type"], "message");
    assert_eq!(m["content"][0], json!({"type": "text", "text": "hi"}));
    assert_eq!(m["content"][1]["input"], json!({"city": "Paris"}));
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(m["usage"]["input_tokens"], 20);
    assert_eq!(m["usage"]["cache_read_input_tokens"], 10);
    assert_eq!(m["usage"]["output_tokens"], 5);
}

#[test]
fn chunks_become_anthropic_events() {
    let mut ev = super::super::stream::AnthropicEncoder::new("msg_1".into(), "claude".into());
    let mut out = String::new();
    for c in [
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
        json!({"choices": [{"index": 0, "delta": {"content": "lo"}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "w", "arguments": ""}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":1}"}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}),
    ] {
        out.push_str(std::str::from_utf8(&ev.on_chunk(c.to_string().as_bytes())).unwrap());
    }
    out.push_str(std::str::from_utf8(&ev.finish()).unwrap());
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        vec![
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(out.contains(r#""partial_json":"{\"a\":1}""#), "{out}");
    assert!(out.contains(r#""stop_reason":"tool_use""#));
    assert!(out.contains(r#""output_tokens":3"#));
}

#[test]
fn interleaved_tool_calls_become_whole_blocks() {
    let mut ev = super::super::stream::AnthropicEncoder::new("msg_1".into(), "m".into());
    let mut out = String::new();
    let call = |i: u64, id: Option<&str>, args: &str| {
        let mut c = json!({"index": i, "function": {"arguments": args}});
        if let Some(id) = id {
            c["id"] = json!(id);
            c["type"] = json!("function");
            c["function"]["name"] = json!(format!("f{i}"));
        }
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [c]}}]})
    };
    for c in [
        call(0, Some("call_0"), ""),
        call(1, Some("call_1"), ""),
        call(0, None, "{\"a\":"),
        call(1, None, "{\"b\":"),
        call(0, None, "1}"),
        call(1, None, "2}"),
    ] {
        out.push_str(std::str::from_utf8(&ev.on_chunk(c.to_string().as_bytes())).unwrap());
    }
    out.push_str(std::str::from_utf8(&ev.finish()).unwrap());
    let events: Vec<Value> = out
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    // Blocks never interleave: each block's deltas sit between its start and stop, and arguments are whole.
    let mut args = std::collections::BTreeMap::<u64, String>::new();
    let mut open: Option<u64> = None;
    for e in &events {
        let i = e["index"].as_u64();
        match e["type"].as_str().unwrap() {
            "content_block_start" => {
                assert!(open.is_none(), "{out}");
                open = i;
                assert!(
                    e["content_block"]["id"]
                        .as_str()
                        .unwrap()
                        .starts_with("call_")
                );
            }
            "content_block_delta" => {
                assert_eq!(open, i, "{out}");
                args.entry(i.unwrap())
                    .or_default()
                    .push_str(e["delta"]["partial_json"].as_str().unwrap());
            }
            "content_block_stop" => open = None,
            _ => {}
        }
    }
    assert_eq!(
        args.values().cloned().collect::<Vec<_>>(),
        vec!["{\"a\":1}".to_owned(), "{\"b\":2}".to_owned()]
    );
}
