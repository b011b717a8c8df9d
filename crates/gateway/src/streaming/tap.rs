//! `UsageTap`: the client-facing SSE body. Each upstream chunk is forwarded the moment it arrives (one `data:` frame
//! per chunk, no re-serialisation); the usage that Tollgate asked for is kept from a client that did not ask: a
//! usage-only chunk is swallowed, a `usage` riding on a chunk with `choices` (as the LiteLLM proxy sends it) is cut
//! out of that chunk alone. An upstream failure after the first byte becomes one OpenAI error event and ends the
//! stream (no retry is possible then). Delivered text — content, tool-call arguments, reasoning — is collected
//! for the bill and counted against the hold's [`OutputCap`]: an upstream that goes past it is cut off with a
//! `length` finish. Settlement runs on `[DONE]`, on failure, at the cut, or in `Drop` when the client disconnects —
//! dropping the tap also drops the upstream response, which cancels the upstream request.

use crate::billing::settle::{Delivered, Settlement, finish_once};
use crate::streaming::cap::OutputCap;
use crate::streaming::encode::ChunkEncoder;
use crate::streaming::thinking_blocks::Kept;
use api_types::Usage;
use bytes::{BufMut, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use providers::{ChunkStream, UpstreamError, UpstreamErrorKind};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Option<Vec<PeekChoice<'a>>>,
    /// `Some(None)`: the chunk carries `"usage": null` (OpenAI's form on chunks before the usage chunk).
    #[serde(default, deserialize_with = "present")]
    usage: Option<Option<Usage>>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

/// A field that is there, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Usage>>, D::Error> {
    Option::<Usage>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct PeekChoice<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    delta: Option<PeekDelta<'a>>,
    /// Legacy completions stream `choices[].text` instead of a delta.
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PeekDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<PeekToolCall<'a>>>,
    /// Reasoning text (DeepSeek, vLLM, the Anthropic and Gemini adapters); `reasoning` is OpenRouter's name.
    #[serde(default, borrow)]
    reasoning_content: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    reasoning: Option<Lenient<'a>>,
    /// Anthropic thinking blocks, sent whole once signed (rare: parsed only when present).
    #[serde(default)]
    thinking_blocks: Option<Vec<serde_json::Value>>,
}

/// A field that is text with some upstreams and structured with others: only text is counted, and anything else
/// must not make the chunk unreadable.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

impl Lenient<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct PeekToolCall<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<PeekFunction<'a>>,
}

#[derive(Deserialize)]
struct PeekFunction<'a> {
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

pub struct UsageTap {
    upstream: ChunkStream,
    encoder: ChunkEncoder,
    client_wants_usage: bool,
    delivered: Delivered,
    settlement: Option<Settlement>,
    done: bool,
    /// `id`, `created`, `model` of the upstream's chunks, for a usage chunk of our own.
    identity: Option<(String, i64, String)>,
    /// The hold's output limit, if known.
    cap: Option<OutputCap>,
    /// Choices seen (highest index + 1), and whether they are legacy completions (`text`), for the final chunk
    /// of a cut.
    choices: u64,
    legacy: bool,
    /// The stream was cut at the hold: the usage shown and billed is ours, whatever the upstream reported.
    cut: bool,
    /// Thinking blocks and the tool calls after them, kept for the client's next turn.
    thinking: Kept,
    /// Counts this stream in `tollgate_streams_open` while it lives.
    _open: crate::observe::metrics::OpenStream,
}

enum Step {
    Forward(Bytes),
    Skip,
    /// The upstream sent an error event: forward it and end.
    UpstreamErrorEvent(Bytes),
    Garbage,
    /// The chunk would take the answer past the hold: it is withheld and the stream ends.
    Cut,
}

impl UsageTap {
    pub fn new(
        first: Bytes,
        upstream: ChunkStream,
        encoder: ChunkEncoder,
        settlement: Settlement,
        ttft_ms: i64,
    ) -> Self {
        let delivered = Delivered::answered(ttft_ms);
        Self {
            // The first item, already read to choose the channel, goes out first.
            upstream: futures::stream::iter([Ok(first)]).chain(upstream).boxed(),
            client_wants_usage: encoder.wants_usage(),
            encoder,
            delivered,
            _open: settlement.books.metrics.stream_opened(),
            cap: OutputCap::new(settlement.max_output_tokens, &settlement.model),
            settlement: Some(settlement),
            done: false,
            identity: None,
            choices: 0,
            legacy: false,
            cut: false,
            thinking: Kept::default(),
        }
    }

