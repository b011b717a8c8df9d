//! Unit tests for the Anthropic adapter's small mappings, plus a few end-to-end checks against a one-shot local
//! HTTP server (headers, error mapping, image download, stream framing).

use super::convert::{clamp_temperature, default_max_tokens, stop_sequences, to_anthropic};
use super::response::{error_from_body, finish_reason};
use super::tools::{function_call_choice, tool_choice};
use super::*;
use crate::ChatProvider;
use crate::error::UpstreamErrorKind;
use crate::media::{MediaCache, MediaFetcher, MediaPolicy};
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Serves exactly one HTTP request with the given answer; the handle yields the raw request (head and body).
async fn serve_once(
    status: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (String, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let handle = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let req = crate::test_support::read_request(&mut sock).await;
        sock.write_all(head.as_bytes()).await.unwrap();
        sock.write_all(&body).await.unwrap();
        req
    });
    (base, handle)
}

fn media() -> Arc<MediaCache> {
    MediaCache::new(
        MediaFetcher::new(MediaPolicy {
            allow_private: true,
            ..MediaPolicy::default()
        })
        .unwrap(),
    )
}

fn ctx(base: &str) -> UpstreamCtx {
    UpstreamCtx {
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        media: media(),
        ..crate::test_support::ctx(base, "sk-ant-test")
    }
}

fn chat_request() -> Map<String, Value> {
    json!({ "model": "claude-3-5-haiku-latest", "messages": [{ "role": "user", "content": "Hi" }] })
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn finish_reasons() {
    for (stop, want) in [
        (Some("end_turn"), "stop"),
        (Some("stop_sequence"), "stop"),
        (Some("max_tokens"), "length"),
        (Some("tool_use"), "tool_calls"),
        (Some("refusal"), "content_filter"),
        (Some("pause_turn"), "stop"),
        (None, "stop"),
    ] {
        assert_eq!(finish_reason(stop), want, "{stop:?}");
    }
}

#[test]
fn max_tokens_defaults_by_family() {
    assert_eq!(default_max_tokens("claude-3-5-sonnet-20241022"), 8192);
    assert_eq!(default_max_tokens("claude-3-5-sonnet-20240620"), 4096);
    assert_eq!(default_max_tokens("claude-3-7-sonnet-latest"), 8192);
    assert_eq!(default_max_tokens("claude-sonnet-4-20250514"), 8192);
    assert_eq!(default_max_tokens("claude-opus-4-1"), 8192);
    assert_eq!(default_max_tokens("claude-3-opus-20240229"), 4096);
    assert_eq!(default_max_tokens("claude-3-haiku-20240307"), 4096);
    assert_eq!(default_max_tokens("claude-2.1"), 4096);
}

#[test]
fn sampling_helpers() {
    assert!((clamp_temperature(1.7) - 1.0).abs() < f64::EPSILON);
    assert!(clamp_temperature(-0.5).abs() < f64::EPSILON);
    assert_eq!(stop_sequences(Some(&json!("x"))), Some(json!(["x"])));
    assert_eq!(stop_sequences(Some(&json!([""]))), None);
    assert_eq!(stop_sequences(None), None);
}

#[test]
fn tool_choices() {
    assert_eq!(
        tool_choice(&json!("auto")).unwrap(),
        json!({"type": "auto"})
    );
    assert_eq!(
        tool_choice(&json!("required")).unwrap(),
        json!({"type": "any"})
    );
    assert_eq!(
        tool_choice(&json!("none")).unwrap(),
        json!({"type": "none"})
    );
    assert_eq!(
        tool_choice(&json!({"type": "function", "function": {"name": "f"}})).unwrap(),
        json!({"type": "tool", "name": "f"})
    );
    assert_eq!(
        function_call_choice(&json!({"name": "g"})).unwrap(),
        json!({"type": "tool", "name": "g"})
    );
    let err = tool_choice(&json!({"type": "allowed_tools"})).unwrap_err();
    assert_eq!(err.kind, UpstreamErrorKind::InvalidInput);
}

#[test]
fn error_bodies_map_type_and_code() {
    let e = error_from_body(
        401,
        br#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_1"}"#,
    );
    assert_eq!(e.error_type.as_deref(), Some("authentication_error"));
    assert_eq!(e.code.as_deref(), Some("invalid_api_key"));
    assert!(e.message.contains("invalid x-api-key"));
    assert!(e.disables_key());
    let e = error_from_body(
        529,
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    assert!(e.is_retryable());
    assert!(!e.disables_key());
    let e = error_from_body(413, b"<html>Request Entity Too Large</html>");
    assert_eq!(e.message, "upstream returned HTTP 413");
    assert_eq!(e.status(), Some(413));
}

#[tokio::test]
async fn http_images_are_downloaded_once_and_inlined() {
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG_1X1)
        .unwrap();
    let (base, server) = serve_once("200 OK", "application/octet-stream", png).await;
    let url = format!("{base}/cat");
    let part = json!({ "type": "image_url", "image_url": { "url": url } });
    let req = json!({ "model": "m", "messages": [{ "role": "user", "content": [part, part] }] });
    let body = to_anthropic(req.as_object().unwrap(), &media(), false)
        .await
        .unwrap();
    let image = json!({ "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": PNG_1X1 } });
    assert_eq!(body["messages"][0]["content"], json!([image, image]));
    assert!(server.await.unwrap().starts_with("GET /cat "));
}

