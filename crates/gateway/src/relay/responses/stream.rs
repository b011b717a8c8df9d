//! `ResponsesFromChat`: OpenAI chat chunks in, Responses API stream events out — what OpenAI sends for the same
//! answer: `response.created` and `response.in_progress`; per output item `response.output_item.added`, then
//! `response.content_part.added` + `response.output_text.delta` (text) or `response.function_call_arguments.delta`
//! (a tool call); at the end each item's `…done` events and `response.completed` (or `response.incomplete`) with
//! the whole response and its usage. Every event carries `type` and a rising `sequence_number`, which the SDKs'
//! stream helpers use to assemble the response, so indices here must match the items' order.

use super::answer::{self, Echo, Head};
use crate::streaming::chunk::Ending;
use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use std::collections::BTreeMap;

enum Item {
    Message {
        id: String,
        text: String,
    },
    Call {
        call_id: String,
        name: String,
        arguments: String,
    },
}

pub struct ResponsesFromChat {
    echo: Echo,
    fallback_id: String,
    model: String,
    head: Option<Head>,
    sequence: u64,
    items: Vec<Item>,
    /// Output index of the message item, once text arrived.
    message: Option<usize>,
    /// Chat tool-call index → output index.
    calls: BTreeMap<u64, usize>,
    ending: Ending,
}

impl ResponsesFromChat {
    pub fn new(echo: Echo, fallback_id: String, model: String) -> Self {
        Self {
            echo,
            fallback_id,
            model,
            head: None,
            sequence: 0,
            items: Vec::new(),
            message: None,
            calls: BTreeMap::new(),
            ending: Ending::default(),
        }
    }

    fn event(&mut self, out: &mut BytesMut, name: &str, mut data: Value) {
        data["type"] = json!(name);
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        crate::streaming::sse::write(out, Some(name), data.to_string().as_bytes());
    }

    fn response(&self, status: &answer::Status, usage: Value) -> Value {
        let output = self
            .items
            .iter()
            .map(|i| item_json(i, "completed"))
            .collect();
        match &self.head {
            Some(head) => self.echo.response(head, status, output, usage),
            None => Value::Null,
        }
    }

    fn start(&mut self, out: &mut BytesMut, chunk: Option<&Value>) {
        if self.head.is_some() {
            return;
        }
        self.head = Some(Head::new(
            chunk.and_then(|c| c.get("id")).and_then(Value::as_str),
            &self.fallback_id,
            chunk
                .and_then(|c| c.get("created"))
                .and_then(Value::as_i64)
                .unwrap_or(0),
            &self.model,
        ));
        let in_progress = answer::Status {
            name: "in_progress",
            incomplete_reason: None,
        };
        let mut response = self.response(&in_progress, Value::Null);
        response["output"] = json!([]);
        self.event(out, "response.created", json!({"response": response}));
        self.event(out, "response.in_progress", json!({"response": response}));
    }

    pub fn on_chunk(&mut self, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        let Ok(chunk) = serde_json::from_slice::<Value>(payload) else {
            return out.freeze();
        };
        self.start(&mut out, Some(&chunk));
        let choice = self.ending.read(&chunk);
        if let Some(text) = choice.text {
            self.on_text(&mut out, text);
        }
        for call in choice.calls {
            self.on_call_fragment(&mut out, call);
        }
        out.freeze()
    }

