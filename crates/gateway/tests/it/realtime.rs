//! Realtime (issue 18 item 4): `GET /v1/realtime` upgraded to a WebSocket and relayed to the mock's realtime
//! session — the key at the upgrade (Bearer or the browser's subprotocol), each response held, limited, billed from
//! its `response.done` and logged, the session's row, audio refused where unpriced, a client leaving mid-response,
//! failover on a refused upgrade, and Azure.

use crate::harness::*;
use futures::{SinkExt, StreamExt};
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `gpt-realtime` with text and audio prices (4, cached 0.4, output 16, audio in 32, audio out 64 per million);
/// `gpt-realtime-mini` with text prices only.
macro_rules! realtime_toml {
    ($balance:literal) => {
        concat!(
            channel_toml!(
                "rt",
                "openai",
                0,
                "up-key-1",
                ["gpt-realtime", "gpt-realtime-mini"]
            ),
            alice_toml!($balance),
            "\n[[prices]]\nmodel = \"gpt-realtime\"\ninput_per_million = 4000000\n",
            "cached_input_per_million = 400000\noutput_per_million = 16000000\n",
            "audio_input_per_million = 32000000\naudio_output_per_million = 64000000\n",
            price_toml!("gpt-realtime-mini", 4000000, 16000000),
        )
    };
}

const TOML: &str = realtime_toml!(10000000);

fn ws_url(gw: &Gw, model: &str) -> String {
    format!(
        "{}/v1/realtime?model={model}",
        gw.base.replacen("http", "ws", 1)
    )
}

/// Opens a session as the SDKs do (Bearer); returns it and its request id.
async fn open(gw: &Gw, model: &str) -> (Ws, String) {
    let mut req = ws_url(gw, model).into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    (ws, rid)
}

/// The next text event, within 5 s; `None` once the socket closed.
async fn next_event(ws: &mut Ws) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event within 5 s");
        match m {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Events up to and including the first of type `kind`.
async fn until(ws: &mut Ws, kind: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let e = next_event(ws)
            .await
            .unwrap_or_else(|| panic!("closed before {kind}: {seen:#?}"));
        let done = e["type"] == kind;
        seen.push(e);
        if done {
            return seen;
        }
    }
}

async fn send(ws: &mut Ws, event: Value) {
    ws.send(Message::Text(event.to_string().into()))
        .await
        .unwrap();
}

async fn ask(ws: &mut Ws, text: &str) {
    send(
        ws,
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]}}),
    )
    .await;
    send(ws, json!({"type": "response.create"})).await;
}

async fn assert_money_kept(gw: &Gw, initial: i64) {
    eventually("balance + spent unchanged and no hold left", || async {
        let u = gw.user("alice").await;
        u.balance + u.spent == initial
    })
    .await;
}

