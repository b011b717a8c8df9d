//! `vertex` channels: a service-account key exchanged for an access token at its `token_uri` (the mock checks the
//! RS256 assertion for real) and cached, Claude through `rawPredict` / `streamRawPredict`, Gemini through
//! `generateContent` / `streamGenerateContent`, billed like any chat; a key the token endpoint refuses goes out of
//! rotation.

use crate::harness::*;
use mock_upstream::vertex::{TEST_PROJECT, service_account_json};
use mock_upstream::{Behavior, Reply};
use serde_json::{Value, json};

const CLAUDE: &str = "claude-3-5-sonnet-20240620";
const GEMINI: &str = "gemini-1.5-pro";

/// A vertex channel on mock 0 in `europe-west4`, with `key` (a service-account JSON), then `extra` TOML.
fn deployment(key: &str, extra: &str) -> String {
    format!(
        "{}{}{}{}\n[[channels]]\nname = \"vertex\"\nkind = \"vertex\"\nbase_url = \"{{MOCK0}}\"\n\
         keys = ['{key}']\nmodels = [\"{CLAUDE}\", \"{GEMINI}\"]\nregion = \"europe-west4\"\npriority = 1\n\
         model_mapping = {{ \"{CLAUDE}\" = \"claude-3-5-sonnet@20240620\" }}\n{extra}",
        alice_toml!(),
        claude_price_toml!(),
        price_toml!("gemini-1.5-pro", 1250000, 5000000),
        price_toml!("gpt-4o", 2500000, 10000000),
    )
}

fn good_key() -> String {
    service_account_json("{MOCK0}/token")
}

fn ask(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello"}]})
}

/// The publisher calls the mock received (not the token requests).
fn publisher_calls(mock: &mock_upstream::MockUpstream) -> Vec<mock_upstream::Recorded> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path.contains("/publishers/"))
        .collect()
}

fn token_requests(mock: &mock_upstream::MockUpstream) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count()
}

/// Asks `model` once, not streamed; the mock's default answer must come back. Returns the request id.
async fn answered(gw: &Gw, model: &str) -> String {
    let plain = gw.chat(ask(model, false)).await;
    assert_eq!(plain.status(), 200);
    let rid = request_id(&plain);
    let answer: Value = plain.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    rid
}

#[tokio::test]
async fn claude_on_vertex_is_billed_and_the_token_is_fetched_once() {
    let (gw, mock) = Gw::with_mock(&deployment(&good_key(), "")).await;
    let rid = answered(&gw, CLAUDE).await;
    mock.push(Behavior::Reply(Reply::text("one two three").pieces(3)));
    let streamed = gw.chat(ask(CLAUDE, true)).await;
    assert_eq!(streamed.status(), 200);
    let text = streamed.text().await.unwrap();
    assert_eq!(streamed_content(&sse_data(&text)), "one two three");

    let calls = publisher_calls(&mock);
    let base = format!(
        "/v1/projects/{TEST_PROJECT}/locations/europe-west4/publishers/anthropic/models/claude-3-5-sonnet@20240620"
    );
    assert_eq!(calls[0].path, format!("{base}:rawPredict"));
    assert_eq!(calls[1].path, format!("{base}:streamRawPredict"));
    for call in &calls {
        assert_eq!(
            call.header("authorization"),
            Some("Bearer ya29.mock-token-0")
        );
        assert!(call.body.get("model").is_none(), "{}", call.body);
        assert_eq!(call.body["anthropic_version"], "vertex-2023-10-16");
    }
    assert_eq!(calls[1].body["stream"], true);
    assert_eq!(
        token_requests(&mock),
        1,
        "the token is cached, not fetched per request"
    );
    let row = gw.log_for(&rid).await;
    let (prompt, _, completion, cost) = tokens_and_cost(&row);
    assert!(prompt > 0 && completion > 0);
    assert_eq!(cost, (prompt * 3 + completion * 15).max(1), "{row:?}");
    gw.stop().await;
}

#[tokio::test]
async fn gemini_on_vertex_goes_to_googles_publisher() {
    let (gw, mock) = Gw::with_mock(&deployment(&good_key(), "")).await;
    let rid = answered(&gw, GEMINI).await;
    let streamed = gw.chat(ask(GEMINI, true)).await;
    assert_eq!(streamed.status(), 200);
    let text = streamed.text().await.unwrap();
    assert_eq!(
        streamed_content(&sse_data(&text)),
        mock_upstream::DEFAULT_TEXT
    );
    let calls = publisher_calls(&mock);
    let base = format!(
        "/v1/projects/{TEST_PROJECT}/locations/europe-west4/publishers/google/models/{GEMINI}"
    );
    assert_eq!(calls[0].path, format!("{base}:generateContent"));
    assert_eq!(calls[1].path, format!("{base}:streamGenerateContent"));
    assert_eq!(calls[1].query_param("alt"), Some("sse"));
    assert_eq!(calls[0].body["contents"][0]["role"], "user");
    let row = gw.log_for(&rid).await;
    assert_eq!((row.status, row.cost), (200, 72));
    gw.stop().await;
}

#[tokio::test]
async fn a_key_the_token_endpoint_refuses_goes_out_of_rotation() {
    // The same private key under another account's name: the assertion's `iss` does not match it.
    let forged = good_key().replace("tollgate-test@", "someone-else@");
    let fallback = concat!(
        "\n[[channels]]\nname = \"openai\"\nkind = \"openai\"\nbase_url = \"{MOCK0}\"\nkeys = [\"up\"]\n",
        "models = [\"claude-3-5-sonnet-20240620\"]\npriority = 0\n"
    );
    let (gw, mock) = Gw::with_mock(&deployment(&forged, fallback)).await;
    let resp = gw.chat(ask(CLAUDE, false)).await;
    assert_eq!(resp.status(), 200, "served by the fallback");
    let channel = gw.channel_out_of_rotation("vertex").await;
    let reason = channel.keys[0].disabled_reason.clone().unwrap_or_default();
    assert!(!reason.contains("PRIVATE KEY"), "{reason}");
    assert!(publisher_calls(&mock).is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn the_admin_api_checks_vertex_keys_and_regions() {
    let (gw, _mock) = Gw::default().await;
    let channel = |key: &str, region: Value| {
        json!({"name": "v", "kind": "vertex", "base_url": "", "keys": [key], "models": [CLAUDE],
            "region": region})
    };
    let r = gw
        .post(
            "/channels",
            channel("sk-not-a-service-account", json!("us-east5")),
        )
        .await;
    assert_status(&r, 400);
    assert_eq!(r.body["error"]["param"], "keys");
    assert!(!r.body.to_string().contains("sk-not-a-service-account"));
    let key = service_account_json("https://oauth2.googleapis.com/token");
    let r = gw.post("/channels", channel(&key, json!("US EAST"))).await;
    assert_status(&r, 400);
    assert_eq!(r.body["error"]["param"], "region");
    let r = gw.post("/channels", channel(&key, json!("us-east5"))).await;
    assert_status(&r, 201);
    assert_eq!(
        (r.body["region"].clone(), r.body["base_url"].clone()),
        (json!("us-east5"), json!(""))
    );
    assert!(!r.body.to_string().contains("PRIVATE KEY"), "{}", r.body);
    gw.stop().await;
}
