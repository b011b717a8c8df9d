//! Paid upstream features the attacker switches on, hoping Tollgate bills tokens only: background responses and
//! built-in / server tools that the provider charges per call.

use crate::harness::*;
use gateway::billing::pricing;
use serde_json::{Value, json};

fn deployment(balance: i64, priced_search: bool) -> String {
    let search = if priced_search {
        "[[prices]]\nmodel = \"tool:web_search\"\nper_request = 10000\n"
    } else {
        ""
    };
    super::two_providers(balance, "", search)
}

async fn responses(gw: &Gw, body: Value) -> reqwest::Response {
    gw.post_as(KEY, "/v1/responses", &body).await
}

async fn messages(gw: &Gw, body: Value) -> reqwest::Response {
    gw.messages_as(KEY, &body).await
}

/// A Messages request asking Claude to search the web with `tools`.
fn claude_searching(tools: Value) -> Value {
    json!({"model": "claude-3-5-sonnet-20240620", "max_tokens": 100,
        "messages": [{"role": "user", "content": "search the web"}], "tools": tools})
}

fn upstream_calls(mock: &mock_upstream::MockUpstream) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

#[tokio::test]
async fn background_response_is_refused_and_nothing_is_sent() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, false)).await;
    let body = json!({"model": "gpt-4o", "input": "research this for an hour", "background": true});
    expect_param(responses(&gw, body).await, "background").await;
    assert_eq!(upstream_calls(&mock), 0);
    assert_eq!(gw.user("alice").await.balance, 10_000_000);
    gw.stop().await;
}

#[tokio::test]
async fn unpriced_web_search_on_responses_is_400_naming_the_tool() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, false)).await;
    let body = json!({"model": "gpt-4o", "input": "news?",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}},
                  {"type": "web_search_preview_2025_03_11"}]});
    let err = expect_param(responses(&gw, body).await, "tools[1].type").await;
    assert!(error_message(&err).contains("web_search_preview"));
    assert_eq!(upstream_calls(&mock), 0);
    gw.stop().await;
}

#[tokio::test]
async fn unpriced_anthropic_server_tool_is_refused_on_messages() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, false)).await;
    let body = claude_searching(json!([{"type": "web_search_20250305", "name": "web_search"}]));
    let resp = messages(&gw, body).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["type"], "error");
    assert!(error_message(&err).contains("web_search_20250305"), "{err}");
    assert_eq!(upstream_calls(&mock), 0);
    gw.stop().await;
}

#[tokio::test]
async fn priced_web_search_is_budgeted_upstream_and_charged_per_reported_call() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, true)).await;
    let body =
        json!({"model": "gpt-4o", "input": "news", "tools": [{"type": "web_search_preview"}]});
    let resp = responses(&gw, body).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    let searches = answer["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "web_search_call")
        .count();
    assert_eq!(searches, 2);
    let up = first_sent(&mock, "/v1/responses");
    assert_eq!(
        up.body["max_tool_calls"], 5,
        "the default budget goes upstream"
    );
    let usage = &answer["usage"];
    let row = gw.log_for(&rid).await;
    let tokens = pricing::cost(
        &store::Price {
            model: "gpt-4o".into(),
            input_per_million: Some(2_500_000),
            output_per_million: Some(10_000_000),
            ..Default::default()
        },
        pricing::TokenCounts {
            prompt: usage["input_tokens"].as_u64().unwrap(),
            cached: 0,
            completion: usage["output_tokens"].as_u64().unwrap(),
            ..Default::default()
        },
        1000,
    );
    assert_eq!(row.cost, tokens + 2 * 10_000);
    assert_eq!(gw.user("alice").await.balance, 10_000_000 - row.cost);
    gw.stop().await;
}

#[tokio::test]
async fn a_tool_budget_the_balance_cannot_hold_is_429_until_the_budget_shrinks() {
    let mock = mock_upstream::MockUpstream::start().await.unwrap();
    // Five searches hold 50,000 units; the user has 15,000.
    let gw = Gw::start(&deployment(15_000, true), &[&mock], |_| {}).await;
    let body = json!({"model": "gpt-4o", "input": "news", "tools": [{"type": "web_search"}]});
    expect_error(responses(&gw, body).await, 429, Some("insufficient_quota")).await;
    assert_eq!(upstream_calls(&mock), 0);
    let body = json!({"model": "gpt-4o", "input": "news", "max_tool_calls": 1,
        "tools": [{"type": "web_search"}]});
    let resp = responses(&gw, body).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let up = first_sent(&mock, "/v1/responses");
    assert_eq!(up.body["max_tool_calls"], 1);
    // One search reported and charged, never the 10,000 × 2 the mock would run without the budget.
    let row = gw.log_for(&rid).await;
    assert!(row.cost > 10_000 && row.cost < 15_000, "cost {}", row.cost);
    gw.stop().await;
}

#[tokio::test]
async fn priced_anthropic_server_tool_gets_its_max_uses_written() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, true)).await;
    let body = claude_searching(
        json!([{"type": "web_search_20250305", "name": "web_search"},
        {"type": "web_search_20250305", "name": "web_search_2", "max_uses": 2}]),
    );
    assert_eq!(messages(&gw, body).await.status(), 200);
    let up = first_sent(&mock, "/v1/messages");
    assert_eq!(up.body["tools"][0]["max_uses"], 5);
    assert_eq!(up.body["tools"][1]["max_uses"], 2);
    gw.stop().await;
}

#[tokio::test]
async fn priced_web_search_in_a_stream_is_charged_per_reported_call() {
    let (gw, _mock) = Gw::with_mock(&deployment(10_000_000, true)).await;
    let body = json!({"model": "gpt-4o", "input": "news", "stream": true,
        "tools": [{"type": "web_search"}]});
    let resp = responses(&gw, body).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let text = resp.text().await.unwrap();
    assert!(text.contains("response.completed"), "{text}");
    let row = gw.log_for(&rid).await;
    // Two searches at 10,000 each on top of the tokens (a few hundred units).
    assert!(row.cost > 20_000 && row.cost < 21_000, "cost {}", row.cost);
    gw.stop().await;
}
