//! Server-sent-events decoding: upstream body bytes in, events out. The single place that knows SSE framing.
//!
//! Hand-rolled rather than `eventsource-stream` because the relay forwards each event's `data` without copying it
//! (the payload is a frozen slice of the receive buffer) and must bound the size of one event; the framing rules we
//! need (fields `data`/`event`, comments, `\n` or `\r\n` line ends, blank line dispatches) fit in this file.

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::transport::EventStream;
use bytes::{Bytes, BytesMut};
use futures::stream::{Stream, StreamExt};
use std::time::Duration;

/// Largest single event accepted from an upstream (a huge base64 image in a chunk stays well below).
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names its events; OpenAI does not).
    pub event: Option<String>,
    pub data: Bytes,
}

#[derive(Default)]
pub struct SseDecoder {
    buf: BytesMut,
    data: Option<Bytes>,
    more_data: Option<BytesMut>,
    event: Option<String>,
}

impl SseDecoder {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Next complete event in the buffer, if any.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamError> {
        loop {
            let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > MAX_EVENT_BYTES {
                    return Err(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream sent an oversized event",
                    ));
                }
                return Ok(None);
            };
            let mut line = self.buf.split_to(nl + 1).freeze();
            line.truncate(nl);
            if line.last() == Some(&b'\r') {
                line.truncate(nl - 1);
            }
            if line.is_empty() {
                if let Some(ev) = self.dispatch() {
                    return Ok(Some(ev));
                }
                continue;
            }
            if line[0] == b':' {
                continue; // comment / keep-alive
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => {
                    let value_start = if line.get(i + 1) == Some(&b' ') {
                        i + 2
                    } else {
                        i + 1
                    };
                    (line.slice(..i), line.slice(value_start..))
                }
                None => (line.clone(), Bytes::new()),
            };
            match &field[..] {
                b"data" => self.add_data(value)?,
                b"event" => self.event = Some(String::from_utf8_lossy(&value).into_owned()),
                _ => {} // id, retry and unknown fields are irrelevant to a relay
            }
        }
    }

    fn add_data(&mut self, value: Bytes) -> Result<(), UpstreamError> {
        match (&mut self.data, &mut self.more_data) {
            (None, _) => self.data = Some(value),
            (Some(first), more) => {
                let joined = more.get_or_insert_with(|| BytesMut::from(&first[..]));
                if joined.len() + value.len() > MAX_EVENT_BYTES {
                    return Err(UpstreamError::new(
                        UpstreamErrorKind::Protocol,
                        "upstream sent an oversized event",
                    ));
                }
                joined.extend_from_slice(b"\n");
                joined.extend_from_slice(&value);
            }
        }
        Ok(())
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = match (self.data.take(), self.more_data.take()) {
            (_, Some(joined)) => joined.freeze(),
            (Some(d), None) => d,
            (None, None) => return None,
        };
        Some(SseEvent { event, data })
    }
}

/// An incremental decoder of a response body into events: SSE ([`SseDecoder`]), or another framing turned into the
/// same events (Bedrock's event stream).
pub trait EventDecoder: Default + Send + 'static {
    fn push(&mut self, chunk: &[u8]);
    /// The next whole event, if one is buffered.
    fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamError>;
    /// The error when the body ends here; `None`: a clean end.
    fn at_end(&self) -> Option<UpstreamError> {
        None
    }
}

impl EventDecoder for SseDecoder {
    fn push(&mut self, chunk: &[u8]) {
        SseDecoder::push(self, chunk);
    }

    fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamError> {
        SseDecoder::next_event(self)
    }
}

/// An upstream response body as the HTTP client yields it: what the decoders below read.
pub trait ResponseBody:
    Stream<Item = Result<Bytes, crate::client::BodyError>> + Send + 'static
{
}

impl<S: Stream<Item = Result<Bytes, crate::client::BodyError>> + Send + 'static> ResponseBody
    for S
{
}

/// Decodes a response body into events, failing with `IdleTimeout` when the body goes silent for `idle`.
pub fn decode_body(body: impl ResponseBody, idle: Duration) -> EventStream {
    decode_with::<SseDecoder>(body, idle)
}

/// Decodes a response body with `D`, failing with `IdleTimeout` when the body goes silent for `idle`; the stream
/// ends after its first error.
pub fn decode_with<D: EventDecoder>(body: impl ResponseBody, idle: Duration) -> EventStream {
    let state = (Box::pin(body), D::default(), false);
    futures::stream::unfold(state, move |(mut body, mut dec, done)| async move {
        if done {
            return None;
        }
        loop {
            match dec.next_event() {
                Ok(Some(ev)) => return Some((Ok(ev), (body, dec, false))),
                Ok(None) => {}
                Err(e) => return Some((Err(e), (body, dec, true))),
            }
            let failure = match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    dec.push(&chunk);
                    continue;
                }
                // EOF: a half-received SSE event is discarded, as the SSE spec says; other framings may object.
                Ok(None) => dec.at_end()?,
                Err(_) => UpstreamError::new(
                    UpstreamErrorKind::IdleTimeout(idle),
                    format!("upstream stream was idle for more than {}s", idle.as_secs()),
                ),
                Ok(Some(Err(e))) => UpstreamError::new(
                    UpstreamErrorKind::Protocol,
                    format!("upstream connection broke mid-stream: {e}"),
                ),
            };
            return Some((Err(failure), (body, dec, true)));
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests;