#[tokio::test]
async fn a_bad_key_is_refused_before_the_upgrade() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let mut req = ws_url(&gw, "gpt-realtime").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer sk-nope".parse().unwrap());
    let Err(tungstenite::Error::Http(resp)) = tokio_tungstenite::connect_async(req).await else {
        panic!("upgraded with a bad key");
    };
    assert_eq!(resp.status(), 401);
    let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    // An unpriced model and an unknown one are refused the same way, never reaching the upstream.
    let req = ws_url(&gw, "gpt-unknown").into_client_request().unwrap();
    let mut req = req;
    req.headers_mut()
        .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    let Err(tungstenite::Error::Http(resp)) = tokio_tungstenite::connect_async(req).await else {
        panic!("upgraded for an unknown model");
    };
    assert_eq!(resp.status(), 404);
    assert!(mock.requests().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn the_browser_subprotocol_key_is_accepted_and_never_echoed() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let mut req = ws_url(&gw, "gpt-realtime").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("realtime, openai-insecure-api-key.{KEY}")
            .parse()
            .unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(resp.headers()["sec-websocket-protocol"], "realtime");
    let created = next_event(&mut ws).await.unwrap();
    assert_eq!(created["type"], "session.created");
    // The upstream gets the channel's key, never the client's, and no subprotocol of the client's.
    let upgrade = mock
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(upgrade.header("authorization"), Some("Bearer up-key-1"));
    assert!(upgrade.header("sec-websocket-protocol").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn the_beta_header_goes_upstream_only_when_the_client_sent_it() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let mut req = ws_url(&gw, "gpt-realtime").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    req.headers_mut()
        .insert("openai-beta", "realtime=v1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        next_event(&mut ws).await.unwrap()["type"],
        "session.created"
    );
    let upgrade = mock
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(upgrade.header("openai-beta"), Some("realtime=v1"));
    gw.stop().await;
}

#[tokio::test]
async fn two_responses_are_billed_from_their_usage_with_one_session_row() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(
        Reply::text("Hi there").usage(100, 20).cached(40),
    ));
    mock.push(Behavior::Reply(Reply::text("Again").usage(130, 10)));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    assert_eq!(
        next_event(&mut ws).await.unwrap()["type"],
        "session.created"
    );
    let metrics = gw.get_anon_text("/metrics").await;
    assert!(
        metrics.contains("tollgate_realtime_sessions_open 1"),
        "{metrics}"
    );
    ask(&mut ws, "Say hi").await;
    let events = until(&mut ws, "response.done").await;
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hi there");
    ask(&mut ws, "Again").await;
    until(&mut ws, "response.done").await;
    ws.close(None).await.unwrap();

    // 60 × 4 + 40 × 0.4 + 20 × 16 = 576; 130 × 4 + 10 × 16 = 680.
    let first = gw.log_for(&format!("{rid}.1")).await;
    assert_eq!(tokens_and_cost(&first), (100, 40, 20, 576), "{first:?}");
    assert_eq!(first.status, 200);
    let second = gw.log_for(&format!("{rid}.2")).await;
    assert_eq!(tokens_and_cost(&second), (130, 0, 10, 680), "{second:?}");
    let session = gw.log_for(&rid).await;
    assert_eq!(tokens_and_cost(&session), (230, 40, 30, 0), "{session:?}");
    assert_eq!(session.status, 200);
    assert!(
        session
            .error
            .as_deref()
            .unwrap()
            .contains("realtime session: 2 responses")
    );
    assert_money_kept(&gw, 10_000_000).await;
    assert_eq!(gw.user("alice").await.spent, 576 + 680);
    // The events reached the upstream as sent; the output limit was left alone (the account affords the ceiling).
    let sent = mock.realtime_events();
    let creates: Vec<_> = sent
        .iter()
        .filter(|e| e["type"] == "response.create")
        .collect();
    assert_eq!(creates.len(), 2);
    assert!(creates[0].get("response").is_none(), "{sent:#?}");
    gw.stop().await;
}

#[tokio::test]
async fn every_response_after_the_first_counts_against_the_keys_rpm() {
    // Alice's key allows 2 requests a minute: the upgrade (which counts the first response) and one more.
    const LIMITED: &str = concat!(
        crate::harness::channel_toml!("rt", "openai", 0, "up-key-1", ["gpt-realtime"]),
        crate::harness::user_toml!("alice", 10000000),
        crate::harness::key_toml!(
            "alice-key",
            "alice",
            "sk-alice000000000000000000000000000000000000000000001",
            "rpm_limit = 2"
        ),
        crate::harness::price_toml!("gpt-realtime", 4000000, 16000000),
    );
    let (gw, mock) = Gw::with_mock(LIMITED).await;
    mock.push(Behavior::Reply(Reply::text("One").usage(10, 2)));
    mock.push(Behavior::Reply(Reply::text("Two").usage(10, 2)));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    until(&mut ws, "session.created").await;
    for text in ["first", "second"] {
        ask(&mut ws, text).await;
        until(&mut ws, "response.done").await;
    }
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "e3"}),
    )
    .await;
    let refused = until(&mut ws, "error").await;
    let error = refused.last().unwrap();
    assert_eq!(error["error"]["code"], "rate_limit_exceeded", "{error}");
    assert_eq!(error["error"]["event_id"], "e3");
    // The session goes on: the next item still reaches the upstream; its response is refused in turn.
    ask(&mut ws, "still here").await;
    let again = until(&mut ws, "error").await;
    assert_eq!(
        again.last().unwrap()["error"]["code"],
        "rate_limit_exceeded"
    );
    ws.close(None).await.unwrap();
    let sent = mock.realtime_events();
    let count = |kind: &str| sent.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(count("response.create"), 2, "{sent:#?}");
    assert_eq!(count("conversation.item.create"), 3, "{sent:#?}");
    assert_eq!(gw.log_for(&format!("{rid}.2")).await.status, 200);
    assert_money_kept(&gw, 10_000_000).await;
    gw.stop().await;
}

