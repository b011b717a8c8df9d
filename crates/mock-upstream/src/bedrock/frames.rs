//! AWS event-stream frames as Bedrock writes them: prelude (total length, headers length, CRC32), string headers,
//! payload, CRC32 of all before it. A chunk's payload is `{"bytes": "<base64 of one Anthropic event>"}`.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// One frame with string headers (type 7).
pub(crate) fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in headers {
        block.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        block.extend_from_slice(name.as_bytes());
        block.push(7);
        block.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        block.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(16 + block.len() + payload.len()).unwrap_or(u32::MAX);
    let headers_len = u32::try_from(block.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(16 + block.len() + payload.len());
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&headers_len.to_be_bytes());
    out.extend_from_slice(&CRC32.checksum(&out).to_be_bytes());
    out.extend_from_slice(&block);
    out.extend_from_slice(payload);
    out.extend_from_slice(&CRC32.checksum(&out).to_be_bytes());
    out
}

/// A `chunk` event carrying one Anthropic stream event.
pub(crate) fn chunk(event: &Value) -> Bytes {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    let payload = json!({ "bytes": b64 }).to_string();
    let headers = [
        (":event-type", "chunk"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ];
    Bytes::from(frame(&headers, payload.as_bytes()))
}

/// An `exception` message (`throttlingException`, `internalServerException`, …) with a JSON payload.
pub(crate) fn exception(kind: &str, payload: &str) -> Bytes {
    let headers = [
        (":exception-type", kind),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    ];
    Bytes::from(frame(&headers, payload.as_bytes()))
}

/// A chunk frame whose message checksum is wrong.
pub(crate) fn corrupt() -> Bytes {
    let mut bytes = chunk(&json!({"type": "ping"})).to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    Bytes::from(bytes)
}
