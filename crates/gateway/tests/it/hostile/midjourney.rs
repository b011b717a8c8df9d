//! Attacks on the Midjourney routes (issue 15): buying a faster mode than paid for through `accountFilter`,
//! malformed follow-ups, tasks from token-priced models, and an upstream whose image URL points inside the network
//! or at a document that runs script on the gateway's origin.

use crate::harness::*;
use crate::support::find;
use mock_upstream::MockUpstream;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const MJ_TOML: &str = concat!(
    channel_toml!(
        "mj",
        "midjourney",
        0,
        "mj-secret",
        [
            "mj_imagine",
            "mj_upscale",
            "mj_blend",
            "mj_describe",
            "mj_shorten"
        ],
        "modes = [\"fast\", \"relax\", \"turbo\"]"
    ),
    alice_toml!(1000000),
    price_toml!("mj_imagine", per_request = 50000),
    price_toml!("mj_imagine:relax", per_request = 20000),
    price_toml!("mj_imagine:fast", per_request = 80000),
    price_toml!("mj_upscale", per_request = 10000),
    price_toml!("mj_blend", per_request = 30000),
    price_toml!("mj_describe", 1000000, 1000000),
);

async fn start() -> (Gw, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_accepted_keys(Some(vec!["mj-secret".into()]));
    let gw = Gw::start(MJ_TOML, &[&mock], |s| {
        s.mj_poll_interval = Duration::from_secs(3600);
    })
    .await;
    (gw, mock)
}

