//! Bedrock: body, path, frames (whole, split, corrupted) and their Anthropic events.

use super::eventstream::{FrameDecoder, anthropic_event, decode_body};
use super::*;
use base64::Engine as _;
use futures::StreamExt;
use std::time::Duration;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// One event-stream frame with string headers.
fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in headers {
        block.push(u8::try_from(name.len()).unwrap());
        block.extend_from_slice(name.as_bytes());
        block.push(7);
        block.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        block.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(16 + block.len() + payload.len()).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&u32::try_from(block.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&CRC32.checksum(&out).to_be_bytes());
    out.extend_from_slice(&block);
    out.extend_from_slice(payload);
    out.extend_from_slice(&CRC32.checksum(&out).to_be_bytes());
    out
}

fn chunk(event: &Value) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    let payload = json!({ "bytes": b64 }).to_string();
    frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

#[test]
fn body_loses_model_stream_and_metadata() {
    let anthropic = json!({"model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "max_tokens": 5,
        "messages": [], "stream": true, "metadata": {"user_id": "u"}});
    let (model, body) = bedrock_body(anthropic).unwrap();
    assert_eq!(model, "anthropic.claude-3-5-sonnet-20240620-v1:0");
    assert_eq!(
        body,
        json!({"max_tokens": 5, "messages": [], "anthropic_version": "bedrock-2023-05-31"})
    );
}

#[test]
fn model_id_is_one_encoded_segment() {
    assert_eq!(
        invoke_path("anthropic.claude-3-5-sonnet-20240620-v1:0", true),
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream"
    );
    assert_eq!(
        invoke_path("arn:aws:x/y", false),
        "/model/arn%3Aaws%3Ax%2Fy/invoke"
    );
}

#[test]
fn frames_split_anywhere_decode_to_anthropic_events() {
    let event = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}});
    let bytes = [chunk(&event), chunk(&json!({"type": "message_stop"}))].concat();
    let mut dec = FrameDecoder::default();
    let mut events = Vec::new();
    for piece in bytes.chunks(7) {
        dec.push(piece);
        while let Some(f) = dec.next_frame().unwrap() {
            events.push(anthropic_event(&f).unwrap().unwrap());
        }
    }
    assert_eq!(dec.pending(), 0);
    assert_eq!(events.len(), 2);
    assert_eq!(
        serde_json::from_slice::<Value>(&events[0].data).unwrap(),
        event
    );
}

#[test]
fn corrupted_frames_are_protocol_errors() {
    let good = chunk(&json!({"type": "ping"}));
    for at in [2, 9, 20, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x55;
        let mut dec = FrameDecoder::default();
        dec.push(&bad);
        let err = dec.next_frame().unwrap_err();
        assert_eq!(err.kind, UpstreamErrorKind::Protocol, "byte {at}: {err}");
    }
}

#[test]
fn exception_frames_are_errors_of_their_status() {
    let bytes = frame(
        &[
            (":exception-type", "throttlingException"),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        br#"{"message":"Too many tokens, please wait before trying again."}"#,
    );
    let mut dec = FrameDecoder::default();
    dec.push(&bytes);
    let err = anthropic_event(&dec.next_frame().unwrap().unwrap()).unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_body_cut_inside_a_frame_fails() {
    let whole = chunk(&json!({"type": "ping"}));
    let cut = Bytes::from(whole[..whole.len() - 3].to_vec());
    let body = futures::stream::iter([Ok::<_, crate::client::BodyError>(cut)]);
    let got: Vec<_> = decode_body(body, Duration::from_secs(1)).collect().await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].as_ref().unwrap_err().kind,
        UpstreamErrorKind::Protocol
    );
}
