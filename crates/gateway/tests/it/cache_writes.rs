//! Prompt-cache writes (issue 18): their own prices, exact to the unit, on the native and the converted routes; in
//! the log row and the client's usage; in the admin API.

use crate::harness::*;
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

const MODEL: &str = "claude-3-5-sonnet-20240620";

/// An Anthropic channel and Claude 3.5 Sonnet's prices: input 3, cache read 0.30, cache write 3.75, one-hour
/// cache write 6, output 15 per million.
const TOML: &str = concat!(
    channel_toml!(
        "claude",
        "anthropic",
        0,
        "anthropic-upstream-key",
        ["claude-3-5-sonnet-20240620"]
    ),
    alice_toml!(),
    "\n[[prices]]\nmodel = \"claude-3-5-sonnet-20240620\"\ninput_per_million = 3000000\n",
    "cached_input_per_million = 300000\ncache_write_per_million = 3750000\n",
    "cache_write_1h_per_million = 6000000\noutput_per_million = 15000000\n",
);

/// 3,500 prompt tokens: 1,000 read from the cache, 2,000 written for five minutes, 400 for an hour, 100 neither;
/// 100 output tokens.
fn reply() -> Reply {
    Reply::text("cached answer")
        .usage(3500, 100)
        .cached(1000)
        .cache_write(2000, 400)
}

/// 100 × 3 + 1,000 × 0.3 + 2,000 × 3.75 + 400 × 6 + 100 × 15 = 300 + 300 + 7,500 + 2,400 + 1,500.
const COST: i64 = 12_000;

fn anthropic_body(stream: bool) -> Value {
    json!({"model": MODEL, "max_tokens": 200, "stream": stream,
        "system": [{"type": "text", "text": "a long system prompt", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": "hi"}]})
}

async fn assert_billed(gw: &Gw, rid: &str) {
    let row = gw.log_for(rid).await;
    assert_eq!(tokens_and_cost(&row), (3500, 1000, 100, COST), "{row:?}");
    assert_eq!(row.cache_write_tokens, 2400);
}

#[tokio::test]
async fn native_messages_bill_cache_writes_at_their_prices() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    for stream in [false, true] {
        mock.push(Behavior::Reply(reply()));
        let resp = gw.messages_as(KEY, &anthropic_body(stream)).await;
        assert_eq!(resp.status(), 200);
        let rid = request_id(&resp);
        let text = resp.text().await.unwrap();
        assert!(text.contains("cache_creation_input_tokens"), "{text}");
        assert_billed(&gw, &rid).await;
    }
    let u = gw.user("alice").await;
    assert_eq!(u.spent, 2 * COST);
    gw.stop().await;
}

#[tokio::test]
async fn chat_through_anthropic_bills_and_reports_cache_writes() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let chat = |stream: bool| {
        let mut body = json!({"model": MODEL, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]});
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    };
    mock.push(Behavior::Reply(reply()));
    let resp = gw.chat(chat(false)).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    let details = &body["usage"]["prompt_tokens_details"];
    assert_eq!(body["usage"]["prompt_tokens"], 3500);
    assert_eq!(
        (
            &details["cached_tokens"],
            &details["cache_write_tokens"],
            &details["cache_write_1h_tokens"]
        ),
        (&json!(1000), &json!(2400), &json!(400))
    );
    assert_billed(&gw, &rid).await;

    mock.push(Behavior::Reply(reply()));
    let resp = gw.chat(chat(true)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let events = sse_data(&resp.text().await.unwrap());
    let usage: Value = events
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| !v["usage"].is_null())
        .map(|v| v["usage"].clone())
        .unwrap();
    assert_eq!(usage["prompt_tokens_details"]["cache_write_tokens"], 2400);
    assert_billed(&gw, &rid).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_hold_covers_a_prompt_written_to_the_cache_for_an_hour() {
    // The prompt's hold is 9,000–12,000 units at the input price (measured), twice that if all of it is written
    // to the cache for an hour (6 per million). The hold prices it so: 15,000 units are refused with write prices
    // set, and served without them.
    let toml = TOML.replace("balance = 10000000", "balance = 15000");
    let (gw, mock) = Gw::with_mock(&toml).await;
    let body = json!({"model": MODEL, "max_tokens": 10,
        "messages": [{"role": "user", "content": "word ".repeat(2000)}]});
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 429, "{}", resp.text().await.unwrap());
    assert_eq!(gw.user("alice").await.spent, 0);
    let unpriced = json!({"cache_write_per_million": null, "cache_write_1h_per_million": null});
    let patched = gw.patch(&format!("/prices/{MODEL}"), unpriced).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    mock.push(Behavior::Reply(Reply::text("ok").usage(2000, 10)));
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    gw.stop().await;
}

#[tokio::test]
async fn admin_prices_take_cache_write_prices() {
    let (gw, _mock) = Gw::with_mock(TOML).await;
    let got = gw.get(&format!("/prices/{MODEL}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["cache_write_per_million"], 3_750_000);
    assert_eq!(got.body["cache_write_1h_per_million"], 6_000_000);
    let patched = gw
        .patch(
            &format!("/prices/{MODEL}"),
            json!({"cache_write_1h_per_million": null}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["cache_write_1h_per_million"], Value::Null);
    assert_eq!(patched.body["cache_write_per_million"], 3_750_000);
    for field in ["cache_write_per_million", "cache_write_1h_per_million"] {
        let bad = gw
            .patch(&format!("/prices/{MODEL}"), json!({ field: -1 }))
            .await;
        assert_eq!(bad.status, 400, "{field}");
        assert_eq!(bad.body["error"]["param"], field);
        let wrong_type = gw
            .patch(&format!("/prices/{MODEL}"), json!({ field: "1" }))
            .await;
        assert_eq!(wrong_type.status, 400, "{field}: {}", wrong_type.text);
    }
    gw.stop().await;
}
