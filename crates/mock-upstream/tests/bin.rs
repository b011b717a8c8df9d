//! The `mock-upstream` binary announces its address first and serves the default reply.
#![cfg(test)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_address_then_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
        .args(["--listen", "127.0.0.1:0", "--chunk-delay-ms", "1"])
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
    let result = reqwest::get(format!("{base}/v1/models")).await;
    child.kill().expect("kill");
    child.wait().expect("wait");
    let models: serde_json::Value = result.expect("models").json().await.expect("json");
    assert_eq!(models["object"], "list");
}