    fn inspect(&mut self, payload: Bytes) -> Step {
        let Ok(peek) = serde_json::from_slice::<Peek<'_>>(&payload) else {
            return Step::Garbage;
        };
        if peek.error.is_some() {
            return Step::UpstreamErrorEvent(payload);
        }
        if self.identity.is_none()
            && let (Some(id), Some(created), Some(model)) = (&peek.id, peek.created, &peek.model)
        {
            self.identity = Some((id.to_string(), created, model.to_string()));
        }
        let choices = peek.choices.unwrap_or_default();
        let before = (
            self.delivered.completion_text.len(),
            self.delivered.tool_calls,
        );
        self.collect(&choices);
        if let Some(cap) = &mut self.cap
            && !cap.admits(&self.delivered.completion_text, before.0)
        {
            self.delivered.completion_text.truncate(before.0);
            self.delivered.tool_calls = before.1;
            return Step::Cut;
        }
        let Some(usage) = peek.usage else {
            return Step::Forward(self.encoder.encode(&payload));
        };
        if let Some(u) = usage {
            self.delivered.usage = Some(u);
        }
        match (self.client_wants_usage, choices.is_empty(), usage) {
            (true, _, _) => Step::Forward(self.encoder.encode(&payload)),
            (false, true, Some(_)) => Step::Skip,
            (false, _, _) => Step::Forward(self.encoder.encode(&without_usage(&payload))),
        }
    }

    /// Adds what the chunk's choices deliver (text, tool-call arguments, reasoning) to `delivered`.
    fn collect(&mut self, choices: &[PeekChoice<'_>]) {
        let text = &mut self.delivered.completion_text;
        for c in choices {
            self.choices = self.choices.max(c.index.unwrap_or(0).saturating_add(1));
            if let Some(t) = &c.text {
                self.legacy = true;
                text.push_str(t);
            }
            let Some(delta) = &c.delta else { continue };
            let reasoning = delta
                .reasoning_content
                .as_ref()
                .or(delta.reasoning.as_ref());
            if let Some(t) = reasoning.and_then(Lenient::text) {
                text.push_str(t);
            }
            if let Some(t) = &delta.content {
                text.push_str(t);
            }
            if let Some(blocks) = &delta.thinking_blocks {
                self.thinking.blocks.extend(blocks.iter().cloned());
            }
            for call in delta.tool_calls.iter().flatten() {
                if let Some(id) = &call.id {
                    self.delivered.tool_calls += 1;
                    if !self.thinking.blocks.is_empty() {
                        self.thinking.tool_call_ids.push(id.to_string());
                    }
                }
                if let Some(args) = call.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                    text.push_str(args);
                }
            }
        }
    }

    fn settle(&mut self) {
        if let Some(s) = &self.settlement {
            std::mem::take(&mut self.thinking).keep(&s.books, s.row.user_id);
        }
        finish_once(&mut self.settlement, &mut self.delivered);
    }

    fn fail(&mut self, err: UpstreamError) -> Bytes {
        let api = self.delivered.upstream_failed(err);
        self.done = true;
        self.settle();
        self.encoder.error(&api)
    }

    /// The upstream went past the hold: the answer ends here as if the upstream had stopped at its limit — a
    /// `length` finish for each choice, then the usage (if asked) and `[DONE]` — and the upstream request is
    /// dropped.
    fn cut(&mut self) -> Bytes {
        self.upstream = futures::stream::empty().boxed();
        self.cut = true;
        self.delivered.ended_early = true;
        self.delivered.error = self.cap.as_ref().map(OutputCap::note);
        let mut out = BytesMut::new();
        if let Ok(chunk) = serde_json::to_vec(&self.length_chunk()) {
            out.put_slice(&self.encoder.encode(&chunk));
        }
        out.put_slice(&self.finish());
        out.freeze()
    }

    fn length_chunk(&self) -> Value {
        let (id, created, model) = self.identity.clone().unwrap_or_default();
        let choice = if self.legacy {
            json!({"text": "", "finish_reason": "length"})
        } else {
            json!({"delta": {}, "finish_reason": "length"})
        };
        let choices: Vec<Value> = (0..self.choices.max(1))
            .map(|index| {
                let mut c = choice.clone();
                c["index"] = index.into();
                c
            })
            .collect();
        let object = if self.legacy {
            "text_completion"
        } else {
            "chat.completion.chunk"
        };
        json!({"id": id, "object": object, "created": created, "model": model, "choices": choices})
    }

    /// The closing frames: when the client asked for usage and the upstream sent none (or the stream was cut at
    /// the hold), a usage chunk of our own (counted with the tokenizer; the settlement then bills exactly those
    /// numbers), then `[DONE]`.
    fn finish(&mut self) -> Bytes {
        self.done = true;
        let mut out = BytesMut::new();
        if self.client_wants_usage
            && (self.delivered.usage.is_none() || self.cut)
            && let Some(settlement) = &self.settlement
        {
            let t = settlement.billed_tokens(&self.delivered);
            let usage = Usage {
                prompt_tokens: t.prompt,
                completion_tokens: t.completion,
                total_tokens: t.prompt + t.completion,
                prompt_tokens_details: None,
                completion_tokens_details: None,
            };
            let (id, created, model) = self.identity.clone().unwrap_or_default();
            let chunk = serde_json::json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [], "usage": usage,
            });
            if let Ok(bytes) = serde_json::to_vec(&chunk) {
                out.put_slice(&self.encoder.encode(&bytes));
            }
            self.delivered.usage = Some(usage);
        }
        self.settle();
        out.put_slice(&self.encoder.done());
        out.freeze()
    }
}