#[tokio::test]
async fn the_output_limit_is_what_the_account_affords() {
    // 1,000 micro-units: the session holds one output token (16), a response gets at most 61 output tokens.
    let (gw, mock) = Gw::with_mock(realtime_toml!(1000)).await;
    mock.push(Behavior::Reply(
        Reply::text(&"word ".repeat(100)).usage(1, 500),
    ));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    ask(&mut ws, "hi").await;
    let done = until(&mut ws, "response.done").await.pop().unwrap();
    assert_eq!(done["response"]["status"], "incomplete");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "max_output_tokens"
    );
    let create = mock
        .realtime_events()
        .into_iter()
        .find(|e| e["type"] == "response.create")
        .unwrap();
    let limit = create["response"]["max_output_tokens"].as_i64().unwrap();
    assert!((50..=61).contains(&limit), "{create}");
    ws.close(None).await.unwrap();
    let row = gw.log_for(&format!("{rid}.1")).await;
    assert_eq!(row.completion_tokens, limit);
    assert_eq!(row.cost, 4 + limit * 16);
    assert_money_kept(&gw, 1000).await;
    gw.stop().await;
}

#[tokio::test]
async fn without_money_for_a_response_the_session_ends_with_insufficient_quota() {
    // 20 micro-units: enough for the session's one output token (16), not for a response's prompt and output.
    let (gw, mock) = Gw::with_mock(realtime_toml!(20)).await;
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    ask(&mut ws, "hi").await;
    let events = until(&mut ws, "error").await;
    let error = events.last().unwrap();
    assert_eq!(error["error"]["code"], "insufficient_quota", "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(
        next_event(&mut ws).await.is_none(),
        "the session was not closed"
    );
    assert!(
        !mock
            .realtime_events()
            .iter()
            .any(|e| e["type"] == "response.create"),
        "the response reached the upstream"
    );
    let session = gw.log_for(&rid).await;
    assert_eq!(session.cost, 0);
    assert_money_kept(&gw, 20).await;
    assert_eq!(gw.user("alice").await.balance, 20);
    gw.stop().await;
}

#[tokio::test]
async fn audio_is_refused_where_the_model_has_no_audio_price() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let (mut ws, _) = open(&gw, "gpt-realtime-mini").await;
    assert_eq!(
        next_event(&mut ws).await.unwrap()["type"],
        "session.created"
    );
    let refused = [
        json!({"type": "session.update", "event_id": "e1", "session": {"type": "realtime", "output_modalities": ["audio"]}}),
        json!({"type": "input_audio_buffer.append", "event_id": "e2", "audio": "AAAA"}),
        json!({"type": "response.create", "event_id": "e3", "response": {"output_modalities": ["audio"]}}),
    ];
    for event in refused {
        send(&mut ws, event.clone()).await;
        let error = next_event(&mut ws).await.unwrap();
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["error"]["code"], "audio_not_priced");
        assert_eq!(error["error"]["event_id"], event["event_id"]);
    }
    assert!(
        mock.realtime_events().is_empty(),
        "{:#?}",
        mock.realtime_events()
    );
    gw.stop().await;
}

