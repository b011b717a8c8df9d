//! AWS event-stream decoding (`application/vnd.amazon.eventstream`), the body of `invoke-with-response-stream`:
//! binary frames of a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), headers, payload and
//! a CRC32 of everything before it, big-endian. Each `chunk` event's payload is `{"bytes": "<base64>"}` holding one
//! Anthropic stream event, which becomes the [`SseEvent`] the Anthropic stream mapper already takes; `exception`
//! frames become the [`UpstreamError`] of their `:exception-type`.
//!
//! Hand-rolled rather than `aws-smithy-eventstream`: that crate decodes into `aws-smithy-types` messages and pulls
//! that crate in with it, while the framing is the short format below; both CRCs are checked (a corrupt frame is a
//! protocol error, never a panic) and a frame is bounded like an SSE event (decision 0017).

use super::errors::exception_error;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::{EventDecoder, MAX_EVENT_BYTES, ResponseBody, SseEvent};
use crate::transport::EventStream;
use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use std::time::Duration;

const PRELUDE: usize = 12;
/// Prelude plus the trailing message CRC: the smallest frame.
const OVERHEAD: usize = PRELUDE + 4;
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// One decoded frame: its string headers and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
}

impl Frame {
    /// The value of string header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn protocol(message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::Protocol, message)
}

/// Frames out of body bytes pushed as they arrive.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received that are not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame in the buffer, if any.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, UpstreamError> {
        if self.buf.len() < PRELUDE {
            return Ok(None);
        }
        let total = be_u32(&self.buf[0..4]) as usize;
        let headers_len = be_u32(&self.buf[4..8]) as usize;
        if CRC32.checksum(&self.buf[0..8]) != be_u32(&self.buf[8..12]) {
            return Err(protocol(
                "upstream event-stream frame has a bad prelude checksum",
            ));
        }
        if total < OVERHEAD + headers_len || total > MAX_EVENT_BYTES {
            return Err(protocol(
                "upstream event-stream frame has an impossible length",
            ));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        if CRC32.checksum(&frame[..total - 4]) != be_u32(&frame[total - 4..]) {
            return Err(protocol(
                "upstream event-stream frame has a bad message checksum",
            ));
        }
        let headers = parse_headers(&frame[PRELUDE..PRELUDE + headers_len])?;
        let payload = frame.slice(PRELUDE + headers_len..total - 4);
        Ok(Some(Frame { headers, payload }))
    }
}

fn be_u32(b: &[u8]) -> u32 {
    let mut word = [0_u8; 4];
    word.copy_from_slice(&b[..4]);
    u32::from_be_bytes(word)
}

/// Header block: name length (1 byte), name, value type (1 byte), value. String values are kept; the other
/// types are skipped over by their size.
fn parse_headers(mut block: &[u8]) -> Result<Vec<(String, String)>, UpstreamError> {
    let bad = || protocol("upstream event-stream frame has malformed headers");
    let mut out = Vec::new();
    while block.has_remaining() {
        let name_len = usize::from(block.get_u8());
        if block.remaining() < name_len + 1 {
            return Err(bad());
        }
        let name = String::from_utf8_lossy(&block[..name_len]).into_owned();
        block.advance(name_len);
        let size = match block.get_u8() {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                if block.remaining() < 2 {
                    return Err(bad());
                }
                usize::from(block.get_u16())
            }
            _ => return Err(bad()),
        };
        if block.remaining() < size {
            return Err(bad());
        }
        out.push((name, String::from_utf8_lossy(&block[..size]).into_owned()));
        block.advance(size);
    }
    Ok(out)
}

/// A frame as the Anthropic event it carries: `Some` for a `chunk`, `None` for events of other types, an error
/// for an `exception` or `error` message.
pub fn anthropic_event(frame: &Frame) -> Result<Option<SseEvent>, UpstreamError> {
    match frame.header(":message-type") {
        Some("exception") => {
            let kind = frame
                .header(":exception-type")
                .unwrap_or("internalServerException");
            Err(exception_error(kind, &frame.payload))
        }
        Some("error") => {
            let code = frame.header(":error-code").unwrap_or("unknown");
            let message = frame.header(":error-message").unwrap_or_default();
            Err(protocol(format!("upstream stream error {code}: {message}")))
        }
        _ if frame.header(":event-type") == Some("chunk") => {
            #[derive(serde::Deserialize)]
            struct Chunk {
                bytes: String,
            }
            let chunk: Chunk = serde_json::from_slice(&frame.payload)
                .map_err(|_| protocol("upstream sent a chunk without `bytes`"))?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(chunk.bytes.as_bytes())
                .map_err(|_| protocol("upstream sent a chunk whose `bytes` are not base64"))?;
            Ok(Some(SseEvent {
                event: None,
                data: Bytes::from(data),
            }))
        }
        _ => Ok(None),
    }
}

/// [`FrameDecoder`] giving the Anthropic events of the `chunk` frames; a body that ends inside a frame is a protocol
/// error.
#[derive(Default)]
pub struct AnthropicFrames(FrameDecoder);

impl EventDecoder for AnthropicFrames {
    fn push(&mut self, chunk: &[u8]) {
        self.0.push(chunk);
    }

    fn next_event(&mut self) -> Result<Option<SseEvent>, UpstreamError> {
        while let Some(frame) = self.0.next_frame()? {
            if let Some(ev) = anthropic_event(&frame)? {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    fn at_end(&self) -> Option<UpstreamError> {
        (self.0.pending() != 0)
            .then(|| protocol("upstream closed the stream inside an event-stream frame"))
    }
}

/// A response body decoded into the Anthropic events of its chunks, failing with `IdleTimeout` when the body goes
/// silent for `idle`; ends after the first error.
pub fn decode_body(body: impl ResponseBody, idle: Duration) -> EventStream {
    crate::sse::decode_with::<AnthropicFrames>(body, idle)
}
