//! `UsageTap`: the client-facing SSE body. Each upstream chunk is forwarded the moment it arrives (one `data:` frame
//! per chunk, no re-serialisation); the usage-only chunk that Tollgate asked for is swallowed unless the client asked
//! too; an upstream failure after the first byte becomes one OpenAI error event and ends the stream (no retry is
//! possible then). Settlement runs on `[DONE]`, on failure, or in `Drop` when the client disconnects — dropping the
//! tap also drops the upstream response, which cancels the upstream request.

use crate::error::ApiError;
use crate::relay::settle::{Delivered, Settlement};
use crate::streaming::encode::ChunkEncoder;
use api_types::Usage;
use bytes::{BufMut, Bytes, BytesMut};
use futures::Stream;
use providers::{ChunkStream, UpstreamError, UpstreamErrorKind};
use serde::Deserialize;
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
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct PeekChoice<'a> {
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
}

#[derive(Deserialize)]
struct PeekToolCall<'a> {
    #[serde(default)]
    id: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    function: Option<PeekFunction<'a>>,
}

#[derive(Deserialize)]
struct PeekFunction<'a> {
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

pub struct UsageTap {
    first: Option<Bytes>,
    upstream: ChunkStream,
    encoder: ChunkEncoder,
    client_wants_usage: bool,
    delivered: Delivered,
    settlement: Option<Settlement>,
    done: bool,
    /// `id`, `created`, `model` of the upstream's chunks, for a usage chunk of our own.
    identity: Option<(String, i64, String)>,
    /// Counts this stream in `tollgate_streams_open` while it lives.
    _open: crate::observe::metrics::OpenStream,
}

enum Step {
    Forward(Bytes),
    Skip,
    /// The upstream sent an error event: forward it and end.
    UpstreamErrorEvent(Bytes),
    Garbage,
}

impl UsageTap {
    pub fn new(
        first: Bytes,
        upstream: ChunkStream,
        encoder: ChunkEncoder,
        settlement: Settlement,
        ttft_ms: i64,
    ) -> Self {
        let delivered = Delivered {
            status: 200,
            ttft_ms: Some(ttft_ms),
            ..Default::default()
        };
        Self {
            first: Some(first),
            upstream,
            client_wants_usage: encoder.wants_usage(),
            encoder,
            delivered,
            _open: settlement.state.metrics.stream_opened(),
            settlement: Some(settlement),
            done: false,
            identity: None,
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
        for c in &choices {
            if let Some(text) = &c.text {
                self.delivered.completion_text.push_str(text);
            }
            let Some(delta) = &c.delta else { continue };
            if let Some(text) = &delta.content {
                self.delivered.completion_text.push_str(text);
            }
            for call in delta.tool_calls.iter().flatten() {
                if call.id.is_some() {
                    self.delivered.tool_calls += 1;
                }
                if let Some(args) = call.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                    self.delivered.completion_text.push_str(args);
                }
            }
        }
        if let Some(u) = peek.usage {
            self.delivered.usage = Some(u);
            if choices.is_empty() && !self.client_wants_usage {
                return Step::Skip;
            }
        }
        Step::Forward(self.encoder.encode(&payload))
    }

    fn settle(&mut self) {
        if let Some(s) = self.settlement.take() {
            s.finish(std::mem::take(&mut self.delivered));
        }
    }

    fn fail(&mut self, err: UpstreamError) -> Bytes {
        let api = ApiError::Upstream(err);
        self.delivered.status = api.status().as_u16();
        self.delivered.error = Some(api.to_string());
        self.done = true;
        self.settle();
        self.encoder.error(&api)
    }

    /// The closing frames: when the client asked for usage and the upstream sent none, a usage chunk of our own
    /// (counted with the tokenizer; the settlement then bills exactly those numbers), then `[DONE]`.
    fn finish(&mut self) -> Bytes {
        self.done = true;
        let mut out = BytesMut::new();
        if self.client_wants_usage
            && self.delivered.usage.is_none()
            && let Some(settlement) = &self.settlement
        {
            let t = settlement.tokens(&self.delivered);
            let usage = Usage {
                prompt_tokens: t.prompt,
                completion_tokens: t.completion,
                total_tokens: t.prompt + t.completion,
                prompt_tokens_details: None,
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
            let next = match this.first.take() {
                Some(first) => Some(Ok(first)),
                None => match this.upstream.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(item) => item,
                },
            };
            let out = match next {
                None => this.finish(),
                Some(Err(e)) => this.fail(e),
                Some(Ok(payload)) => match this.inspect(payload) {
                    Step::Forward(b) => b,
                    Step::Skip => continue,
                    Step::UpstreamErrorEvent(payload) => {
                        this.delivered.status = 502;
                        this.delivered.error = Some(format!(
                            "upstream sent an error event: {}",
                            String::from_utf8_lossy(&payload)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        ));
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
            self.delivered.status = 499;
            self.delivered.error =
                Some("client closed the connection before the stream ended".to_owned());
            self.settle();
        }
    }
}
