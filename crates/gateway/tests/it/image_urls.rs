//! Image URLs on Anthropic channels: inlined by default (and refused from private addresses), forwarded as `url`
//! sources when the channel says so.

use crate::harness::*;
use serde_json::{Value, json};

fn toml(forward: bool) -> String {
    concat!(
        channel_toml!(
            "claude",
            "anthropic",
            0,
            "k",
            ["claude-3-5-sonnet-20240620"],
            "forward_image_urls = FORWARD"
        ),
        alice_toml!(),
        price_toml!("claude-3-5-sonnet-20240620", 3000000, 15000000),
    )
    .replace("FORWARD", &forward.to_string())
}

fn with_image(url: &str) -> Value {
    json!({"model": "claude-3-5-sonnet-20240620", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": url}}]}]})
}

#[tokio::test]
async fn forwarded_urls_reach_anthropic_as_url_sources() {
    let (gw, mock) = Gw::with_mock(&toml(true)).await;
    let url = "https://images.example.com/cat.png";
    let resp = gw.chat(with_image(url)).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let up = first_sent(&mock, "/v1/messages");
    let block = &up.body["messages"][0]["content"][1];
    assert_eq!(block["type"], "image");
    assert_eq!(block["source"], json!({"type": "url", "url": url}));
    gw.stop().await;
}

#[tokio::test]
async fn inlined_urls_from_private_addresses_are_refused_with_the_reason() {
    let (gw, mock) = Gw::with_mock(&toml(false)).await;
    let before = gw.user("alice").await.balance;
    let resp = gw
        .chat(with_image("http://169.254.169.254/latest/meta-data/x.png"))
        .await;
    let body = expect_error(resp, 400, None).await;
    let msg = error_message(&body);
    assert!(
        msg.contains("169.254.169.254") && msg.contains("not allowed"),
        "{msg}"
    );
    assert!(
        mock.requests()
            .iter()
            .all(|r| !r.path.ends_with("/v1/messages")),
        "nothing sent upstream"
    );
    gw.logs(1).await;
    assert_eq!(
        gw.user("alice").await.balance,
        before,
        "a refused request costs nothing"
    );
    gw.stop().await;
}
