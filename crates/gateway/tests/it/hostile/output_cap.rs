//! The attacker omits `max_tokens` (or asks for far more than they can pay) with a small balance or key cap, hoping
//! the upstream generates as long as it likes while settlement clips the charge to what is left. The hold must
//! cover the prompt plus the affordable output, and that limit must reach the upstream.

use crate::harness::*;
use gateway::billing::{estimate, pricing};
use mock_upstream::{Behavior, Reply};
use serde_json::{Map, Value, json};

fn deployment(balance: i64, cap: Option<i64>) -> String {
    let cap = cap.map_or(String::new(), |c| format!("spend_cap = {c}\n"));
    super::two_providers(balance, &cap, "")
}

fn price(input: i64, output: i64) -> store::Price {
    store::Price {
        model: "m".into(),
        input_per_million: Some(input),
        output_per_million: Some(output),
        ..Default::default()
    }
}

/// What `completion` output tokens cost at `p` on top of the gateway's prompt estimate of `request`.
fn cost_with(request: &Value, p: &store::Price, completion: u64) -> i64 {
    let obj: Map<String, Value> = request.as_object().unwrap().clone();
    let prompt = estimate::prompt_tokens(&obj);
    pricing::cost(
        p,
        pricing::TokenCounts {
            prompt,
            cached: 0,
            completion,
            ..Default::default()
        },
        1000,
    )
}

/// The most output tokens `money` pays for after the gateway's prompt estimate of `request`.
fn affordable(request: &Value, p: &store::Price, money: i64) -> u64 {
    let mut n = 0;
    while cost_with(request, p, n + 1) <= money {
        n += 1;
    }
    n
}

#[tokio::test]
async fn no_max_tokens_with_300_units_gets_the_affordable_limit_upstream() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    mock.push(Behavior::Reply(Reply::text("short").usage(9, 20)));
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    let limit = affordable(&hello(), &price(2_500_000, 10_000_000), 300);
    assert!(limit > 0 && limit < 30, "{limit}");
    let up = &mock.chat_requests()[0].body;
    assert_eq!(up["max_tokens"], limit, "{up}");
    assert!(up.get("max_completion_tokens").is_none());
    // Billed from the upstream's usage: 9 × 2.5 + 20 × 10 = 222.5 → 223.
    let row = gw.logs(1).await.remove(0);
    assert_eq!(row.cost, 223);
    assert_eq!(gw.user("alice").await.balance, 300 - 223);
    gw.stop().await;
}

#[tokio::test]
async fn streamed_request_without_max_tokens_is_limited_too() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    let mut body = hello();
    body["stream"] = json!(true);
    let resp = gw.chat(body.clone()).await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await.unwrap();
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["max_tokens"],
        affordable(&body, &price(2_500_000, 10_000_000), 300)
    );
    gw.stop().await;
}

#[tokio::test]
async fn asking_for_more_than_the_balance_pays_is_lowered_not_refused() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    let mut body = hello();
    body["max_completion_tokens"] = json!(4000);
    body["max_tokens"] = json!(4000);
    let resp = gw.chat(body.clone()).await;
    assert_eq!(resp.status(), 200);
    let up = &mock.chat_requests()[0].body;
    let limit = affordable(&body, &price(2_500_000, 10_000_000), 300);
    // Both fields the client used are lowered.
    assert_eq!(up["max_completion_tokens"], limit);
    assert_eq!(up["max_tokens"], limit);
    gw.stop().await;
}

#[tokio::test]
async fn reasoning_model_gets_max_completion_tokens() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    let body = json!({"model": "o3-mini", "messages": [{"role": "user", "content": "think"}]});
    assert_eq!(gw.chat(body.clone()).await.status(), 200);
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["max_completion_tokens"],
        affordable(&body, &price(1_100_000, 4_400_000), 300)
    );
    assert!(up.get("max_tokens").is_none(), "{up}");
    gw.stop().await;
}

