//! `POST /v1/embeddings`, `/v1/moderations`, `/v1/rerank`: relayed to the channels that serve them, billed by input
//! tokens (the upstream's count, the tokenizer's without one), with failover, a log row, and nothing charged when
//! they fail.

use crate::harness::{
    Gw, KEY, assert_content_type, channel_toml, expect_error, expect_param, first_sent, last_sent,
    price_toml, request_id, sse_events,
};
use mock_upstream::{Behavior, MockUpstream};
use serde_json::{Value, json};

const TOML: &str = concat!(
    channel_toml!(
        "first",
        "openai",
        0,
        "up-key-1",
        [
            "text-embedding-3-small",
            "omni-moderation-latest",
            "jina-reranker-v2",
            "gpt-3.5-turbo-instruct",
            "dall-e-3",
            "gpt-4o",
            "tts-1",
            "whisper-1"
        ],
        "priority = 10"
    ),
    channel_toml!(
        "second",
        "openai",
        1,
        "up-key-2",
        ["text-embedding-3-small"]
    ),
    channel_toml!("claude-only", "anthropic", 0, "up-key-3", ["claude-embed"]),
    crate::harness::alice_toml!(),
    price_toml!("text-embedding-3-small", 1000000),
    price_toml!("claude-embed", 1000000),
    price_toml!("omni-moderation-latest", 1000000),
    price_toml!("jina-reranker-v2", 1000000),
    price_toml!("gpt-3.5-turbo-instruct", 1000000, 2000000),
    price_toml!("gpt-4o", 2000000, 8000000),
    price_toml!("dall-e-3", per_request = 40000),
    price_toml!("tts-1", 15000000),
    price_toml!("whisper-1", 100000000),
    price_toml!("dall-e-3:1024x1792", per_request = 80000),
    price_toml!("dall-e-3:1024x1024:hd", per_request = 80000),
);

/// Two OpenAI mocks behind `TOML` (the first also stands behind the anthropic channel), and the gateway.
async fn deployment() -> (MockUpstream, MockUpstream, Gw) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    let gw = Gw::start(TOML, &[&a, &b], |_| {}).await;
    (a, b, gw)
}

async fn embed(gw: &Gw, body: Value) -> reqwest::Response {
    post(gw, "/v1/embeddings", body).await
}

async fn post(gw: &Gw, path: &str, body: Value) -> reqwest::Response {
    gw.post_as(KEY, path, &body).await
}