#[tokio::test]
async fn refused_image_download_is_invalid_input() {
    let (base, _server) = serve_once("404 Not Found", "text/plain", b"nope".to_vec()).await;
    let req = json!({ "model": "m", "messages": [{ "role": "user", "content": [
        { "type": "image_url", "image_url": { "url": format!("{base}/missing.png") } }
    ] }] });
    let err = to_anthropic(req.as_object().unwrap(), &media(), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind, UpstreamErrorKind::InvalidInput);
    assert!(err.message.contains("HTTP 404"), "{}", err.message);
}

#[tokio::test]
async fn chat_sends_anthropic_headers_and_converts_answer() {
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
        "content": [{ "type": "text", "text": "Hello!" }], "stop_reason": "end_turn",
        "usage": { "input_tokens": 3, "output_tokens": 2 }
    });
    let (base, server) = serve_once(
        "200 OK",
        "application/json",
        answer.to_string().into_bytes(),
    )
    .await;
    let out = AnthropicAdapter
        .chat(&ctx(&format!("{base}/v1")), &chat_request())
        .await
        .unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(out["usage"]["total_tokens"], 5);
    let req = server.await.unwrap();
    let lower = req.to_lowercase();
    assert!(req.starts_with("POST /v1/messages "), "{req}");
    assert!(lower.contains("x-api-key: sk-ant-test"));
    assert!(lower.contains("anthropic-version: 2023-06-01"));
    assert!(!lower.contains("authorization:"));
    let sent: Value = serde_json::from_str(&req[req.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(sent["max_tokens"], 8192);
    assert!(sent.get("stream").is_none());
}

#[tokio::test]
async fn overloaded_answer_is_a_retryable_status_error() {
    let body =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.to_vec();
    let (base, _server) = serve_once("529 Overloaded", "application/json", body).await;
    let err = AnthropicAdapter
        .chat(&ctx(&base), &chat_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind, UpstreamErrorKind::Status(529));
    assert_eq!(err.error_type.as_deref(), Some("overloaded_error"));
    assert_eq!(err.code.as_deref(), Some("overloaded"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn stream_ends_after_usage_chunk() {
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"m\",\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Yo\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let (base, server) = serve_once("200 OK", "text/event-stream", sse.as_bytes().to_vec()).await;
    let mut req = chat_request();
    req.insert("stream".into(), json!(true));
    let chunks: Vec<Value> = AnthropicAdapter
        .chat_stream(&ctx(&base), &req)
        .await
        .unwrap()
        .map(|c| serde_json::from_slice(&c.unwrap()).unwrap())
        .collect()
        .await;
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Yo");
    assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[3]["usage"]["total_tokens"], 6);
    assert!(server.await.unwrap().contains("\"stream\":true"));
}

#[tokio::test]
async fn cut_stream_is_a_protocol_error() {
    let sse = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"model\":\"m\",\"usage\":{}}}\n\n";
    let (base, _server) = serve_once("200 OK", "text/event-stream", sse.as_bytes().to_vec()).await;
    let items: Vec<_> = AnthropicAdapter
        .chat_stream(&ctx(&base), &chat_request())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1].as_ref().unwrap_err().kind,
        UpstreamErrorKind::Protocol
    );
}

#[tokio::test]
async fn native_relay_keeps_body_and_lets_extra_headers_set_the_version() {
    let (base, server) = serve_once("200 OK", "application/json", b"{}".to_vec()).await;
    let mut c = ctx(&base);
    c.extra_headers
        .insert("Anthropic-Version".into(), "2024-01-01".into());
    c.extra_headers
        .insert("anthropic-beta".into(), "prompt-caching-2024-07-31".into());
    let body = Bytes::from_static(br#"{"model":"claude-x","max_tokens":5,"messages":[]}"#);
    let resp = native::send_native(&c, body).await.unwrap();
    assert_eq!(resp.status(), 200);
    let req = server.await.unwrap().to_lowercase();
    assert_eq!(req.matches("anthropic-version:").count(), 1);
    assert!(req.contains("anthropic-version: 2024-01-01"));
    assert!(req.contains("anthropic-beta: prompt-caching-2024-07-31"));
    assert!(req.ends_with(r#"{"model":"claude-x","max_tokens":5,"messages":[]}"#));
}

#[tokio::test]
async fn thinking_blocks_are_checked_and_kept_only_while_thinking() {
    let call =
        json!({"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}});
    let block = json!({"type": "thinking", "thinking": "t", "signature": "s"});
    let conversation = |blocks: Value, effort: Value| {
        json!({"model": "claude-3-7-sonnet-20250219", "reasoning_effort": effort, "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [call.clone()], "thinking_blocks": blocks},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "ok"},
        ]})
    };
    let convert = async |req: Value| to_anthropic(req.as_object().unwrap(), &media(), false).await;
    let on = convert(conversation(json!([block]), json!("low")))
        .await
        .unwrap();
    assert_eq!(on["messages"][1]["content"][0], block);
    assert_eq!(on["thinking"]["budget_tokens"], 1024);
    // Without thinking the blocks are dropped; a block of another shape is refused, naming where it is.
    let off = convert(conversation(json!([block]), Value::Null))
        .await
        .unwrap();
    assert_eq!(off["messages"][1]["content"][0]["type"], "tool_use");
    let bad = json!([{"type": "thinking", "thinking": "t"}]);
    let err = convert(conversation(bad, json!("low"))).await.unwrap_err();
    assert_eq!(err.kind, UpstreamErrorKind::InvalidInput);
    assert!(
        err.message.contains("messages[1].thinking_blocks[0]"),
        "{}",
        err.message
    );
}