#[tokio::test]
async fn key_spend_cap_bounds_the_answer_like_a_balance() {
    let (gw, mock) = Gw::with_mock(&deployment(10_000_000, Some(400))).await;
    assert_eq!(gw.chat(hello()).await.status(), 200);
    let up = &mock.chat_requests()[0].body;
    assert_eq!(
        up["max_tokens"],
        affordable(&hello(), &price(2_500_000, 10_000_000), 400)
    );
    gw.stop().await;
}

#[tokio::test]
async fn not_even_one_output_token_affordable_is_429_and_nothing_is_sent() {
    let mock = mock_upstream::MockUpstream::start().await.unwrap();
    // The prompt estimate alone costs more than 20 units.
    let gw = Gw::start(&deployment(20, None), &[&mock], |_| {}).await;
    expect_error(gw.chat(hello()).await, 429, Some("insufficient_quota")).await;
    assert!(mock.chat_requests().is_empty());
    assert_eq!(gw.user("alice").await.balance, 20);
    gw.stop().await;
}

#[tokio::test]
async fn concurrent_requests_cannot_spend_the_same_money() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    // The upstream answers after 300 ms, so both holds are outstanding at once.
    mock.set_default(Behavior::delay(
        300,
        Behavior::Reply(Reply::text("ok").usage(9, 5)),
    ));
    let (a, b) = tokio::join!(gw.chat(hello()), gw.chat(hello()));
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    let p = price(2_500_000, 10_000_000);
    let held: i64 = mock
        .chat_requests()
        .iter()
        .map(|r| cost_with(&hello(), &p, r.body["max_tokens"].as_u64().unwrap()))
        .sum();
    assert!(held <= 300, "the two holds together cover {held} > 300");
    assert!(statuses.contains(&200), "{statuses:?}");
    gw.stop().await;
}

#[tokio::test]
async fn client_limit_within_means_goes_through_untouched() {
    let (gw, mock) = Gw::default().await;
    let mut body = hello();
    body["max_tokens"] = json!(64);
    assert_eq!(gw.chat(body).await.status(), 200);
    assert_eq!(mock.chat_requests()[0].body["max_tokens"], 64);
    // Without a limit and with money to spare, none is added.
    assert_eq!(gw.chat(hello()).await.status(), 200);
    assert!(mock.chat_requests()[1].body.get("max_tokens").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn native_messages_max_tokens_is_lowered_to_what_the_balance_pays() {
    let (gw, mock) = Gw::with_mock(&deployment(600, None)).await;
    let body = json!({"model": "claude-3-5-sonnet-20240620", "max_tokens": 4096,
        "messages": [{"role": "user", "content": "write a long story"}]});
    let resp = gw.messages_as(KEY, &body).await;
    assert_eq!(resp.status(), 200);
    let up = first_sent(&mock, "/v1/messages");
    // The gateway's estimate of the same prompt in chat form.
    let chat = json!({"model": "claude-3-5-sonnet-20240620",
        "messages": [{"role": "user", "content": "write a long story"}], "max_tokens": 4096});
    let limit = affordable(&chat, &price(3_000_000, 15_000_000), 600);
    assert!(limit > 0 && limit < 4096);
    assert_eq!(up.body["max_tokens"], limit, "{}", up.body);
    gw.stop().await;
}

#[tokio::test]
async fn responses_without_max_output_tokens_gets_the_affordable_limit() {
    let (gw, mock) = Gw::with_mock(&deployment(300, None)).await;
    let resp = gw
        .post_as(
            KEY,
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": "write forever"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let up = first_sent(&mock, "/v1/responses");
    let limit = up.body["max_output_tokens"].as_u64().unwrap();
    // "write forever" is 13 bytes → 5 prompt tokens estimated; 300 units pay (300 - 12.5) / 10 tokens.
    assert_eq!(limit, 28, "{}", up.body);
    gw.stop().await;
}
