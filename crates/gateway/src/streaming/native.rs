//! `NativeTap`: typed stream events (`event:` + `data:`) relayed untouched, re-framed as they arrive, while the
//! gateway reads what it needs for the bill through the stream's [`EventProtocol`]: Anthropic Messages events
//! ([`AnthropicEvents`]: input and cache tokens from `message_start`, output tokens from `message_delta`) or
//! OpenAI Responses events ([`crate::streaming::responses::ResponsesEvents`]: `usage` of `response.completed`),
//! plus the delivered text (answer, tool input, thinking), billed when the stream ends early and counted against
//! the hold's [`OutputCap`]: an upstream going past it is cut off with the protocol's own `max_tokens` ending.
//! Settles on the protocol's end event, on failure, at the cut, or in `Drop` when the client disconnects (which
//! also cancels the upstream request).

use crate::billing::paid_tools::{self, ToolApi};
use crate::billing::pricing::TokenCounts;
use crate::billing::settle::{Delivered, Settlement, finish_once};
use crate::error::ApiError;
use crate::streaming::cap::OutputCap;
use api_types::Usage;
use api_types::usage::PromptTokensDetails;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use providers::sse::SseEvent;
use providers::transport::EventStream;
use providers::{UpstreamError, UpstreamErrorKind};
use serde_json::Value;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What a typed event stream means for the bill.
pub trait EventProtocol: Send + Unpin + 'static {
    /// Reads one event's data (usage, delivered text into `delivered`); returns the event's type.
    fn inspect(&mut self, data: &[u8], delivered: &mut Delivered) -> Option<String>;
    /// The usage seen so far, if the stream reported any.
    fn usage(&self) -> Option<Usage>;
    /// The event types that end a stream normally.
    fn is_end(&self, kind: &str) -> bool;
    /// The event type of an upstream error event.
    fn is_error(&self, kind: &str) -> bool {
        kind == "error"
    }
    /// The event sent to the client when the stream fails after its first byte: (name, data).
    fn error_event(&self, err: &ApiError) -> (&'static str, String);
    /// How to describe a stream that ends without its end event.
    fn cut_short(&self) -> &'static str;
    /// The events that end a stream cut at the hold, the way the upstream would have ended it at its output
    /// limit: (name, data) each, `billed` being what the client is charged.
    fn cut_events(&mut self, billed: TokenCounts) -> Vec<(&'static str, String)>;
    /// Whether events are framed with their `event:` name (Gemini's `alt=sse` events have none).
    fn named(&self) -> bool {
        true
    }
    /// Whether the upstream closing the stream now is its normal end (Gemini has no end event: its last response
    /// carries a `finishReason`); otherwise only an [`Self::is_end`] event ends a stream normally.
    fn ended_by_close(&self) -> bool {
        false
    }
}

/// Anthropic Messages stream events.
#[derive(Default)]
pub struct AnthropicEvents {
    /// Input (without cache), cache read, cache creation, output.
    counts: [u64; 5],
    saw_usage: bool,
    /// Index of the content block being streamed, closed by a cut.
    open_block: Option<u64>,
}

pub struct NativeTap<P: EventProtocol = AnthropicEvents> {
    protocol: P,
    upstream: EventStream,
    delivered: Delivered,
    settlement: Option<Settlement>,
    done: bool,
    /// The hold's output limit, if known.
    cap: Option<OutputCap>,
    /// Counts this stream in `tollgate_streams_open` while it lives.
    _open: crate::observe::metrics::OpenStream,
}

fn u(v: &Value, pointer: &str) -> Option<u64> {
    v.pointer(pointer).and_then(Value::as_u64)
}

/// Where the counts of [`usage_from`] are in an Anthropic `usage` object, in its order: input, cache read, cache
/// write (all lifetimes), output, one-hour cache write.
const COUNTS: [&str; 5] = [
    "/input_tokens",
    "/cache_read_input_tokens",
    "/cache_creation_input_tokens",
    "/output_tokens",
    "/cache_creation/ephemeral_1h_input_tokens",
];

/// The output's place in [`COUNTS`].
const OUTPUT: usize = 3;

/// The [`COUNTS`] of the `usage` object at `usage` in `v`.
fn counts_at(v: &Value, usage: &str) -> [Option<u64>; 5] {
    let at = |field: &str| u(v, &format!("{usage}{field}"));
    COUNTS.map(at)
}

/// OpenAI-style usage from Anthropic counts: prompt = input + cache read + cache write.
fn usage_from(counts: [u64; 5]) -> Usage {
    let [input, cache_read, cache_write, output, cache_write_1h] = counts;
    let prompt = input + cache_read + cache_write;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: output,
        total_tokens: prompt + output,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: cache_read,
            cache_write_tokens: cache_write,
            cache_write_1h_tokens: cache_write_1h,
            audio_tokens: 0,
        }),
        completion_tokens_details: None,
    }
}