impl Stream for UsageTap {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let next = futures::ready!(this.upstream.poll_next_unpin(cx));
            let out = match next {
                None => this.finish(),
                Some(Err(e)) => this.fail(e),
                Some(Ok(payload)) => match this.inspect(payload) {
                    Step::Forward(b) => b,
                    Step::Skip => continue,
                    Step::Cut => this.cut(),
                    Step::UpstreamErrorEvent(payload) => {
                        this.delivered.upstream_error_event(&payload);
                        this.done = true;
                        this.settle();
                        self.encoder.upstream_error(&payload)
                    }
                    Step::Garbage => this.fail(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream sent an event that is not a JSON chunk",
                    )),
                },
            };
            return Poll::Ready(Some(Ok(out)));
        }
    }
}

impl Drop for UsageTap {
    fn drop(&mut self) {
        if self.settlement.is_some() {
            // The client went away mid-stream: bill what was delivered.
            self.delivered.client_left();
            self.settle();
        }
    }
}

/// The chunk without its top-level `usage`. OpenAI's `,"usage":null` is cut out of the bytes when it is the only
/// mention of `"usage"` (so it cannot be a nested field); anything else is re-serialised.
fn without_usage(payload: &[u8]) -> Vec<u8> {
    const NULL: &[u8] = b",\"usage\":null";
    let mentions = payload.windows(7).filter(|w| w == b"\"usage\"").count();
    let at = payload.windows(NULL.len()).position(|w| w == NULL);
    if let (1, Some(at)) = (mentions, at) {
        return [&payload[..at], &payload[at + NULL.len()..]].concat();
    }
    match serde_json::from_slice::<Map<String, Value>>(payload) {
        Ok(mut chunk) => {
            chunk.remove("usage");
            serde_json::to_vec(&chunk).unwrap_or_else(|_| payload.to_vec())
        }
        Err(_) => payload.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_cut_out_of_a_chunk_with_choices() {
        let null =
            br#"{"id":"c","choices":[{"index":0,"delta":{"content":"usage"}}],"usage":null}"#;
        let object =
            br#"{"id":"c","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}"#;
        let lone = br#"{"id":"c","choices":[],"usage":null}"#;
        for payload in [&null[..], &object[..], &lone[..]] {
            let v: Value = serde_json::from_slice(&without_usage(payload)).unwrap();
            assert!(v.get("usage").is_none(), "{v}");
            assert_eq!(v["id"], "c");
        }
        assert_eq!(without_usage(lone), br#"{"id":"c","choices":[]}"#);
    }
}