    fn on_text(&mut self, out: &mut BytesMut, text: &str) {
        let index = match self.message {
            Some(i) => i,
            None => {
                let id = self.head.as_ref().map(Head::message_id).unwrap_or_default();
                let index = self.items.len();
                self.items.push(Item::Message {
                    id: id.clone(),
                    text: String::new(),
                });
                self.message = Some(index);
                let item = json!({"type": "message", "id": id, "status": "in_progress", "role": "assistant",
                    "content": []});
                self.event(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                let part = json!({"type": "output_text", "text": "", "annotations": []});
                self.event(
                    out,
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                );
                index
            }
        };
        let Some(Item::Message { id, text: all }) = self.items.get_mut(index) else {
            return;
        };
        all.push_str(text);
        let id = id.clone();
        self.event(
            out,
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index, "content_index": 0, "delta": text, "logprobs": []}),
        );
    }

    fn on_call_fragment(&mut self, out: &mut BytesMut, call: &Value) {
        let chat_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let index = match self.calls.get(&chat_index) {
            Some(&i) => i,
            None => {
                let index = self.items.len();
                let call_id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("call_{index}"), str::to_owned);
                let name = call
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let item = answer::call_item(&call_id, &name, "", "in_progress");
                self.items.push(Item::Call {
                    call_id,
                    name,
                    arguments: String::new(),
                });
                self.calls.insert(chat_index, index);
                self.event(
                    out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                index
            }
        };
        if args.is_empty() {
            return;
        }
        let Some(Item::Call {
            call_id, arguments, ..
        }) = self.items.get_mut(index)
        else {
            return;
        };
        arguments.push_str(args);
        let item_id = format!("fc_{call_id}");
        self.event(
            out,
            "response.function_call_arguments.delta",
            json!({"item_id": item_id, "output_index": index, "delta": args}),
        );
    }

    /// The end of the answer: each item's closing events, then the whole response.
    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        self.start(&mut out, None);
        let done: Vec<(usize, Value)> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (i, item_json(item, "completed")))
            .collect();
        for (index, item) in done {
            let id = item["id"].clone();
            if item["type"] == "message" {
                let text = item["content"][0]["text"].clone();
                self.event(
                    &mut out,
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text,
                        "logprobs": []}),
                );
                self.event(
                    &mut out,
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                        "part": item["content"][0]}),
                );
            } else {
                self.event(
                    &mut out,
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "arguments": item["arguments"]}),
                );
            }
            self.event(
                &mut out,
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
            );
        }
        let status = answer::status(self.ending.finish.as_deref());
        let response = self.response(&status, answer::usage(self.ending.usage.as_ref()));
        let name = if status.name == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.event(&mut out, name, json!({"response": response}));
        out.freeze()
    }

    /// A failure after the stream started: OpenAI's `error` event.
    pub fn error(&mut self, code: Option<&str>, message: &str) -> Bytes {
        let mut out = BytesMut::new();
        self.event(
            &mut out,
            "error",
            json!({"code": code, "message": message, "param": null}),
        );
        out.freeze()
    }
}

fn item_json(item: &Item, status: &str) -> Value {
    match item {
        Item::Message { id, text } => answer::message_item(id, text, status),
        Item::Call {
            call_id,
            name,
            arguments,
        } => answer::call_item(call_id, name, arguments, status),
    }
}

impl crate::streaming::encode::ChunkEvents for ResponsesFromChat {
    fn on_chunk(&mut self, chunk: &[u8]) -> Bytes {
        ResponsesFromChat::on_chunk(self, chunk)
    }

    fn upstream_error(&mut self, message: &str) -> Bytes {
        ResponsesFromChat::error(self, Some("upstream_error"), message)
    }

    fn error(&mut self, err: &crate::error::ApiError) -> Bytes {
        let body = err.body().error;
        ResponsesFromChat::error(self, body.code.as_deref(), &body.message)
    }

    fn finish(&mut self) -> Bytes {
        ResponsesFromChat::finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(bytes: &[u8]) -> Vec<Value> {
        std::str::from_utf8(bytes)
            .unwrap()
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (name, data) = e.split_once('\n').unwrap();
                let data: Value =
                    serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(name.strip_prefix("event: ").unwrap(), data["type"]);
                data
            })
            .collect()
    }

    #[test]
    fn text_and_a_tool_call_become_items_with_matching_indices() {
        let echo = Echo::of(json!({"model": "c", "input": "x"}).as_object().unwrap());
        let mut s = ResponsesFromChat::new(echo, "req_1".into(), "c".into());
        let mut all = Vec::new();
        for chunk in [
            json!({"id": "chatcmpl-9", "created": 5, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "He"}}]}),
            json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": {"content": "llo"}}]}),
            json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
            json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]}),
            json!({"id": "chatcmpl-9", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 6}}),
        ] {
            all.extend_from_slice(&s.on_chunk(chunk.to_string().as_bytes()));
        }
        all.extend_from_slice(&s.finish());
        let ev = events(&all);
        let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, e) in ev.iter().enumerate() {
            assert_eq!(e["sequence_number"], i);
        }
        assert_eq!(ev[0]["response"]["id"], "resp_9");
        assert_eq!(ev[6]["output_index"], 1);
        assert_eq!(ev[9]["text"], "Hello");
        assert_eq!(ev[12]["arguments"], "{\"a\":1}");
        let done = &ev[14]["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"][1]["call_id"], "call_a");
        assert_eq!(done["usage"]["output_tokens"], 6);
    }
}