#[tokio::test]
async fn embeddings_are_relayed_billed_by_input_tokens_and_fail_over() {
    let (a, _b, gw) = deployment().await;

    // Two inputs, 3 + 2 words: the mock reports 5 prompt tokens; 5 × $1/M = 5 micro-units.
    let resp = embed(
        &gw,
        json!({"model": "text-embedding-3-small", "input": ["hello there world", "good bye"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "list");
    assert_eq!(answer["data"].as_array().unwrap().len(), 2);
    assert_eq!(answer["data"][1]["index"], 1);
    assert_eq!(answer["usage"]["prompt_tokens"], 5);
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (5, 0, 5)
    );
    assert_eq!(row.model.as_deref(), Some("text-embedding-3-small"));
    assert_eq!(row.status, 200);
    assert!(!row.stream);
    // The body went upstream as the client wrote it, to the higher-priority channel with its own key.
    let sent = first_sent(&a, "/embeddings");
    assert_eq!(sent.body["input"][0], "hello there world");
    assert_eq!(gw.user("alice").await.balance, 10_000_000 - 5);

    // A 500 on the first channel moves to the second; charged once.
    a.push(Behavior::status(
        500,
        r#"{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"#,
    ));
    let resp = embed(
        &gw,
        json!({"model": "text-embedding-3-small", "input": "one two"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.retries, row.cost), (1, 2));
    assert_eq!(gw.user("alice").await.balance, 10_000_000 - 7);

    // Token ids count as given.
    let resp = embed(
        &gw,
        json!({"model": "text-embedding-3-small", "input": [[1, 2, 3, 4]]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    gw.logs(3).await;

    // Refusals cost nothing and say what is wrong.
    expect_param(
        embed(&gw, json!({"model": "text-embedding-3-small"})).await,
        "input",
    )
    .await;
    expect_param(embed(&gw, json!({"input": "x"})).await, "model").await;
    expect_error(
        embed(&gw, json!({"model": "nope", "input": "x"})).await,
        404,
        Some("model_not_found"),
    )
    .await;
    // Served only by a kind without embeddings: a clear 400 naming the model.
    expect_param(
        embed(&gw, json!({"model": "claude-embed", "input": "x"})).await,
        "model",
    )
    .await;
    refused_upstream_costs_nothing(&gw, &a, "/v1/embeddings", json!({"model": "text-embedding-3-small", "input": "x"}), r#"{"error":{"message":"too long","type":"invalid_request_error","param":"input","code":null}}"#, None).await;
    let balance = gw.user("alice").await.balance;
    assert_eq!(
        balance,
        10_000_000 - 7 - 4,
        "only the three served requests were charged"
    );
    let resp = gw
        .post_anon(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": "x"}),
        )
        .await;
    expect_error(resp, 401, Some("missing_api_key")).await;
    gw.stop().await;
}

#[tokio::test]
async fn moderations_and_rerank_are_relayed_and_billed() {
    let (a, _b, gw) = deployment().await;

    // No model: OpenAI's default is used (and named upstream); no usage reported: the tokenizer counts.
    let resp = post(
        &gw,
        "/v1/moderations",
        json!({"input": ["I will kill the process", "hello"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["results"].as_array().unwrap().len(), 2);
    assert_eq!(answer["results"][0]["flagged"], true);
    assert_eq!(answer["results"][1]["flagged"], false);
    let sent = first_sent(&a, "/moderations");
    assert_eq!(sent.body["model"], "omni-moderation-latest");
    let row = gw.log_for(&rid).await;
    assert_eq!(row.model.as_deref(), Some("omni-moderation-latest"));
    assert!(row.prompt_tokens >= 6, "counted by the tokenizer: {row:?}");
    assert_eq!(row.cost, row.prompt_tokens);
    expect_param(
        post(
            &gw,
            "/v1/moderations",
            json!({"input": [{"type": "audio"}]}),
        )
        .await,
        "input",
    )
    .await;

    // Rerank: Jina-style answer with usage.total_tokens (3 + 3 + 2 + 2 words = 10).
    let resp = post(
        &gw,
        "/v1/rerank",
        json!({"model": "jina-reranker-v2", "query": "rust web gateway",
               "documents": ["a rust gateway", {"text": "cooking pasta"}, "web things"], "top_n": 2}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["index"], 0);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.cost), (10, 10));
    expect_param(
        post(
            &gw,
            "/v1/rerank",
            json!({"model": "jina-reranker-v2", "query": "x", "documents": []}),
        )
        .await,
        "documents",
    )
    .await;
    expect_param(
        post(
            &gw,
            "/v1/rerank",
            json!({"model": "jina-reranker-v2", "documents": ["a"]}),
        )
        .await,
        "query",
    )
    .await;
    gw.stop().await;
}

#[tokio::test]
async fn legacy_completions_plain_and_streamed_are_billed_for_both_sides() {
    let (a, _b, gw) = deployment().await;
    let model = "gpt-3.5-turbo-instruct";

    // 5 prompt words, 8 answer words: 5 × $1/M + 8 × $2/M = 21 micro-units.
    let resp = post(
        &gw,
        "/v1/completions",
        json!({"model": model, "prompt": "Say this is a test"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["choices"][0]["text"], mock_upstream::DEFAULT_TEXT);
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (5, 8, 21)
    );
    assert!(!row.stream);

    // Streamed without asking for usage: the gateway asks upstream, bills it, and strips the usage chunk.
    let resp = post(
        &gw,
        "/v1/completions",
        json!({"model": model, "prompt": "Say this is a test", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/event-stream");
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    let data = crate::harness::sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        chunks.iter().all(|c| c.get("usage").is_none()),
        "usage stripped: {text}"
    );
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(streamed, mock_upstream::DEFAULT_TEXT);
    let sent = last_sent(&a, "/v1/completions");
    assert_eq!(sent.body["stream_options"]["include_usage"], true);
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (5, 8, 21)
    );
    assert!(row.stream);

    // Asked for: the usage chunk reaches the client.
    let resp = post(
        &gw,
        "/v1/completions",
        json!({"model": model, "prompt": ["a b", "c"], "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    let text = resp.text().await.unwrap();
    let data = crate::harness::sse_data(&text);
    let usage: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(usage["usage"]["prompt_tokens"], 3);

    // The hold covers max_tokens (default 16); bad values are refused before anything is sent.
    expect_param(
        post(
            &gw,
            "/v1/completions",
            json!({"model": model, "prompt": "x", "max_tokens": 0}),
        )
        .await,
        "max_tokens",
    )
    .await;
    expect_param(
        post(&gw, "/v1/completions", json!({"model": model})).await,
        "prompt",
    )
    .await;
    gw.stop().await;
}

#[tokio::test]
async fn images_are_billed_per_image_by_size_and_quality() {
    let (a, _b, gw) = deployment().await;
    let start = gw.user("alice").await.balance;
    let mut charged = 0;
    for (body, each) in [
        (
            json!({"model": "dall-e-3", "prompt": "a cat", "n": 2, "size": "1024x1024"}),
            40_000,
        ),
        (
            json!({"model": "dall-e-3", "prompt": "a cat", "size": "1024x1792"}),
            80_000,
        ),
        (
            json!({"model": "dall-e-3", "prompt": "a cat", "size": "1024x1024", "quality": "hd",
                "response_format": "b64_json"}),
            80_000,
        ),
    ] {
        let n = body["n"].as_i64().unwrap_or(1);
        let resp = post(&gw, "/v1/images/generations", body.clone()).await;
        assert_eq!(resp.status(), 200, "{body}");
        let rid = request_id(&resp);
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer["data"].as_array().unwrap().len() as i64, n);
        let row = gw.log_for(&rid).await;
        assert_eq!(row.cost, each * n, "{body}");
        charged += each * n;
    }
    assert_eq!(gw.user("alice").await.balance, start - charged);

    // A refused generation costs nothing; bad shapes are refused before anything is sent.
    refused_upstream_costs_nothing(&gw, &a, "/v1/images/generations", json!({"model": "dall-e-3", "prompt": "x"}), r#"{"error":{"message":"Your request was rejected by the safety system.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}"#, Some("content_policy_violation")).await;
    for (body, param) in [
        (json!({"model": "dall-e-3"}), "prompt"),
        (json!({"model": "dall-e-3", "prompt": "x", "n": 11}), "n"),
        (
            json!({"model": "dall-e-3", "prompt": "x", "stream": true}),
            "stream",
        ),
    ] {
        expect_param(post(&gw, "/v1/images/generations", body).await, param).await;
    }
    assert_eq!(gw.user("alice").await.balance, start - charged);
    gw.stop().await;
}

#[tokio::test]
async fn responses_are_relayed_and_billed_from_their_usage() {
    let (a, _b, gw) = deployment().await;
    // 3 input words, 8 output words: 3 × $2/M + 8 × $8/M = 70 micro-units.
    let resp = post(
        &gw,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "tell me something", "instructions": "be brief"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["object"], "response");
    assert_eq!(
        answer["output"][0]["content"][0]["text"],
        mock_upstream::DEFAULT_TEXT
    );
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (3, 8, 70)
    );
    let sent = first_sent(&a, "/v1/responses");
    assert_eq!(sent.body["instructions"], "be brief");

    // Input items work too; a malformed stream flag and a missing input are clear 400s. (Models only other kinds
    // serve go through chat: `responses_via_chat`.)
    let resp = post(
        &gw,
        "/v1/responses",
        json!({"model": "gpt-4o",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    for (body, param) in [
        (
            json!({"model": "gpt-4o", "input": "x", "stream": "yes"}),
            "stream",
        ),
        (json!({"model": "gpt-4o"}), "input"),
    ] {
        expect_param(post(&gw, "/v1/responses", body).await, param).await;
    }
    expect_error(
        gw.get_as(KEY, "/v1/responses/resp_123").await,
        501,
        Some("not_implemented"),
    )
    .await;
    gw.stop().await;
}

#[tokio::test]
async fn responses_stream_their_typed_events_and_bill_the_completed_usage() {
    let (_a, _b, gw) = deployment().await;
    let resp = post(
        &gw,
        "/v1/responses",
        json!({"model": "gpt-4o", "input": "tell me something", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/event-stream");
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    // Every event keeps its name, in order, and its data's `type` matches it.
    let events = sse_events(&text);
    assert_eq!(events.first().unwrap().0, "response.created");
    assert_eq!(events.last().unwrap().0, "response.completed");
    assert!(events.iter().all(|(n, d)| d["type"] == n.as_str()));
    let streamed: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str())
        .collect();
    assert_eq!(streamed, mock_upstream::DEFAULT_TEXT);
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (3, 8, 70)
    );
    assert!(row.stream);
    assert!(row.ttft_ms.is_some());
    gw.stop().await;
}

#[tokio::test]
async fn speech_is_streamed_and_billed_per_character() {
    let (a, _b, gw) = deployment().await;
    // 14 characters (CJK count as one each) × $15 per million characters = 210 micro-units.
    let input = "你好, 世界! Hi you";
    assert_eq!(input.chars().count(), 14);
    let resp = post(
        &gw,
        "/v1/audio/speech",
        json!({"model": "tts-1", "input": input, "voice": "alloy"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/mpeg");
    let rid = request_id(&resp);
    let audio = resp.bytes().await.unwrap();
    assert!(audio.starts_with(b"ID3"));
    assert_eq!(audio.len(), 3 + 64 * 14);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.cost), (14, 14 * 15));

    let resp = post(
        &gw,
        "/v1/audio/speech",
        json!({"model": "tts-1", "input": "x", "voice": "alloy", "response_format": "wav"}),
    )
    .await;
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    for (body, param) in [
        (json!({"model": "tts-1", "voice": "alloy"}), "input"),
        (json!({"model": "tts-1", "input": "x"}), "voice"),
        (
            json!({"model": "tts-1", "voice": "alloy", "input": "x".repeat(4097)}),
            "input",
        ),
    ] {
        expect_param(post(&gw, "/v1/audio/speech", body).await, param).await;
    }
    // An upstream refusal costs nothing.
    refused_upstream_costs_nothing(&gw, &a, "/v1/audio/speech", json!({"model": "tts-1", "input": "x", "voice": "nope"}), r#"{"error":{"message":"bad voice","type":"invalid_request_error","param":"voice","code":null}}"#, None).await;
    gw.stop().await;
}

/// The upstream refuses the request with a 400 whose body is `refusal`: the client gets it as an OpenAI error with
/// `code`, and the logged request costs nothing.
async fn refused_upstream_costs_nothing(
    gw: &Gw,
    mock: &MockUpstream,
    path: &str,
    body: Value,
    refusal: &str,
    code: Option<&str>,
) {
    mock.push(Behavior::status(400, refusal));
    let resp = post(gw, path, body).await;
    let rid = request_id(&resp);
    expect_error(resp, 400, code).await;
    assert_eq!(gw.log_for(&rid).await.cost, 0);
}

/// A `multipart/form-data` body: text fields, then an audio `file` of `audio_len` bytes.
fn form(fields: &[(&str, &str)], audio_len: usize) -> (String, Vec<u8>) {
    let boundary = "----tollgate-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if audio_len > 0 {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n").as_bytes(),
        );
        body.extend(std::iter::repeat_n(0x55u8, audio_len));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    gw: &Gw,
    path: &str,
    fields: &[(&str, &str)],
    audio_len: usize,
) -> reqwest::Response {
    let (content_type, body) = form(fields, audio_len);
    gw.http
        .post(gw.url(path))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn transcriptions_are_billed_per_second_as_reported() {
    let (a, _b, gw) = deployment().await;
    // 1,500 bytes: the mock reports 15 s; whisper-1 costs 100 micro-units a second.
    for (path, format, cost, text) in [
        ("/v1/audio/transcriptions", "json", 1500, "Hello, world."),
        (
            "/v1/audio/transcriptions",
            "verbose_json",
            1500,
            "Hello, world.",
        ),
        (
            "/v1/audio/translations",
            "json",
            1500,
            "Hello, world (translated).",
        ),
        // Text formats report no duration: whisper-1 is asked for verbose_json, whose duration is the bill.
        ("/v1/audio/transcriptions", "text", 1500, "Hello, world."),
    ] {
        let resp = upload(
            &gw,
            path,
            &[("model", "whisper-1"), ("response_format", format)],
            1500,
        )
        .await;
        assert_eq!(resp.status(), 200, "{path} {format}");
        let rid = request_id(&resp);
        let body = resp.text().await.unwrap();
        assert!(body.contains(text), "{format}: {body}");
        assert_eq!(gw.log_for(&rid).await.cost, cost, "{path} {format}");
    }
    // The upload reached the upstream whole, as a form.
    let sent = last_sent(&a, "/audio/transcriptions");
    assert!(
        sent.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("multipart/form-data"))
    );
    assert!(sent.raw_body.len() > 1500);

    expect_param(
        upload(
            &gw,
            "/v1/audio/transcriptions",
            &[("model", "whisper-1")],
            0,
        )
        .await,
        "file",
    )
    .await;
    expect_param(
        upload(&gw, "/v1/audio/transcriptions", &[], 100).await,
        "model",
    )
    .await;
    let resp = post(
        &gw,
        "/v1/audio/transcriptions",
        json!({"model": "whisper-1"}),
    )
    .await;
    expect_param(resp, "file").await;
    gw.stop().await;
}