#[tokio::test]
async fn input_transcription_is_refused_since_no_hold_covers_it() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let (mut ws, _) = open(&gw, "gpt-realtime").await;
    until(&mut ws, "session.created").await;
    let whisper = json!({"model": "whisper-1"});
    let refused = [
        (
            json!({"type": "session.update", "event_id": "e1", "session": {"type": "realtime", "audio": {"input": {"transcription": whisper}}}}),
            "session.audio.input.transcription",
        ),
        (
            json!({"type": "session.update", "event_id": "e2", "session": {"input_audio_transcription": whisper}}),
            "session.input_audio_transcription",
        ),
        (
            json!({"type": "transcription_session.update", "event_id": "e3", "session": {}}),
            "session",
        ),
    ];
    for (event, param) in refused {
        send(&mut ws, event.clone()).await;
        let error = next_event(&mut ws).await.unwrap();
        assert_eq!(
            error["error"]["code"], "transcription_not_supported",
            "{error}"
        );
        assert_eq!(error["error"]["param"], param);
        assert_eq!(error["error"]["event_id"], event["event_id"]);
    }
    assert!(
        mock.realtime_events().is_empty(),
        "{:#?}",
        mock.realtime_events()
    );
    // A repeated name cannot show the checks one value and the upstream another: the event goes upstream as read
    // (last value wins), and what is not a JSON object is refused.
    let smuggled = r#"{"type":"session.update","session":{"input_audio_transcription":{"model":"whisper-1"}},"session":{"instructions":"hi"}}"#;
    ws.send(Message::Text(smuggled.into())).await.unwrap();
    until(&mut ws, "session.updated").await;
    ws.send(Message::Text("[1]".into())).await.unwrap();
    let error = next_event(&mut ws).await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_json", "{error}");
    let sent = mock.realtime_events();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        sent[0]["session"],
        json!({"instructions": "hi"}),
        "{sent:#?}"
    );
    // Turning it off, or never naming it, goes upstream as before.
    let off = json!({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"transcription": null}}}});
    send(&mut ws, off).await;
    until(&mut ws, "session.updated").await;
    gw.stop().await;
}

#[tokio::test]
async fn audio_tokens_are_billed_at_the_audio_prices() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(Reply::text("Spoken").usage(9, 12)));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    send(&mut ws, json!({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}})).await;
    until(&mut ws, "session.updated").await;
    for _ in 0..2 {
        send(
            &mut ws,
            json!({"type": "input_audio_buffer.append", "audio": "AAAA"}),
        )
        .await;
    }
    send(&mut ws, json!({"type": "response.create"})).await;
    let events = until(&mut ws, "response.done").await;
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "response.output_audio.delta")
    );
    ws.close(None).await.unwrap();
    // 9 text × 4 + 20 audio × 32 in, 12 audio × 64 out.
    let row = gw.log_for(&format!("{rid}.1")).await;
    assert_eq!(
        tokens_and_cost(&row),
        (29, 0, 12, 36 + 640 + 768),
        "{row:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_response_the_upstream_starts_itself_is_held_and_billed() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(Reply::text("Heard you").usage(9, 12)));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    let vad = json!({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"],
        "audio": {"input": {"turn_detection": {"type": "server_vad"}}}}});
    send(&mut ws, vad).await;
    until(&mut ws, "session.updated").await;
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "audio": "AAAA"}),
    )
    .await;
    send(&mut ws, json!({"type": "input_audio_buffer.commit"})).await;
    until(&mut ws, "response.done").await;
    ws.close(None).await.unwrap();
    // 9 text × 4 + 10 audio × 32 in, 12 audio × 64 out.
    let row = gw.log_for(&format!("{rid}.1")).await;
    assert_eq!(
        tokens_and_cost(&row),
        (19, 0, 12, 36 + 320 + 768),
        "{row:?}"
    );
    assert_money_kept(&gw, 10_000_000).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_client_leaving_mid_response_leaks_no_hold() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(Behavior::Reply(
        Reply::text(&"slow ".repeat(40)).pieces(40).delay_ms(100),
    ));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    ask(&mut ws, "Tell me a long story").await;
    until(&mut ws, "response.output_text.delta").await;
    // A second response while one is open gets the API's own error.
    send(
        &mut ws,
        json!({"type": "response.create", "event_id": "again"}),
    )
    .await;
    let error = until(&mut ws, "error").await.pop().unwrap();
    assert_eq!(
        error["error"]["code"],
        "conversation_already_has_active_response"
    );
    drop(ws);
    let row = gw.log_for(&format!("{rid}.1")).await;
    assert_eq!(row.status, 499, "{row:?}");
    assert!(
        row.completion_tokens > 0 && row.completion_tokens < 40,
        "{row:?}"
    );
    gw.log_for(&rid).await;
    assert_money_kept(&gw, 10_000_000).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_refused_upgrade_fails_over_to_the_next_channel() {
    let toml = concat!(
        channel_toml!("rt-a", "openai", 0, "up-key-1", ["gpt-realtime"]),
        channel_toml!("rt-b", "openai", 0, "up-key-2", ["gpt-realtime"]),
        alice_toml!(),
        price_toml!("gpt-realtime", 4000000, 16000000),
    );
    let (gw, mock) = Gw::with_mock(toml).await;
    mock.push(Behavior::status(
        503,
        r#"{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}"#,
    ));
    let (mut ws, rid) = open(&gw, "gpt-realtime").await;
    assert_eq!(
        next_event(&mut ws).await.unwrap()["type"],
        "session.created"
    );
    let upgrades: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(upgrades.len(), 2);
    assert_ne!(
        upgrades[0].header("authorization"),
        upgrades[1].header("authorization")
    );
    assert_eq!(upgrades[1].query_param("model"), Some("gpt-realtime"));
    assert!(upgrades[1].header("openai-beta").is_none());
    ws.close(None).await.unwrap();
    let session = gw.log_for(&rid).await;
    assert_eq!(session.retries, 1);
    gw.stop().await;
}

