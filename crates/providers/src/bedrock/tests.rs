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

// === against the mock upstream (real HTTP, real signatures, real frames) ===

mod against_the_mock {
    use super::*;
    use crate::ChatProvider as _;
    use crate::test_support::ctx;
    use mock_upstream::{Behavior, MockUpstream, Reply};

    const KEY: &str = "AKIDMOCK|mock-secret-access-key|us-east-1";
    const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

    fn request(stream: bool) -> Map<String, Value> {
        let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 50, "stream": stream, "user": "u-1"});
        body.as_object().unwrap().clone()
    }

    async fn mock() -> MockUpstream {
        let mock = MockUpstream::start().await.unwrap();
        mock.set_accepted_keys(Some(vec![KEY.to_owned()]));
        mock
    }

    #[tokio::test]
    async fn invoke_is_signed_and_answered() {
        let mock = mock().await;
        mock.push(Behavior::Reply(Reply::text("hello there").usage(9, 3)));
        let answer = BedrockAdapter
            .chat(&ctx(&mock.base_url(), KEY), &request(false))
            .await
            .unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["choices"][0]["message"]["content"], "hello there");
        assert_eq!(answer["usage"]["prompt_tokens"], 9);
        assert_eq!(answer["usage"]["completion_tokens"], 3);
        let sent = &mock.chat_requests()[0];
        assert_eq!(
            sent.path,
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
        );
        assert_eq!(sent.body["anthropic_version"], "bedrock-2023-05-31");
        assert!(sent.body.get("model").is_none() && sent.body.get("metadata").is_none());
    }

    #[tokio::test]
    async fn the_stream_is_decoded_into_chunks_with_usage() {
        let mock = mock().await;
        mock.push(Behavior::Reply(Reply::text("one two three").usage(7, 4)));
        let chunks: Vec<Value> = BedrockAdapter
            .chat_stream(&ctx(&mock.base_url(), KEY), &request(true))
            .await
            .unwrap()
            .map(|c| serde_json::from_slice(&c.unwrap()).unwrap())
            .collect()
            .await;
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "one two three");
        let usage = &chunks.last().unwrap()["usage"];
        assert_eq!(
            (
                usage["prompt_tokens"].as_u64(),
                usage["completion_tokens"].as_u64()
            ),
            (Some(7), Some(4))
        );
        assert!(
            mock.chat_requests()[0]
                .path
                .ends_with("/invoke-with-response-stream")
        );
    }

    #[tokio::test]
    async fn a_wrong_secret_is_a_rejected_key() {
        let mock = mock().await;
        let wrong = "AKIDMOCK|not-the-secret|us-east-1";
        let err = BedrockAdapter
            .chat(&ctx(&mock.base_url(), wrong), &request(false))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.error_type.as_deref(), Some("InvalidSignatureException"));
        assert!(
            err.disables_key() && !err.message.contains("not-the-secret"),
            "{err:?}"
        );
        let unknown = "AKIDOTHER|mock-secret-access-key|us-east-1";
        let err = BedrockAdapter
            .chat(&ctx(&mock.base_url(), unknown), &request(true))
            .await
            .unwrap_err();
        assert_eq!(
            err.error_type.as_deref(),
            Some("UnrecognizedClientException")
        );
        assert!(err.disables_key());
    }

    #[tokio::test]
    async fn a_corrupt_or_failing_stream_is_an_error_not_a_panic() {
        let mock = mock().await;
        mock.push(Behavior::GarbageStream);
        let mut s = BedrockAdapter
            .chat_stream(&ctx(&mock.base_url(), KEY), &request(true))
            .await
            .unwrap();
        assert_eq!(
            s.next().await.unwrap().unwrap_err().kind,
            UpstreamErrorKind::Protocol
        );
        mock.push(Behavior::ErrorEventAfter {
            events: 2,
            body: r#"{"message":"boom"}"#.into(),
        });
        let s = BedrockAdapter
            .chat_stream(&ctx(&mock.base_url(), KEY), &request(true))
            .await
            .unwrap();
        let items: Vec<_> = s.collect().await;
        let err = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.status(), Some(500));
        assert!(err.message.contains("boom"));
    }
}
