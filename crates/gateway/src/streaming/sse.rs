//! The one SSE writer: every frame Tollgate sends a client (OpenAI `data:` chunks, Anthropic and Responses named
//! events) is written here, so the framing (`event:` line, one `data:` line, blank line) exists once. The payloads
//! are single-line JSON, so no `data:` continuation lines are needed.

use bytes::{BufMut, Bytes, BytesMut};

/// Appends one frame to `out`: `event: {name}` when named, then `data: {data}` and the blank line.
pub fn write(out: &mut BytesMut, event: Option<&str>, data: &[u8]) {
    if let Some(name) = event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_slice(b"\n");
    }
    out.put_slice(b"data: ");
    out.put_slice(data);
    out.put_slice(b"\n\n");
}

/// One frame on its own.
pub fn frame(event: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + event.map_or(0, str::len) + 16);
    write(&mut out, event, data);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_unnamed_frames() {
        assert_eq!(&frame(None, b"{}")[..], b"data: {}\n\n");
        assert_eq!(
            &frame(Some("message_stop"), b"{\"type\":\"message_stop\"}")[..],
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
    }
}