#[tokio::test]
async fn azure_channels_get_the_deployment_and_api_key() {
    let toml = concat!(
        channel_toml!(
            "az",
            "azure",
            0,
            "az-key",
            ["gpt-realtime"],
            "api_version = \"2025-04-01-preview\""
        ),
        alice_toml!(),
        price_toml!("gpt-realtime", 4000000, 16000000),
    );
    let mock = MockUpstream::start().await.unwrap();
    mock.set_accepted_keys(Some(vec!["az-key".to_owned()]));
    let gw = Gw::start(toml, &[&mock], |_| {}).await;
    let (mut ws, _) = open(&gw, "gpt-realtime").await;
    ask(&mut ws, "hi").await;
    until(&mut ws, "response.done").await;
    let upgrade = mock
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(upgrade.path, "/openai/realtime");
    assert_eq!(upgrade.query_param("deployment"), Some("gpt-realtime"));
    assert_eq!(
        upgrade.query_param("api-version"),
        Some("2025-04-01-preview")
    );
    assert_eq!(upgrade.header("api-key"), Some("az-key"));
    assert!(upgrade.header("authorization").is_none());
    gw.stop().await;
}

#[tokio::test]
async fn admin_prices_take_audio_prices_and_a_new_one_turns_audio_on() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let got = gw.get("/prices/gpt-realtime").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["audio_input_per_million"], 32_000_000);
    assert_eq!(got.body["audio_output_per_million"], 64_000_000);
    for field in ["audio_input_per_million", "audio_output_per_million"] {
        let bad = gw
            .patch("/prices/gpt-realtime-mini", json!({ field: -1 }))
            .await;
        assert_eq!(bad.status, 400, "{field}");
        assert_eq!(bad.body["error"]["param"], field);
    }
    let patched = gw
        .patch(
            "/prices/gpt-realtime-mini",
            json!({"audio_input_per_million": 10_000_000, "audio_output_per_million": 20_000_000}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["input_per_million"], 4_000_000);
    assert_eq!(patched.body["audio_output_per_million"], 20_000_000);
    // The new price applies to the next session: audio is no longer refused.
    let (mut ws, _) = open(&gw, "gpt-realtime-mini").await;
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "audio": "AAAA"}),
    )
    .await;
    send(&mut ws, json!({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}})).await;
    let events = until(&mut ws, "session.updated").await;
    assert!(!events.iter().any(|e| e["type"] == "error"), "{events:#?}");
    eventually("the mock got the audio", || async {
        mock.realtime_events()
            .iter()
            .any(|e| e["type"] == "input_audio_buffer.append")
    })
    .await;
    gw.stop().await;
}
