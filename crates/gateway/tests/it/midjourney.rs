//! The Midjourney task API over HTTP against the in-process midjourney-proxy mock: the seed's bodies and shapes,
//! polling to SUCCESS, follow-up actions on the parent's channel, ownership, refunds, modes, signed image links.

use crate::harness::*;
use crate::support::BOB;
use mock_upstream::{MjOutcome, MockUpstream};
use serde_json::{Value, json};
use std::time::Duration;

const MJ_TOML: &str = concat!(
    channel_toml!(
        "mj-fast",
        "midjourney",
        0,
        "mj-secret-a",
        [
            "mj_imagine",
            "mj_upscale",
            "mj_variation",
            "mj_reroll",
            "mj_custom_zoom",
            "mj_modal"
        ],
        "modes = [\"fast\"]",
        "priority = 10"
    ),
    channel_toml!(
        "mj-relax",
        "midjourney",
        1,
        "mj-secret-b",
        [
            "mj_imagine",
            "mj_upscale",
            "mj_variation",
            "mj_reroll",
            "mj_custom_zoom",
            "mj_modal"
        ],
        "modes = [\"relax\", \"fast\"]"
    ),
    alice_toml!(1000000),
    key_toml!(
        "alice-second",
        "alice",
        "sk-alice200000000000000000000000000000000000000000001"
    ),
    user_toml!("bob", 1000000),
    key_toml!(
        "bob-key",
        "bob",
        "sk-bob00000000000000000000000000000000000000000000001"
    ),
    price_toml!("mj_imagine", per_request = 50000),
    price_toml!("mj_imagine:relax", per_request = 20000),
    price_toml!("mj_upscale", per_request = 10000),
    price_toml!("mj_custom_zoom", per_request = 30000),
);

async fn start() -> (Gw, MockUpstream, MockUpstream) {
    start_with(|_| {}).await
}

/// `MJ_TOML` in front of its two mocks (each accepting only its channel's key), the poller idle, and `tweak`.
async fn start_with(
    tweak: impl FnOnce(&mut gateway::config::Settings),
) -> (Gw, MockUpstream, MockUpstream) {
    let a = MockUpstream::start().await.unwrap();
    let b = MockUpstream::start().await.unwrap();
    a.set_accepted_keys(Some(vec!["mj-secret-a".into()]));
    b.set_accepted_keys(Some(vec!["mj-secret-b".into()]));
    let gw = Gw::start(MJ_TOML, &[&a, &b], |s| {
        s.mj_poll_interval = Duration::from_secs(3600);
        tweak(s);
    })
    .await;
    (gw, a, b)
}