/// Usage and text of a complete Anthropic `message`, for its settlement.
pub fn delivered_from_message(body: &[u8], ttft_ms: i64) -> Delivered {
    let mut d = Delivered::answered(ttft_ms);
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return d;
    };
    if v.get("usage").is_some() {
        d.usage = Some(usage_from(counts_at(&v, "/usage").map(|n| n.unwrap_or(0))));
    }
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            d.completion_text.push_str(t);
        }
        if block.get("type").and_then(Value::as_str) == Some("tool_use") {
            d.tool_calls += 1;
        }
    }
    d
}

impl<P: EventProtocol> NativeTap<P> {
    pub fn new(
        protocol: P,
        first: SseEvent,
        upstream: EventStream,
        settlement: Settlement,
        ttft_ms: i64,
    ) -> Self {
        Self {
            protocol,
            // The first item, already read to choose the channel, goes out first.
            upstream: futures::stream::iter([Ok(first)]).chain(upstream).boxed(),
            delivered: Delivered::answered(ttft_ms),
            _open: settlement.books.metrics.stream_opened(),
            cap: OutputCap::new(settlement.max_output_tokens, &settlement.model),
            settlement: Some(settlement),
            done: false,
        }
    }

    fn settle(&mut self) {
        if let Some(u) = self.protocol.usage() {
            self.delivered.usage = Some(u);
        }
        finish_once(&mut self.settlement, &mut self.delivered);
    }

    fn fail(&mut self, err: UpstreamError) -> Bytes {
        let api = self.delivered.upstream_failed(err);
        self.done = true;
        self.settle();
        let (name, data) = self.protocol.error_event(&api);
        self.frame(name, data.as_bytes())
    }

    /// One event for the client, named when the protocol names its events.
    fn frame(&self, name: &str, data: &[u8]) -> Bytes {
        super::sse::frame(self.protocol.named().then_some(name), data)
    }

    /// Reads one event; `false` when the text it delivers would go past the hold (the event is then withheld and
    /// its text not kept).
    fn inspect_within_cap(&mut self, data: &[u8]) -> (Option<String>, bool) {
        let before = (
            self.delivered.completion_text.len(),
            self.delivered.tool_calls,
        );
        let kind = self.protocol.inspect(data, &mut self.delivered);
        let Some(cap) = &mut self.cap else {
            return (kind, true);
        };
        if cap.admits(&self.delivered.completion_text, before.0) {
            return (kind, true);
        }
        self.delivered.completion_text.truncate(before.0);
        self.delivered.tool_calls = before.1;
        (kind, false)
    }

    /// The upstream went past the hold: the protocol's closing events, as if it had stopped at its limit; the
    /// upstream request is dropped.
    fn cut(&mut self) -> Bytes {
        self.upstream = futures::stream::empty().boxed();
        self.done = true;
        self.delivered.ended_early = true;
        self.delivered.error = self.cap.as_ref().map(OutputCap::note);
        if let Some(u) = self.protocol.usage() {
            self.delivered.usage = Some(u);
        }
        let billed = self
            .settlement
            .as_ref()
            .map(|s| s.billed_tokens(&self.delivered))
            .unwrap_or_default();
        let mut out = BytesMut::new();
        let named = self.protocol.named();
        for (name, data) in self.protocol.cut_events(billed) {
            super::sse::write(&mut out, named.then_some(name), data.as_bytes());
        }
        self.settle();
        out.freeze()
    }
}

impl EventProtocol for AnthropicEvents {
    fn usage(&self) -> Option<Usage> {
        self.saw_usage.then(|| usage_from(self.counts))
    }

    fn is_end(&self, kind: &str) -> bool {
        kind == "message_stop"
    }

