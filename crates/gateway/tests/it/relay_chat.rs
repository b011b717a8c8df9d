//! Plain relay: answers, pass-through of every field in order, tools, vision, models, CORS, request ids.

use crate::harness::*;
use crate::support::{chat_raw, replying, strs};
use mock_upstream::Reply;
use serde_json::{Value, json};

#[tokio::test]
async fn plain_chat_is_relayed_and_logged() {
    let (gw, mock) = Gw::default().await;
    let resp = gw.chat(hello()).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        mock_upstream::DEFAULT_TEXT
    );
    assert_eq!(body["usage"]["total_tokens"], 21);
    // The upstream got our channel key, not the client's.
    let up = &mock.chat_requests()[0];
    assert_eq!(up.header("authorization"), Some("Bearer up-key-1"));
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (
            row.status,
            row.prompt_tokens,
            row.completion_tokens,
            row.cost
        ),
        (200, 9, 12, DEFAULT_COST)
    );
    assert_eq!(row.model.as_deref(), Some("gpt-4o"));
    assert_eq!(row.key_name.as_deref(), Some("alice-key"));
    assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"));
    assert!(!row.stream);
    assert!(row.ttft_ms.is_some());
    gw.stop().await;
}

#[tokio::test]
async fn unknown_fields_pass_through_untouched_and_in_order() {
    let (gw, mock) = Gw::default().await;
    let raw = r#"{"temperature":0.7,"model":"gpt-4o","zz_vendor":{"b":1,"a":[1,2.5,"x"]},"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"n":1,"seed":42,"logit_bias":{"50256":-100}}"#;
    let resp = chat_raw(&gw, raw).await;
    assert_eq!(resp.status(), 200);
    let sent = String::from_utf8(mock.chat_requests()[0].raw_body.to_vec()).unwrap();
    assert_eq!(
        sent, raw,
        "the upstream body must be byte-identical when nothing needs changing"
    );
    gw.stop().await;
}

#[tokio::test]
async fn unchanged_bodies_are_forwarded_verbatim_and_changed_ones_re_encoded() {
    let toml = base_toml!("model_mapping = { \"gpt-4o-mini\" = \"mini-2024\" }");
    let (gw, mock) = Gw::with_mock(toml).await;
    let send = |raw: String| {
        gw.http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(raw)
            .send()
    };
    // Spacing, an escape and an exponent that re-encoding would normalise.
    let plain = r#"{ "model" : "gpt-4o", "messages": [ {"role":"user","content":"caf\u00e9"} ], "temperature": 1.0e0 }"#;
    let streamed = r#"{ "model":"gpt-4o", "stream":true, "stream_options":{"include_usage":true},
        "messages":[{"role":"user","content":"hi"}] }"#;
    let needs_usage =
        r#"{ "model":"gpt-4o", "stream":true, "messages":[{"role":"user","content":"hi"}] }"#;
    let mapped = r#"{ "model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi"}] }"#;
    // A repeated name: we bill the last "model"; an upstream that reads the first must never see it.
    let repeated = r#"{ "model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi"}], "model":"gpt-4o" }"#;
    for raw in [plain, streamed, needs_usage, mapped, repeated] {
        let resp = send(raw.to_owned()).await.unwrap();
        assert_eq!(resp.status(), 200, "{raw}");
        resp.bytes().await.unwrap();
    }
    let got: Vec<_> = mock
        .chat_requests()
        .into_iter()
        .map(|r| r.raw_body)
        .collect();
    assert_eq!(got.len(), 5);
    assert_eq!(
        &got[0][..],
        plain.as_bytes(),
        "unchanged: sent byte for byte"
    );
    assert_eq!(
        &got[1][..],
        streamed.as_bytes(),
        "usage already asked: unchanged"
    );
    let asked: Value = serde_json::from_slice(&got[2]).unwrap();
    assert_eq!(asked["stream_options"]["include_usage"], true);
    let renamed: Value = serde_json::from_slice(&got[3]).unwrap();
    assert_eq!(renamed["model"], "mini-2024");
    let once = String::from_utf8(got[4].to_vec()).unwrap();
    assert_eq!(once.matches("\"model\"").count(), 1, "{once}");
    assert_eq!(
        serde_json::from_str::<Value>(&once).unwrap()["model"],
        "gpt-4o"
    );
    gw.stop().await;
}