async fn post(gw: &Gw, key: &str, path: &str, body: Value) -> (u16, Value) {
    let r = gw.post_as(key, path, &body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Alice submits `/imagine x`; the answer.
async fn imagine_answer(gw: &Gw) -> Value {
    post(gw, KEY, "/mj/submit/imagine", json!({"prompt": "x"}))
        .await
        .1
}

/// Alice submits `/imagine x`; the new task's id.
async fn imagine(gw: &Gw) -> String {
    imagine_answer(gw).await["result"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fetch(gw: &Gw, key: &str, id: &str) -> (u16, Value) {
    let r = gw.get_as(key, &format!("/mj/task/{id}/fetch")).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn poll_until_done(gw: &Gw, id: &str) -> Value {
    for _ in 0..10 {
        gateway::midjourney::poller::poll_once(&gw.state).await;
        let (_, task) = fetch(gw, KEY, id).await;
        if matches!(task["status"].as_str(), Some("SUCCESS" | "FAILURE")) {
            return task;
        }
    }
    panic!("task {id} never finished");
}

async fn money(gw: &Gw) -> (i64, i64, i64) {
    let u = gw.user("alice").await;
    let k = gw.key("alice", "alice-key").await;
    (u.balance, u.spent, k.spent)
}

#[tokio::test]
async fn imagine_poll_action_lifecycle_with_the_seed_shapes() {
    let (gw, fast, _relax) = start().await;
    let (status, submit) = post(
        &gw,
        KEY,
        "/mj/submit/imagine",
        json!({"prompt": "cute cat girl --niji 5"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(submit["code"], 1, "{submit}");
    assert!(submit["description"].is_string());
    assert!(submit["properties"].is_object());
    let id = submit["result"].as_str().unwrap().to_owned();
    // The upstream got the channel's secret, and the task went to the higher-priority channel.
    let up = first_sent(&fast, "/mj/submit/imagine");
    assert_eq!(up.header("mj-api-secret"), Some("mj-secret-a"));

    let task = poll_until_done(&gw, &id).await;
    for field in [
        "id",
        "action",
        "customId",
        "botType",
        "prompt",
        "promptEn",
        "description",
        "state",
        "submitTime",
        "startTime",
        "finishTime",
        "imageUrl",
        "status",
        "progress",
        "failReason",
        "buttons",
        "maskBase64",
        "properties",
    ] {
        assert!(task.get(field).is_some(), "Task lacks `{field}`: {task}");
    }
    assert_eq!(task["status"], "SUCCESS");
    assert_eq!(task["progress"], "100%");
    assert_eq!(task["action"], "IMAGINE");
    assert_eq!(task["prompt"], "cute cat girl --niji 5");
    let buttons = task["buttons"].as_array().unwrap();
    let u1 = buttons.iter().find(|b| b["label"] == "U1").unwrap()["customId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(u1.starts_with("MJ::JOB::upsample::1::"));

    // The image link is Tollgate's own, signed; it works without a key and hides the upstream.
    let image = task["imageUrl"].as_str().unwrap().to_owned();
    assert!(
        image.starts_with(&format!("{}/mj/image/", gw.base)),
        "{image}"
    );
    assert!(!image.contains(&fast.base_url()));
    let r = reqwest::get(&image).await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a real PNG comes back");
    let tampered = image.replace("signature=", "signature=00");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);
    let task_id: i64 = image
        .split("/mj/image/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let past = chrono::Utc::now().timestamp() - 10;
    let expired = format!(
        "{}/mj/image/{task_id}?expires={past}&signature={}",
        gw.base,
        gw.state.mj_signer.sign(task_id, past)
    );
    assert_eq!(reqwest::get(&expired).await.unwrap().status(), 403);

    // Action U1 → a new UPSCALE task on the parent's channel, charged at its own price.
    let before = money(&gw).await;
    let (_, action) = post(
        &gw,
        KEY,
        "/mj/submit/action",
        json!({"customId": u1, "taskId": id}),
    )
    .await;
    assert_eq!(action["code"], 1, "{action}");
    let child = action["result"].as_str().unwrap().to_owned();
    assert_ne!(child, id);
    assert!(
        fast.requests()
            .iter()
            .any(|r| r.path.ends_with("/mj/submit/action"))
    );
    gw.logs(2).await;
    assert_eq!(money(&gw).await.0, before.0 - 10_000);
    let done = poll_until_done(&gw, &child).await;
    assert_eq!(done["action"], "UPSCALE");
    assert_eq!(done["status"], "SUCCESS");

    // Any key of the same user sees the task; another user's key gets a 404.
    let (s, _) = fetch(
        &gw,
        "sk-alice200000000000000000000000000000000000000000001",
        &id,
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = fetch(&gw, BOB, &id).await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = post(
        &gw,
        BOB,
        "/mj/submit/action",
        json!({"customId": "MJ::JOB::upsample::2::x", "taskId": id}),
    )
    .await;
    assert_eq!(s, 404, "{body}");
    // list-by-condition answers from the store, only the caller's tasks, unknown ids omitted.
    let (_, list) = post(
        &gw,
        KEY,
        "/mj/task/list-by-condition",
        json!({"ids": [id, child, "nope"]}),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, none) = post(&gw, BOB, "/mj/task/list-by-condition", json!({"ids": [id]})).await;
    assert_eq!(none, json!([]));
    gw.stop().await;
}

#[tokio::test]
async fn logs_and_charges_the_fixed_price() {
    let (gw, _fast, _relax) = start().await;
    let before = money(&gw).await;
    let r = gw
        .post_as(KEY, "/mj/submit/imagine", &json!({"prompt": "a cat"}))
        .await;
    let rid = request_id(&r);
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.model.as_deref(), row.cost, row.status),
        (Some("mj_imagine"), 50_000, 200)
    );
    assert_eq!(
        money(&gw).await,
        (before.0 - 50_000, before.1 + 50_000, before.2 + 50_000)
    );
    gw.stop().await;
}

#[tokio::test]
async fn mj_api_secret_header_is_accepted() {
    let (gw, _fast, _relax) = start().await;
    for (auth, secret) in [
        (None, KEY),
        (Some("Bearer midjourney-proxy"), KEY),
        (None, KEY.trim_start_matches("sk-")),
    ] {
        let mut req = gw
            .http
            .post(gw.url("/mj/submit/imagine"))
            .header("mj-api-secret", secret)
            .json(&json!({"prompt": "x"}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{auth:?} {secret}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 1);
    }
    let r = gw
        .post_anon("/mj/submit/imagine", &json!({"prompt": "x"}))
        .await;
    assert_eq!(r.status(), 401);
    gw.stop().await;
}

#[tokio::test]
async fn failed_tasks_are_refunded_exactly_once_to_user_and_key() {
    let (gw, fast, _relax) = start().await;
    let before = money(&gw).await;
    fast.push_mj(MjOutcome::FailLater("content rejected".into()));
    let id = imagine(&gw).await;
    gw.logs(1).await;
    assert_eq!(money(&gw).await.0, before.0 - 50_000);
    let task = poll_until_done(&gw, &id).await;
    assert_eq!(task["status"], "FAILURE");
    assert_eq!(task["failReason"], "content rejected");
    assert_eq!(
        money(&gw).await,
        before,
        "user balance, user spent and key spent all restored"
    );
    gateway::midjourney::poller::poll_once(&gw.state).await;
    let t = gw
        .state
        .store
        .find_mj_task_for_user(gw.user("alice").await.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        gw.state
            .store
            .refund_mj_task(t.id)
            .await
            .is_ok_and(|again| !again),
        "never refunded twice"
    );
    assert_eq!(money(&gw).await, before);
    gw.stop().await;
}

#[tokio::test]
async fn refusals_pass_back_their_code_and_cost_nothing() {
    let (gw, fast, relax) = start().await;
    let before = money(&gw).await;
    fast.push_mj(MjOutcome::Banned("nsfw".into()));
    let (status, r) = post(
        &gw,
        KEY,
        "/mj/submit/imagine",
        json!({"prompt": "nsfw thing"}),
    )
    .await;
    assert_eq!((status, r["code"].as_i64()), (200, Some(24)), "{r}");
    assert_eq!(r["properties"]["bannedWord"], "nsfw");
    // Queued (22) is accepted, and clients see 1.
    for (outcome, code) in [
        (MjOutcome::Validation("prompt不能为空".into()), 4),
        (MjOutcome::QueueFull, 23),
        (MjOutcome::Queued(3), 1),
    ] {
        fast.push_mj(outcome);
        let r = imagine_answer(&gw).await;
        assert_eq!(r["code"], code, "{r}");
    }
    gw.logs(4).await;
    assert_eq!(
        money(&gw).await.0,
        before.0 - 50_000,
        "only the queued task was charged"
    );
    // Code 3 (no account): that channel is taken out and the other one serves the request.
    fast.push_mj(MjOutcome::NoAccount);
    let r = imagine_answer(&gw).await;
    assert_eq!(r["code"], 1, "{r}");
    assert!(
        relax
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/mj/submit/imagine"))
    );
    let unhealthy = eventually_some(
        Duration::from_secs(3),
        "mj-fast marked unhealthy",
        || async {
            let c = gw.state.store.get_channel_by_name("mj-fast").await.unwrap();
            (c.health == store::ChannelHealth::Unhealthy).then_some(c)
        },
    )
    .await;
    let reason = unhealthy.keys[0].disabled_reason.as_deref().unwrap();
    assert!(reason.contains("code 3"), "{reason}");
    gw.stop().await;
}

#[tokio::test]
async fn modes_pick_channels_and_prices() {
    let (gw, fast, relax) = start().await;
    let before = money(&gw).await;
    let (_, r) = post(
        &gw,
        KEY,
        "/mj-relax/mj/submit/imagine",
        json!({"prompt": "x"}),
    )
    .await;
    assert_eq!(r["code"], 1, "{r}");
    assert!(
        fast.requests()
            .iter()
            .all(|r| !r.path.ends_with("/mj/submit/imagine")),
        "fast-only channel skipped"
    );
    let up = first_sent(&relax, "/mj/submit/imagine");
    assert_eq!(up.body["accountFilter"]["modes"], json!(["RELAX"]));
    gw.logs(1).await;
    assert_eq!(money(&gw).await.0, before.0 - 20_000, "relax price");
    let (_, r) = post(&gw, KEY, "/mj-turbo/submit/imagine", json!({"prompt": "x"})).await;
    assert_ne!(r["code"], 1, "no channel serves turbo: {r}");
    gw.stop().await;
}

#[tokio::test]
async fn a_pending_modal_keeps_code_21() {
    let (gw, fast, _relax) = start().await;
    let id = imagine(&gw).await;
    poll_until_done(&gw, &id).await;
    fast.push_mj(MjOutcome::Modal);
    let (_, r) = post(
        &gw,
        KEY,
        "/mj/submit/action",
        json!({"customId": "MJ::CustomZoom::1::abc", "taskId": id}),
    )
    .await;
    assert_eq!(r["code"], 21, "{r}");
    let modal_id = r["result"].as_str().unwrap().to_owned();
    let (_, t) = fetch(&gw, KEY, &modal_id).await;
    assert_eq!(t["status"], "MODAL");
    gw.stop().await;
}

#[tokio::test]
async fn notify_hooks_stay_with_tollgate_and_are_called_on_change() {
    let (gw, a, _b) = start_with(|s| s.allow_private_image_urls = true).await;
    let hook = MockUpstream::start().await.unwrap();
    let hook_url = format!("{}/hook", hook.base_url());
    let (_, submit) = post(
        &gw,
        KEY,
        "/mj/submit/imagine",
        json!({"prompt": "x", "notifyHook": hook_url}),
    )
    .await;
    let id = submit["result"].as_str().unwrap().to_owned();
    let up = first_sent(&a, "/mj/submit/imagine");
    assert!(
        up.body.get("notifyHook").is_none(),
        "the upstream never sees the client's hook"
    );
    poll_until_done(&gw, &id).await;
    let calls = eventually_some(
        Duration::from_secs(3),
        "the hook called with SUCCESS",
        || async {
            let calls: Vec<_> = hook
                .requests()
                .into_iter()
                .filter(|r| r.path == "/hook")
                .collect();
            calls
                .iter()
                .any(|c| c.body["status"] == "SUCCESS")
                .then_some(calls)
        },
    )
    .await;
    assert!(calls.iter().all(|c| c.body["id"] == id.as_str()));
    gw.stop().await;
}

#[tokio::test]
async fn unfinished_tasks_time_out_and_are_refunded() {
    let (gw, _a, _b) = start_with(|s| s.mj_task_timeout = Duration::from_secs(1)).await;
    let before = money(&gw).await;
    let id = imagine(&gw).await;
    gw.logs(1).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    gateway::midjourney::poller::poll_once(&gw.state).await;
    let (_, t) = fetch(&gw, KEY, &id).await;
    assert_eq!(t["status"], "FAILURE");
    assert!(t["failReason"].as_str().unwrap().contains("did not finish"));
    assert_eq!(money(&gw).await, before);
    gw.stop().await;
}

#[tokio::test]
async fn tasks_of_a_removed_channel_fail_and_are_refunded() {
    let (gw, _fast, _relax) = start().await;
    let before = money(&gw).await;
    let id = imagine(&gw).await;
    gw.logs(1).await;
    // A poll while the channel exists (in the store and the snapshot) leaves the task running.
    gateway::midjourney::poller::poll_once(&gw.state).await;
    assert_ne!(fetch(&gw, KEY, &id).await.1["status"], "FAILURE");
    for c in gw.state.store.list_channels().await.unwrap() {
        let resp = gw
            .http
            .delete(gw.url(&format!("/api/admin/channels/{}", c.id)))
            .bearer_auth(crate::harness::ADMIN)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    gateway::midjourney::poller::poll_once(&gw.state).await;
    let (_, t) = fetch(&gw, KEY, &id).await;
    assert_eq!(t["status"], "FAILURE");
    assert!(t["failReason"].as_str().unwrap().contains("removed"), "{t}");
    assert_eq!(money(&gw).await, before);
    gw.stop().await;
}

#[tokio::test]
async fn midjourney_channels_are_tested_and_probed_with_a_task_query() {
    let (gw, fast, _relax) = start().await;
    let id = gw
        .state
        .store
        .get_channel_by_name("mj-fast")
        .await
        .unwrap()
        .id;
    let r = gw
        .admin(reqwest::Method::POST, &format!("/channels/{id}/test"), None)
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], true, "{body}");
    assert!(
        fast.requests()
            .iter()
            .any(|r| r.path.ends_with("/mj/task/list-by-condition"))
    );
    fast.set_accepted_keys(Some(vec!["rotated".into()]));
    let r = gw
        .admin(reqwest::Method::POST, &format!("/channels/{id}/test"), None)
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ok"], false, "a wrong secret fails the test: {body}");
    gw.stop().await;
}