    fn error_event(&self, err: &ApiError) -> (&'static str, String) {
        let body = serde_json::json!({"type": "error", "error": {"type": err.anthropic_type(), "message": err.to_string()}});
        ("error", body.to_string())
    }

    fn cut_short(&self) -> &'static str {
        "upstream closed the stream before message_stop"
    }

    fn cut_events(&mut self, billed: TokenCounts) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(index) = self.open_block.take() {
            let stop = serde_json::json!({"type": "content_block_stop", "index": index});
            out.push(("content_block_stop", stop.to_string()));
        }
        let delta = serde_json::json!({"type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
            "usage": {"output_tokens": billed.completion}});
        out.push(("message_delta", delta.to_string()));
        out.push(("message_stop", r#"{"type":"message_stop"}"#.to_owned()));
        out
    }

    fn inspect(&mut self, data: &[u8], delivered: &mut Delivered) -> Option<String> {
        let v: Value = serde_json::from_slice(data).ok()?;
        let kind = v.get("type").and_then(Value::as_str)?.to_owned();
        match kind.as_str() {
            "message_start" => {
                self.saw_usage = true;
                self.counts = counts_at(&v, "/message/usage").map(|n| n.unwrap_or(0));
            }
            "content_block_start" => {
                self.open_block = u(&v, "/index");
                match v.pointer("/content_block/type").and_then(Value::as_str) {
                    Some("tool_use") => delivered.tool_calls += 1,
                    // A server tool (web search…) ran on Anthropic's side: one call of it.
                    Some("server_tool_use") => {
                        let name = v.pointer("/content_block/name").and_then(Value::as_str);
                        paid_tools::add_calls(
                            &mut delivered.builtin_calls,
                            name.unwrap_or("server_tool"),
                            1,
                        );
                    }
                    _ => {}
                }
            }
            "content_block_stop" => self.open_block = None,
            "content_block_delta" => {
                for p in ["/delta/text", "/delta/partial_json", "/delta/thinking"] {
                    if let Some(t) = v.pointer(p).and_then(Value::as_str) {
                        delivered.completion_text.push_str(t);
                    }
                }
            }
            "message_delta" => {
                paid_tools::at_least(
                    &mut delivered.builtin_calls,
                    paid_tools::reported_calls(ToolApi::Messages, &v),
                );
                // Cumulative counts; newer API versions repeat the input counts here too (a zero there does not
                // undo message_start's).
                for (i, n) in counts_at(&v, "/usage").into_iter().enumerate() {
                    if let Some(n) = n.filter(|n| *n > 0 || i == OUTPUT) {
                        self.counts[i] = n;
                    }
                }
            }
            _ => {}
        }
        Some(kind)
    }
}

impl<P: EventProtocol> Stream for NativeTap<P> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let next = futures::ready!(this.upstream.poll_next_unpin(cx));
        let out = match next {
            None if this.protocol.ended_by_close() => {
                this.done = true;
                this.settle();
                return Poll::Ready(None);
            }
            None => {
                let why = this.protocol.cut_short();
                this.fail(UpstreamError::new(UpstreamErrorKind::Protocol, why))
            }
            Some(Err(e)) => this.fail(e),
            Some(Ok(ev)) => {
                let (kind, within_cap) = this.inspect_within_cap(&ev.data);
                if !within_cap {
                    return Poll::Ready(Some(Ok(this.cut())));
                }
                let name = ev
                    .event
                    .as_deref()
                    .or(kind.as_deref())
                    .unwrap_or("message")
                    .to_owned();
                match kind.as_deref() {
                    Some(k) if this.protocol.is_end(k) => {
                        this.done = true;
                        this.settle();
                    }
                    Some(k) if this.protocol.is_error(k) => {
                        this.delivered.upstream_error_event(&ev.data);
                        this.done = true;
                        this.settle();
                        // Whatever the upstream echoed of a credential never reaches the client.
                        let text = String::from_utf8_lossy(&ev.data);
                        return Poll::Ready(Some(Ok(
                            this.frame(&name, providers::scrub::secrets(&text, None).as_bytes())
                        )));
                    }
                    _ => {}
                }
                this.frame(&name, &ev.data)
            }
        };
        Poll::Ready(Some(Ok(out)))
    }
}

impl<P: EventProtocol> Drop for NativeTap<P> {
    fn drop(&mut self) {
        if self.settlement.is_some() {
            self.delivered.client_left();
            self.settle();
        }
    }
}