async fn post(gw: &Gw, path: &str, body: Value) -> (u16, Value) {
    let r = gw.post_as(KEY, path, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// (balance, user spent, key spent).
async fn money(gw: &Gw) -> (i64, i64, i64) {
    let u = gw.user("alice").await;
    let k = gw.key("alice", "alice-key").await;
    (u.balance, u.spent, k.spent)
}

/// Submits an imagine on `path` and returns the task id, after its charge is settled.
async fn imagine(gw: &Gw, path: &str, body: Value, logs: usize) -> String {
    let (status, r) = post(gw, path, body).await;
    assert_eq!((status, r["code"].as_i64()), (200, Some(1)), "{r}");
    gw.logs(logs).await;
    r["result"].as_str().unwrap().to_owned()
}

fn last_submit(mock: &MockUpstream) -> Value {
    mock.mj_requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/mj/submit/imagine"))
        .unwrap()
        .body
}

async fn stored_mode(gw: &Gw, id: &str) -> Option<api_types::MjMode> {
    let uid = gw.user("alice").await.id;
    let task = gw.state.store.find_mj_task_for_user(uid, id).await;
    task.unwrap().unwrap().mode
}

/// Asserts a refusal on a Midjourney route: `status`, the OpenAI error naming `param`, nothing sent upstream.
fn assert_refused(mock: &MockUpstream, (status, body): (u16, Value), want: u16, param: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["param"], param, "{body}");
    assert!(
        mock.mj_requests().is_empty(),
        "nothing reaches the upstream"
    );
}

/// The task's signed image link, once the poller saw it finish.
async fn image_link(gw: &Gw, id: &str) -> String {
    for _ in 0..10 {
        gateway::midjourney::poller::poll_once(&gw.state).await;
        let r = gw.get_as(KEY, &format!("/mj/task/{id}/fetch")).await;
        let task: Value = r.json().await.unwrap();
        if task["status"] == "SUCCESS" {
            return task["imageUrl"].as_str().unwrap().to_owned();
        }
    }
    panic!("task {id} never finished");
}

/// A task whose upstream reported `image_url`, and its signed link.
async fn task_with_image(gw: &Gw, mock: &MockUpstream, image_url: Option<String>) -> String {
    mock.set_mj_image_url(image_url);
    let (_, r) = post(gw, "/mj/submit/imagine", json!({"prompt": "x"})).await;
    let id = r["result"].as_str().unwrap().to_owned();
    image_link(gw, &id).await
}

#[tokio::test]
async fn relax_route_with_fast_filter_pays_relax_and_runs_relax() {
    let (gw, mock) = start().await;
    let before = money(&gw).await;
    let filter = json!({"modes": ["FAST", "TURBO"], "instanceId": "acct-1"});
    let body = json!({"prompt": "x", "accountFilter": filter});
    let id = imagine(&gw, "/mj-relax/mj/submit/imagine", body, 1).await;
    assert_eq!(
        last_submit(&mock)["accountFilter"],
        json!({"modes": ["RELAX"], "instanceId": "acct-1"}),
        "the route's mode replaces the client's, the rest of the filter stays"
    );
    assert_eq!(
        money(&gw).await,
        (before.0 - 20_000, before.1 + 20_000, before.2 + 20_000)
    );
    assert_eq!(stored_mode(&gw, &id).await, Some(api_types::MjMode::Relax));

    // The fast route with a RELAX filter runs fast, at the fast price.
    let body = json!({"prompt": "x", "accountFilter": {"modes": ["RELAX"]}});
    imagine(&gw, "/mj-fast/submit/imagine", body, 2).await;
    assert_eq!(
        last_submit(&mock)["accountFilter"]["modes"],
        json!(["FAST"])
    );
    assert_eq!(money(&gw).await.0, before.0 - 20_000 - 80_000);
    gw.stop().await;
}

#[tokio::test]
async fn plain_route_with_fast_and_relax_filter_pays_the_fast_price() {
    let (gw, mock) = start().await;
    let before = money(&gw).await;
    let body = json!({"prompt": "x", "accountFilter": {"modes": ["relax", "FAST"]}});
    let id = imagine(&gw, "/mj/submit/imagine", body, 1).await;
    assert_eq!(
        last_submit(&mock)["accountFilter"]["modes"],
        json!(["RELAX", "FAST"])
    );
    assert_eq!(
        money(&gw).await,
        (before.0 - 80_000, before.1 + 80_000, before.2 + 80_000)
    );
    assert_eq!(stored_mode(&gw, &id).await, Some(api_types::MjMode::Fast));

    // TURBO has no price of its own: it costs the mode-less price, still above RELAX's.
    let body = json!({"prompt": "x", "accountFilter": {"modes": ["RELAX", "TURBO"]}});
    let id = imagine(&gw, "/mj/submit/imagine", body, 2).await;
    assert_eq!(money(&gw).await.0, before.0 - 80_000 - 50_000);
    assert_eq!(stored_mode(&gw, &id).await, Some(api_types::MjMode::Turbo));
    gw.stop().await;
}

#[tokio::test]
async fn plain_route_with_an_unknown_or_malformed_mode_filter_is_refused() {
    let (gw, mock) = start().await;
    let before = money(&gw).await;
    for filter in [
        json!({"modes": ["WARP"]}),
        json!({"modes": [{"$ne": "RELAX"}]}),
        json!({"modes": "FAST"}),
    ] {
        let body = json!({"prompt": "x", "accountFilter": filter});
        let r = post(&gw, "/mj/submit/imagine", body).await;
        assert_refused(&mock, r, 400, "accountFilter.modes");
    }
    let body = json!({"prompt": "x", "accountFilter": ["FAST"]});
    let r = post(&gw, "/mj-relax/submit/imagine", body).await;
    assert_refused(&mock, r, 400, "accountFilter");
    assert_eq!(money(&gw).await, before);
    gw.stop().await;
}

#[tokio::test]
async fn non_string_task_id_on_action_is_refused_before_the_upstream() {
    let (gw, mock) = start().await;
    let before = money(&gw).await;
    let u1 = "MJ::JOB::upsample::1::bab70970-d663";
    for task_id in [
        json!(1_234_567),
        json!({"$ne": ""}),
        json!(["1"]),
        Value::Null,
    ] {
        let body = json!({"customId": u1, "taskId": task_id});
        let r = post(&gw, "/mj/submit/action", body).await;
        assert_refused(&mock, r, 400, "taskId");
    }
    let body = json!({"customId": 7, "taskId": "1"});
    assert_refused(
        &mock,
        post(&gw, "/mj/submit/action", body).await,
        400,
        "customId",
    );
    let body = json!({"taskId": {"id": "1"}, "prompt": "x"});
    assert_refused(
        &mock,
        post(&gw, "/mj/submit/modal", body).await,
        400,
        "taskId",
    );
    let body = json!({"prompt": "x", "notifyHook": {"url": "http://169.254.169.254/"}});
    let r = post(&gw, "/mj/submit/imagine", body).await;
    assert_refused(&mock, r, 400, "notifyHook");
    let body = json!({"prompt": "x", "state": 42});
    assert_refused(
        &mock,
        post(&gw, "/mj/submit/imagine", body).await,
        400,
        "state",
    );
    let body = json!({"base64Array": ["data:image/png;base64,AAAA", 5]});
    let r = post(&gw, "/mj/submit/blend", body).await;
    assert_refused(&mock, r, 400, "base64Array[1]");
    // Task reads: ids must be strings, and not unbounded.
    let r = post(&gw, "/mj/task/list-by-condition", json!({"ids": ["1", 2]})).await;
    assert_refused(&mock, r, 400, "ids[1]");
    let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let r = post(&gw, "/mj/task/list-by-condition", json!({"ids": many})).await;
    assert_refused(&mock, r, 400, "ids");
    assert_eq!(money(&gw).await, before, "nothing charged");
    gw.stop().await;
}

#[tokio::test]
async fn token_priced_or_unpriced_mj_model_is_refused_not_free() {
    let (gw, mock) = start().await;
    let before = money(&gw).await;
    let body = json!({"link": "https://cdn.example/cat.png"});
    let r = post(&gw, "/mj/submit/describe", body).await;
    assert_eq!(r.1["error"]["code"], "model_not_priced", "{}", r.1);
    assert_refused(&mock, r, 403, "model");
    let r = post(&gw, "/mj/submit/shorten", json!({"prompt": "a cat"})).await;
    assert_eq!(r.1["error"]["code"], "model_not_priced", "{}", r.1);
    assert_refused(&mock, r, 403, "model");
    assert_eq!(money(&gw).await, before, "balance unchanged");
    gw.stop().await;
}

/// A listener that counts the connections it receives.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

#[tokio::test]
async fn upstream_image_url_at_metadata_or_loopback_is_not_fetched() {
    let (gw, mock) = start().await;
    let (port, hits) = counting_listener().await;
    for url in [
        format!("http://127.0.0.1:{port}/mj/images/1.png"),
        format!("http://localhost:{port}/mj/images/1.png"),
        format!("http://[::ffff:127.0.0.1]:{port}/1.png"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let link = task_with_image(&gw, &mock, Some(url.clone())).await;
        let r = reqwest::Client::new()
            .get(&link)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502, "{url}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing connected");
    gw.stop().await;
}

#[tokio::test]
async fn upstream_image_serving_html_or_svg_is_not_relayed() {
    let (gw, mock) = start().await;
    for name in ["x.svg", "x.html"] {
        let url = format!("{}/mj/images/{name}", mock.base_url());
        let link = task_with_image(&gw, &mock, Some(url)).await;
        let r = reqwest::get(&link).await.unwrap();
        assert_eq!(r.status(), 502, "{name}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "application/json", "{name}");
        assert!(!r.text().await.unwrap().contains("<script"), "{name}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn png_from_the_channels_own_host_is_relayed_with_nosniff_and_sandbox() {
    let (gw, mock) = start().await;
    let link = task_with_image(&gw, &mock, None).await;
    let r = reqwest::get(&link).await.unwrap();
    assert_eq!(r.status(), 200);
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("content-security-policy"), "sandbox");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    gw.stop().await;
}

#[tokio::test]
async fn upscaling_a_fast_task_through_the_relax_route_pays_the_fast_price() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_accepted_keys(Some(vec!["mj-secret".into()]));
    let toml = format!(
        "{MJ_TOML}\n[[prices]]\nmodel = \"mj_upscale:relax\"\nper_request = 4000\n\n\
         [[prices]]\nmodel = \"mj_upscale:fast\"\nper_request = 16000\n"
    );
    let gw = Gw::start(&toml, &[&mock], |s| {
        s.mj_poll_interval = Duration::from_secs(3600);
    })
    .await;
    let id = imagine(&gw, "/mj-fast/mj/submit/imagine", json!({"prompt": "x"}), 1).await;
    let mut task = Value::Null;
    for _ in 0..10 {
        gateway::midjourney::poller::poll_once(&gw.state).await;
        task = gw
            .get_as(KEY, &format!("/mj/task/{id}/fetch"))
            .await
            .json()
            .await
            .unwrap();
        if task["status"] == "SUCCESS" {
            break;
        }
    }
    let u1 = find(&task["buttons"], "label", "U1")["customId"].clone();
    let before = money(&gw).await;
    let (status, r) = post(
        &gw,
        "/mj-relax/mj/submit/action",
        json!({"customId": u1, "taskId": id}),
    )
    .await;
    assert_eq!((status, r["code"].as_i64()), (200, Some(1)), "{r}");
    gw.logs(2).await;
    // The upscale runs on the fast task's account: the fast price, not the relax one.
    assert_eq!(money(&gw).await.0, before.0 - 16_000);
    gw.stop().await;
}
