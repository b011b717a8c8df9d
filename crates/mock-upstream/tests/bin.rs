//! The `mock-upstream` binary announces its address first and serves the default reply; its control endpoints
//! script answers and list what it received; `--accept-key` limits the keys it takes.
#![cfg(test)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// Starts the binary with `args` and returns it with its base URL.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("announce line")
        .to_owned();
    (child, base)
}

fn stop(mut child: Child) {
    child.kill().expect("kill");
    child.wait().expect("wait");
}

/// `POST url` with a JSON body.
async fn post(http: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    http.post(url).json(body).send().await.expect("post")
}

/// The JSON body of a response.
async fn json_of(resp: Result<reqwest::Response, reqwest::Error>) -> Value {
    resp.expect("response").json().await.expect("json")
}

async fn control_and_keys(base: &str) {
    let http = reqwest::Client::new();
    let script = format!("{base}/__mock/script");
    let requests = format!("{base}/__mock/requests");

    // One behaviour, then an array of two: played in order, then the default again.
    let tool = json!({"kind": "reply", "text": null, "usage": [77, 21, 0],
        "tool_calls": [["get_weather", r#"{"city":"Paris"}"#]]});
    assert_eq!(post(&http, &script, &tool).await.status(), 204);
    let two = json!([{"kind": "status", "status": 429, "body": "{}"}, {"kind": "reply", "text": "second"}]);
    assert_eq!(post(&http, &script, &two).await.status(), 204);
    let chat = |key: &'static str| {
        http.post(format!("{base}/v1/chat/completions"))
            .bearer_auth(key)
            .json(&json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let first = json_of(chat("key-a").await).await;
    let msg = &first["choices"][0]["message"];
    assert!(msg["content"].is_null(), "{first}");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(first["usage"]["prompt_tokens"], 77);
    assert_eq!(first["usage"]["completion_tokens"], 21);
    assert_eq!(chat("key-a").await.expect("chat").status(), 429);
    let third = json_of(chat("key-a").await).await;
    assert_eq!(third["choices"][0]["message"]["content"], "second");
    // Fields left out keep the default reply's values.
    assert_eq!(third["usage"]["prompt_tokens"], 9);
    let fourth = json_of(chat("key-a").await).await;
    assert_eq!(
        fourth["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );

    // A key not accepted is refused in the provider's own way, and does not consume the script.
    let kept = json!({"kind": "reply", "text": "kept"});
    assert_eq!(post(&http, &script, &kept).await.status(), 204);
    let refused = chat("key-wrong").await.expect("chat");
    assert_eq!(refused.status(), 401);
    let claude = |key: &'static str| {
        http.post(format!("{base}/v1/messages"))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let answer = claude("key-b").await.expect("messages");
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.expect("json");
    assert_eq!(answer["content"], json!([{"type": "text", "text": "kept"}]));
    let wrong_claude = claude("key-wrong").await.expect("messages");
    assert_eq!(wrong_claude.status(), 401);

    // What was received, control calls excluded, in order.
    let seen = json_of(http.get(&requests).send().await).await;
    let seen = seen.as_array().expect("array");
    let paths: Vec<&str> = seen
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [&["/v1/chat/completions"; 5][..], &["/v1/messages"; 2][..]].concat()
    );
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["body"]["model"], "gpt-4.1");
    assert!(
        seen[0]["headers"]
            .as_array()
            .expect("headers")
            .contains(&json!(["authorization", "Bearer key-a"])),
        "{}",
        seen[0]
    );
    assert_eq!(
        http.delete(&requests).send().await.expect("clear").status(),
        204
    );
    let empty = json_of(http.get(&requests).send().await).await;
    assert_eq!(empty, json!([]));

    // DELETE empties the queue; a behaviour that does not read is refused with the reason.
    let dropped = json!({"kind": "reply", "text": "dropped"});
    assert_eq!(post(&http, &script, &dropped).await.status(), 204);
    assert_eq!(
        http.delete(&script).send().await.expect("clear").status(),
        204
    );
    let after = json_of(chat("key-a").await).await;
    assert_eq!(
        after["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    let bad = post(&http, &script, &json!({"kind": "reply", "txet": "typo"})).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("reason").contains("txet"));
    let unknown = post(&http, &script, &json!([{"kind": "explode"}])).await;
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn control_endpoints_script_replies_and_list_requests() {
    let (child, base) = spawn(&["--accept-key", "key-a", "--accept-key", "key-b"]);
    // Stop the child whatever the outcome, then report it.
    let outcome = tokio::spawn(async move { control_and_keys(&base).await }).await;
    stop(child);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn binary_prints_address_then_serves() {
    let (child, base) = spawn(&["--chunk-delay-ms", "1"]);
    let result = reqwest::get(format!("{base}/v1/models")).await;
    stop(child);
    let models = json_of(result).await;
    assert_eq!(models["object"], "list");
}