#[tokio::test]
async fn tools_functions_and_vision_parts_pass_through() {
    let (gw, mock) = replying(Reply::tool_call(
        "get_current_weather",
        r#"{"location":"Beijing","unit":"celsius"}"#,
    ))
    .await;
    let tools = json!([{"type":"function","function":{"name":"get_current_weather","description":"Get the weather",
        "parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}}]);
    let content = json!([
        {"type":"text","text":"这张图片有什么"},
        {"type":"image_url","image_url":{"url":"https://p.upyun.com/demo/webp/webp/animated-gif-0.webp","detail":"auto"}},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}}
    ]);
    let functions = json!([{"name":"f","parameters":{"type":"object"}}]);
    let resp = gw
        .chat(
            json!({"model":"gpt-4o","messages":[{"role":"user","content":content}],"tools":tools,
            "tool_choice":"auto","functions":functions,"function_call":"auto"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_current_weather"
    );
    let up = &mock.chat_requests()[0].body;
    assert_eq!(up["tools"], tools);
    assert_eq!(up["tool_choice"], "auto");
    assert_eq!(up["functions"], functions);
    assert_eq!(up["function_call"], "auto");
    assert_eq!(up["messages"][0]["content"], content);
    gw.stop().await;
}

#[tokio::test]
async fn model_mapping_renames_upstream_but_logs_both() {
    let toml = base_toml!("model_mapping = { \"gpt-4o\" = \"gpt-4o-2024-08-06\" }");
    let (gw, mock) = Gw::with_mock(toml).await;
    let resp = gw.chat(hello()).await;
    let rid = request_id(&resp);
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.chat_requests()[0].body["model"], "gpt-4o-2024-08-06");
    let row = gw.log_for(&rid).await;
    assert_eq!(row.model.as_deref(), Some("gpt-4o"));
    assert_eq!(row.upstream_model.as_deref(), Some("gpt-4o-2024-08-06"));
    gw.stop().await;
}

#[tokio::test]
async fn models_lists_exactly_what_the_key_may_use() {
    let toml = format!(
        "{BASE_TOML}\n[[channels]]\nname = \"vip-only\"\nkind = \"openai\"\nbase_url = \"{{MOCK0}}\"\nkeys = [\"x\"]\nmodels = [\"o1\"]\ngroups = [\"vip\"]\n\n[[prices]]\nmodel = \"o1\"\nper_request = 5\n\n[[channels]]\nname = \"unpriced\"\nkind = \"openai\"\nbase_url = \"{{MOCK0}}\"\nkeys = [\"x\"]\nmodels = [\"no-price\"]\n\n[[keys]]\nname = \"mini-only\"\nuser = \"alice\"\nkey = \"sk-mini0000000000000000000000000000000000000000000001\"\nmodels = [\"gpt-4o-mini\"]\n"
    );
    let (gw, _mock) = Gw::with_mock(&toml).await;
    let list: Value = gw.get_as(KEY, "/v1/models").await.json().await.unwrap();
    assert_eq!(list["object"], "list");
    let ids = strs(&list["data"], "id");
    assert_eq!(ids, vec!["gpt-4o", "gpt-4o-mini"]);
    assert_eq!(list["data"][0]["object"], "model");
    let mini = "sk-mini0000000000000000000000000000000000000000000001";
    let list: Value = gw.get_as(mini, "/v1/models").await.json().await.unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let one = gw.get_as(mini, "/v1/models/gpt-4o-mini").await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap()["id"], "gpt-4o-mini");
    let other = gw.get_as(mini, "/v1/models/gpt-4o").await;
    expect_error(other, 404, Some("model_not_found")).await;
    let unauth = gw.get_anon("/v1/models").await;
    expect_error(unauth, 401, Some("missing_api_key")).await;
    gw.stop().await;
}

/// The origin of a chat page that calls the gateway from the browser.
const PAGE: &str = "http://chat.example:8080";

/// A `method` request to `/v1/chat/completions` from [`PAGE`], as a browser sends it.
fn from_page(gw: &Gw, method: reqwest::Method) -> reqwest::RequestBuilder {
    gw.http
        .request(method, gw.url("/v1/chat/completions"))
        .header("origin", PAGE)
}

#[tokio::test]
async fn cors_preflight_and_headers_on_every_response() {
    let (gw, _mock) = Gw::default().await;
    let pre = from_page(&gw, reqwest::Method::OPTIONS)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], PAGE);
    let allowed = pre.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let actual = from_page(&gw, reqwest::Method::POST)
        .bearer_auth("sk-wrong00000000000000000000")
        .json(&hello())
        .send()
        .await
        .unwrap();
    assert_eq!(actual.headers()["access-control-allow-origin"], PAGE);
    assert!(actual.headers().contains_key("x-request-id"));
    gw.stop().await;
}

#[tokio::test]
async fn healthz_answers() {
    let (gw, _mock) = Gw::default().await;
    let r = gw.get_anon("/healthz").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    gw.stop().await;
}
